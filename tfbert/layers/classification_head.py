"""`ClassificationHead`: dropout and a float32 linear layer to label logits (`classifier`)."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.layers.hashed_dropout import HashedDropout


@keras.saving.register_keras_serializable(package="tfbert")
class ClassificationHead(keras.layers.Layer):
    """Label logits for each input vector: (..., H) -> (..., num_labels), float32.

    On `pooled_output` it classifies sequences; on `sequence_output` it classifies tokens.
    Variables are `kernel` (H, num_labels) and `bias`, HF's `classifier` weights transposed.

    >>> ClassificationHead(num_labels=3)(tf.ones((2, 5, 4))).shape.as_list()
    [2, 5, 3]
    """

    def __init__(self, num_labels: int, dropout_rate: float = 0.1,
                 initializer_range: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 1:
            raise ValueError(f"`num_labels` must be a positive integer; got {num_labels!r}.")
        self.num_labels = num_labels
        self.dropout_rate = dropout_rate
        self.initializer_range = initializer_range

    def build(self, inputs_shape):
        self.dropout = HashedDropout(self.dropout_rate, dtype=self.dtype_policy)
        self.kernel = self.add_weight(
            name="kernel", shape=(inputs_shape[-1], self.num_labels),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.bias = self.add_weight(name="bias", shape=(self.num_labels,), initializer="zeros")

    def call(self, inputs, training=None):
        hidden = self.dropout(inputs, training=training)
        logits = tf.tensordot(hidden, self.kernel, axes=1)
        return tf.cast(logits, tf.float32) + tf.cast(self.bias, tf.float32)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.num_labels,)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(num_labels=self.num_labels, dropout_rate=self.dropout_rate,
                      initializer_range=self.initializer_range)
        return config
