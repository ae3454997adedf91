"""`MaskedLMHead`: predicts the original tokens at masked positions (`cls/predictions`)."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.layers.activations import get_activation
from tfbert.layers.embeddings import BertEmbeddings


@keras.saving.register_keras_serializable(package="tfbert")
class MaskedLMHead(keras.layers.Layer):
    """Gathers the masked positions, transforms them and scores every vocabulary entry.

    The output projection is the transposed word-embedding table of `embedding` (tied
    weights) plus `output_bias`; only the (B, P) gathered positions are scored, never all T.
    Logits are float32.

    >>> embedding = BertEmbeddings(vocab_size=10, hidden_size=4, max_position_embeddings=8)
    >>> _ = embedding(tf.constant([[1, 2, 3]]))
    >>> head = MaskedLMHead(embedding)
    >>> head(tf.ones((2, 3, 4)), tf.constant([[0, 2], [1, 1]])).shape.as_list()
    [2, 2, 10]
    """

    def __init__(self, embedding: BertEmbeddings, hidden_act: str = "gelu",
                 initializer_range: float = 0.02, layer_norm_eps: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.embedding = embedding
        self.hidden_act = hidden_act
        self.activation = get_activation(hidden_act)
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps

    def build(self, sequence_output_shape, masked_lm_positions_shape=None):
        hidden_size = self.embedding.hidden_size
        self.dense = keras.layers.Dense(
            hidden_size, name="dense", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_eps, name="LayerNorm", dtype=self.dtype_policy)
        with keras.name_scope("transform"):
            self.dense.build((None, hidden_size))
            self.layer_norm.build((None, hidden_size))
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.embedding.vocab_size,), initializer="zeros")

    def call(self, sequence_output, masked_lm_positions):
        hidden_size = self.embedding.hidden_size
        gathered = tf.gather(sequence_output, masked_lm_positions, batch_dims=1)  # (B, P, H)
        hidden = tf.reshape(gathered, [-1, hidden_size])                          # (B*P, H)
        hidden = self.layer_norm(self.activation(self.dense(hidden)))
        table = tf.cast(self.embedding.word_embeddings.value, self.compute_dtype)  # (V, H)
        logits = tf.matmul(hidden, table, transpose_b=True)                        # (B*P, V)
        logits = tf.cast(logits, tf.float32) + tf.cast(self.output_bias, tf.float32)
        return tf.reshape(logits, tf.concat([tf.shape(masked_lm_positions), [-1]], axis=0))

    def compute_output_shape(self, sequence_output_shape, masked_lm_positions_shape=None):
        return tuple(masked_lm_positions_shape) + (self.embedding.vocab_size,)

    def compute_output_spec(self, sequence_output, masked_lm_positions):
        return keras.KerasTensor(
            self.compute_output_shape(sequence_output.shape, masked_lm_positions.shape),
            dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(embedding=keras.saving.serialize_keras_object(self.embedding),
                      hidden_act=self.hidden_act, initializer_range=self.initializer_range,
                      layer_norm_eps=self.layer_norm_eps)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config, embedding=keras.saving.deserialize_keras_object(config["embedding"]))
        return cls(**config)
