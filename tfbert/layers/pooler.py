"""`Pooler`: the dense + tanh over the first ([CLS]) token, `pooler/dense` in the checkpoint."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfbert")
class Pooler(keras.layers.Layer):
    """Maps `sequence_output[:, 0]` (B, H) through a tanh dense layer to `pooled_output` (B, H).

    >>> Pooler(hidden_size=4)(tf.ones((2, 3, 4))).shape.as_list()
    [2, 4]
    """

    def __init__(self, hidden_size: int, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.initializer_range = initializer_range

    def build(self, sequence_output_shape):
        self.dense = keras.layers.Dense(
            self.hidden_size, activation="tanh", name="dense", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.dense.build((None, self.hidden_size))

    def call(self, sequence_output):
        return self.dense(sequence_output[:, 0])

    def compute_output_shape(self, sequence_output_shape):
        return (sequence_output_shape[0], self.hidden_size)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, initializer_range=self.initializer_range)
        return config
