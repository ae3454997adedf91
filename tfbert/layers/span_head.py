"""`SpanHead`: start and end logits of an answer span for extractive QA (`qa_outputs`)."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfbert")
class SpanHead(keras.layers.Layer):
    """Scores every token as the start and as the end of the answer: two (B, T) float32 tensors.

    >>> start, end = SpanHead()(tf.ones((2, 5, 4)))
    >>> start.shape.as_list(), end.shape.as_list()
    ([2, 5], [2, 5])
    """

    def __init__(self, initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_range = initializer_range

    def build(self, sequence_output_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(sequence_output_shape[-1], 2),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.bias = self.add_weight(name="bias", shape=(2,), initializer="zeros")

    def call(self, sequence_output):
        logits = tf.tensordot(sequence_output, self.kernel, axes=1)  # (B, T, 2)
        logits = tf.cast(logits, tf.float32) + tf.cast(self.bias, tf.float32)
        return logits[..., 0], logits[..., 1]

    def compute_output_shape(self, sequence_output_shape):
        shape = tuple(sequence_output_shape[:-1])
        return shape, shape

    def compute_output_spec(self, sequence_output):
        shape = tuple(sequence_output.shape[:-1])
        return (keras.KerasTensor(shape, dtype="float32"), keras.KerasTensor(shape, dtype="float32"))

    def get_config(self):
        config = super().get_config()
        config.update(initializer_range=self.initializer_range)
        return config
