"""`SelfAttention`: multi-head scaled dot-product self-attention with a padding mask."""
from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfbert.layers.fused_elementwise import masked_softmax, masked_softmax_dropout
from tfbert.layers.hashed_dropout import HashedDropout


@keras.saving.register_keras_serializable(package="tfbert")
class SelfAttention(keras.layers.Layer):
    """Query/key/value projections and attention (the original checkpoint's `attention/self`).

    Works on flattened tokens: `hidden` is (B*T, H), `input_mask` is (B, T) with 1 for real
    tokens and 0 for padding; returns the attention context, (B*T, H). Scores and softmax are
    computed in float32 under mixed precision.

    >>> layer = SelfAttention(num_heads=2, head_size=2)
    >>> layer(tf.ones((6, 4)), tf.constant([[1, 1, 0], [1, 0, 0]])).shape.as_list()
    [6, 4]
    """

    def __init__(self, num_heads: int, head_size: int, initializer_range: float = 0.02,
                 dropout_rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_size = head_size
        self.initializer_range = initializer_range
        self.dropout_rate = dropout_rate

    def build(self, hidden_shape, input_mask_shape=None):
        hidden_size = self.num_heads * self.head_size
        initializer = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        self.query, self.key, self.value = (
            keras.layers.Dense(hidden_size, kernel_initializer=initializer, name=name,
                               dtype=self.dtype_policy)
            for name in ("query", "key", "value"))
        for projection in (self.query, self.key, self.value):
            projection.build(hidden_shape)
        self.dropout = HashedDropout(self.dropout_rate, dtype=self.dtype_policy)

    def call(self, hidden, input_mask, training=None):
        batch_size, seq_length = tf.unstack(tf.shape(input_mask))
        heads_shape = [batch_size, seq_length, self.num_heads, self.head_size]
        # Scaling the query first is cheaper than scaling the (B, N, T, T) scores.
        query = tf.reshape(self.query(hidden), heads_shape) * (1.0 / math.sqrt(self.head_size))
        key = tf.reshape(self.key(hidden), heads_shape)      # (B, T, N, D)
        value = tf.reshape(self.value(hidden), heads_shape)  # (B, T, N, D)
        scores = tf.einsum("bqnd,bknd->bnqk", query, key)     # (B, N, T, T)
        if training:  # softmax and dropout as one compiled stretch (see `fused_elementwise`)
            attention_probs = masked_softmax_dropout(
                scores, input_mask, self.dropout.next_seed(), rate=self.dropout.rate,
                dtype=self.compute_dtype)
        else:
            attention_probs = tf.cast(masked_softmax(scores, input_mask), self.compute_dtype)
        context = tf.einsum("bnqk,bknd->bqnd", attention_probs, value)  # (B, T, N, D)
        return tf.reshape(context, [-1, self.num_heads * self.head_size])  # (B*T, H)

    def compute_output_shape(self, hidden_shape, input_mask_shape=None):
        return (hidden_shape[0], self.num_heads * self.head_size)

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, head_size=self.head_size,
                      initializer_range=self.initializer_range, dropout_rate=self.dropout_rate)
        return config
