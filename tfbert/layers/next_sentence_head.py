"""`NextSentenceHead`: the next-sentence logits over `pooled_output` (`cls/seq_relationship`)."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfbert")
class NextSentenceHead(keras.layers.Layer):
    """Two float32 logits per example; label 1 means "B is a random sentence", as in BERT.

    `output_weights` is stored (2, H), the original checkpoint's layout.

    >>> NextSentenceHead()(tf.ones((3, 4))).shape.as_list()
    [3, 2]
    """

    def __init__(self, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range

    def build(self, pooled_output_shape):
        self.output_weights = self.add_weight(
            name="output_weights", shape=(2, pooled_output_shape[-1]),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.output_bias = self.add_weight(name="output_bias", shape=(2,), initializer="zeros")

    def call(self, pooled_output):
        logits = tf.matmul(pooled_output, self.output_weights, transpose_b=True)  # (B, 2)
        return tf.cast(logits, tf.float32) + tf.cast(self.output_bias, tf.float32)

    def compute_output_shape(self, pooled_output_shape):
        return (pooled_output_shape[0], 2)

    def compute_output_spec(self, pooled_output):
        return keras.KerasTensor(self.compute_output_shape(pooled_output.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(initializer_range=self.initializer_range)
        return config
