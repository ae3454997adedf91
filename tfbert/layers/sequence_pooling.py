"""`SequencePooling`: one vector per sequence, from the [CLS] token or the mean of real tokens."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.names import POOLING_MODES


@keras.saving.register_keras_serializable(package="tfbert")
class SequencePooling(keras.layers.Layer):
    """(B, T, H) token vectors and a (B, T) mask -> (B, H) float32 sentence embeddings.

    `mode="cls"` takes the first token's final hidden state; `mode="mean"` averages the tokens
    whose mask is 1. `normalize=True` scales each embedding to unit L2 norm.

    >>> pooling = SequencePooling(mode="mean")
    >>> hidden = tf.constant([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> pooling(hidden, tf.constant([[1, 1, 0]])).numpy().tolist()
    [[2.0, 3.0]]
    """

    def __init__(self, mode: str = "cls", normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"`mode` must be one of {', '.join(POOLING_MODES)}; got {mode!r}.")
        self.mode = mode
        self.normalize = normalize

    def call(self, sequence_output, input_mask):
        hidden = tf.cast(sequence_output, tf.float32)
        if self.mode == "cls":
            pooled = hidden[:, 0]
        else:
            weights = tf.cast(input_mask, tf.float32)[:, :, tf.newaxis]  # (B, T, 1)
            count = tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)      # (B, 1)
            pooled = tf.reduce_sum(hidden * weights, axis=1) / count
        if self.normalize:
            pooled = tf.math.l2_normalize(pooled, axis=-1)
        return pooled

    def compute_output_shape(self, sequence_output_shape, input_mask_shape=None):
        return (sequence_output_shape[0], sequence_output_shape[-1])

    def compute_output_spec(self, sequence_output, input_mask):
        return keras.KerasTensor(self.compute_output_shape(sequence_output.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, normalize=self.normalize)
        return config
