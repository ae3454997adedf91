"""Stateless randomness for the data pipeline: every random draw is a pure function of a seed.

A seed is an int64 tensor of shape [2]. `fold` derives independent seeds for separate purposes
(`fold(seed, 0)`, `fold(seed, 1)`, ...), so the same seed always gives the same data, in any
order and on any number of threads.

>>> seed = tf.constant([1, 2], tf.int64)
>>> random_ints(fold(seed, 0), tf.constant([0, 10]), tf.constant([0, 10])).numpy().tolist()
[0, 10]
"""
from __future__ import annotations

import tensorflow as tf


def fold(seed: tf.Tensor, purpose) -> tf.Tensor:
    """A new seed (int64 [2]) for `purpose` (an int or int scalar tensor), derived from `seed`."""
    return tf.random.experimental.stateless_fold_in(seed, purpose)


def random_ints(seed: tf.Tensor, low, high) -> tf.Tensor:
    """Uniform int64 in [low, high], both inclusive and elementwise, with the shape of `low`."""
    low = tf.cast(low, tf.int64)
    span = tf.cast(tf.cast(high, tf.int64) - low + 1, tf.float64)
    uniform = tf.random.stateless_uniform(tf.shape(low), seed, dtype=tf.float64)
    return low + tf.cast(tf.floor(uniform * span), tf.int64)
