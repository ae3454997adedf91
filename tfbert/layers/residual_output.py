"""`ResidualOutput`: projection, dropout, residual connection and post-LayerNorm."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.layers.fused_elementwise import dropout_add_layer_norm
from tfbert.layers.hashed_dropout import HashedDropout


@keras.saving.register_keras_serializable(package="tfbert")
class ResidualOutput(keras.layers.Layer):
    """`LayerNorm(residual + dropout(dense(x)))`, the original checkpoint's `output` scopes.

    BERT uses it twice per block: after attention (`attention/output`) and after the
    feed-forward layer (`output`).

    >>> layer = ResidualOutput(hidden_size=4)
    >>> layer(tf.ones((3, 8)), tf.ones((3, 4))).shape.as_list()
    [3, 4]
    """

    def __init__(self, hidden_size: int, initializer_range: float = 0.02,
                 layer_norm_eps: float = 1e-12, dropout_rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.dropout_rate = dropout_rate

    def build(self, x_shape, residual_shape=None):
        self.dense = keras.layers.Dense(
            self.hidden_size, name="dense", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.dense.build(x_shape)
        self.dropout = HashedDropout(self.dropout_rate, dtype=self.dtype_policy)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_eps, name="LayerNorm", dtype=self.dtype_policy)
        self.layer_norm.build(tuple(x_shape[:-1]) + (self.hidden_size,))

    def call(self, x, residual, training=None):
        projected = self.dense(x)
        if not training:
            return self.layer_norm(projected + residual)
        # The same math as one compiled stretch (see `fused_elementwise`).
        gamma, beta = (tf.convert_to_tensor(v) for v in (self.layer_norm.gamma,
                                                          self.layer_norm.beta))
        return dropout_add_layer_norm(projected, residual, gamma, beta, self.dropout.next_seed(),
                                      rate=self.dropout.rate, epsilon=self.layer_norm.epsilon)

    def compute_output_shape(self, x_shape, residual_shape=None):
        return tuple(x_shape[:-1]) + (self.hidden_size,)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, initializer_range=self.initializer_range,
                      layer_norm_eps=self.layer_norm_eps, dropout_rate=self.dropout_rate)
        return config
