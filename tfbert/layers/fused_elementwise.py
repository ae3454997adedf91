"""The element-wise stretches of an encoder's training step, each compiled by XLA into fused loops.

On a CPU tfbert trains as a plain TensorFlow graph, because oneDNN's matmuls (bf16 ones above
all) beat XLA's there (`TrainingOptions.resolved_jit_compile`). A plain graph runs each
element-wise op as a kernel of its own, one pass over memory per op. That adds up: a dropout
mask from the index hash, then LayerNorm's moments, GELU's erf, and all their gradients were
about a quarter of a bf16 bert_base step's op time. The functions here are the stretches
between two matmuls, compiled with `jit_compile=True`. Run from a plain graph, each is one XLA
executable per input shape: forward and gradient are a few fused loops each. Inside a step that
is itself compiled (TPU, GPU, float32 at one length on a CPU) XLA just inlines them.

Only training calls them (`training=True` in the layers): inference graphs, and so every export,
stay plain core ops, since TensorFlow Serving runs XLA only when started with
`--xla_cpu_compilation_enabled`.

Hand-written because neither Keras nor TensorFlow has fused CPU kernels for these stretches of a
training step (TensorFlow's graph rewrites fuse some of them at inference only).

>>> x = tf.ones([2, 4])
>>> dropout_add_layer_norm(x, x, tf.ones([4]), tf.zeros([4]), tf.constant([1, 2]),
...                        rate=0.0, epsilon=1e-12).numpy().tolist()
[[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
"""
from __future__ import annotations

import functools
from typing import Callable

import keras
import tensorflow as tf

from tfbert.layers.activations import get_activation

# Added to the scores of padded keys: exp() of it underflows to exactly 0 in float32, and it stays
# finite, so a row that is all padding gets a uniform distribution instead of NaN.
_MASKED_SCORE = -1e9
# Shapes change with every length bucket: trace once for any shape, compile once per shape.
_COMPILE = dict(jit_compile=True, reduce_retracing=True)
# Multiplier of the 32-bit golden-ratio sequence; spreads consecutive indices over 32 bits.
_GOLDEN = 0x9E3779B9
# Constants of Chris Wellons' "lowbias32" integer finalizer (a bijection on 32-bit words whose
# output bits each depend on every input bit; found by his hash-prospector search).
_MIX_MULTIPLIERS = (0x7FEB352D, 0x846CA68B)
_MIX_SHIFTS = (16, 15, 16)


def _mix(x: tf.Tensor) -> tf.Tensor:
    """lowbias32 on uint32 words: xorshift, multiply, xorshift, multiply, xorshift."""
    for shift, multiplier in zip(_MIX_SHIFTS, _MIX_MULTIPLIERS + (None,)):
        x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(shift, tf.uint32)))
        if multiplier is not None:
            x = x * tf.constant(multiplier, tf.uint32)
    return x


def random_bits(shape: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """uint32 words of `shape`, a function of each element's flat index and the 2-word `seed`.

    Two rounds of mixing (index, then index with the key) make masks of different seeds
    unrelated, not shifted copies of each other.
    """
    seed = tf.cast(seed, tf.uint32)                                     # (2,)
    key = _mix(seed[0] * tf.constant(_GOLDEN, tf.uint32) + _mix(seed[1]))
    index = tf.bitcast(tf.range(tf.reduce_prod(shape), dtype=tf.int32), tf.uint32)
    bits = _mix(index * tf.constant(_GOLDEN, tf.uint32) + key)
    bits = _mix(tf.bitwise.bitwise_xor(bits, key))
    return tf.reshape(bits, shape)


def _dropout(x: tf.Tensor, seed: tf.Tensor, rate: float) -> tf.Tensor:
    """Inverted dropout of `x` with the mask of `random_bits(shape, seed)`; `rate` 0 is `x`."""
    if rate == 0:
        return x
    threshold = min(round(rate * 2**32), 2**32 - 1)
    keep = random_bits(tf.shape(x), seed) >= tf.constant(threshold, tf.uint32)
    return tf.where(keep, x * tf.cast(1 / (1 - rate), x.dtype), tf.zeros_like(x))


dropout = tf.function(_dropout, **_COMPILE)
dropout.__doc__ = """`_dropout` compiled: `HashedDropout` in training."""


@tf.function(**_COMPILE)
def dropout_add_layer_norm(x: tf.Tensor, residual: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor,
                           seed: tf.Tensor, *, rate: float, epsilon: float) -> tf.Tensor:
    """`LayerNorm(residual + dropout(x))` over the last axis, in float32 for a half-precision
    `x` (as `keras.layers.LayerNormalization`, whose function it calls); returns `x.dtype`."""
    total = _dropout(x, seed, rate) + residual
    last = total.shape.rank - 1  # as the layer passes it: a traced width may be unknown
    return keras.ops.layer_normalization(total, gamma, beta, axis=last, epsilon=epsilon)


def masked_softmax(scores: tf.Tensor, input_mask: tf.Tensor) -> tf.Tensor:
    """Attention probabilities, float32: the softmax over keys of `scores` (B, N, T, T) with the
    keys that `input_mask` (B, T) marks 0 left out."""
    scores = tf.cast(scores, tf.float32)
    padding = 1.0 - tf.cast(input_mask, tf.float32)                    # (B, T)
    scores += padding[:, tf.newaxis, tf.newaxis, :] * _MASKED_SCORE
    return tf.nn.softmax(scores, axis=-1)


@tf.function(**_COMPILE)
def masked_softmax_dropout(scores: tf.Tensor, input_mask: tf.Tensor, seed: tf.Tensor, *,
                           rate: float, dtype: str | tf.DType) -> tf.Tensor:
    """`dropout(masked_softmax(scores, input_mask))`, cast to `dtype`."""
    return tf.cast(_dropout(masked_softmax(scores, input_mask), seed, rate), dtype)


@functools.cache
def compiled_activation(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """`get_activation(name)` compiled, one function per name."""
    return tf.function(get_activation(name), **_COMPILE)
