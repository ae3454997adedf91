"""The masked-LM loss of original BERT, normalised over the global batch."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfbert")
class MaskedLMLoss(keras.losses.Loss):
    """sum(w · CE) / (sum(w) + 1e-5) over the masked positions of the *global* batch.

    `y_true` is `masked_lm_ids` (B, P), `y_pred` the `mlm_logits` (B, P, V) and `sample_weight`
    `masked_lm_weights` (B, P): 1 for a real prediction, 0 for padding. This is original
    BERT's loss. Keras' own weighted mean divides by the element count B·P instead, and under
    a distribution strategy each replica would divide by its own count; here the weight sum is
    all-reduced over replicas, and each replica returns its share of the global loss, so the
    summed gradients and the reported loss are those of the whole batch whatever the number of
    replicas.

    >>> import numpy as np
    >>> loss = MaskedLMLoss()
    >>> logits = np.log(np.array([[[0.5, 0.5], [0.9, 0.1]]], "float32"))
    >>> round(float(loss(np.array([[0, 0]]), logits, np.array([[1.0, 0.0]]))), 4)  # only -ln 0.5
    0.6931
    """

    def __init__(self, name: str = "masked_lm_loss", **kwargs):
        super().__init__(name=name, reduction="sum", **kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = tf.cast(y_pred, "float32")  # (B, P, V)
        y_true = tf.cast(tf.reshape(y_true, tf.shape(y_pred)[:2]), "int32")  # (B, P)
        if sample_weight is None:
            sample_weight = tf.ones_like(y_true, "float32")
        weights = tf.cast(tf.reshape(sample_weight, tf.shape(y_true)), "float32")  # (B, P)
        cross_entropy = tf.nn.sparse_softmax_cross_entropy_with_logits(y_true, y_pred)  # (B, P)
        numerator = tf.reduce_sum(weights * cross_entropy)
        denominator = tf.reduce_sum(weights)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            denominator = context.all_reduce("SUM", denominator)
        return numerator / (tf.stop_gradient(denominator) + 1e-5)

    def call(self, y_true, y_pred):
        raise NotImplementedError("MaskedLMLoss computes its reduction itself, in __call__.")

    def get_config(self):
        return {"name": self.name}
