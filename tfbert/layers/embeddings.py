"""`BertEmbeddings`: word + position + token-type embeddings, LayerNorm and dropout."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.layers.hashed_dropout import HashedDropout


@keras.saving.register_keras_serializable(package="tfbert")
class BertEmbeddings(keras.layers.Layer):
    """Embeds token ids; variables are named as in the original checkpoint's `embeddings` scope.

    The embedding sum and its LayerNorm run in float32 under mixed precision; the output is cast
    to the compute dtype. `word_embeddings` is shared with the masked-LM head.

    >>> layer = BertEmbeddings(vocab_size=10, hidden_size=4, max_position_embeddings=8)
    >>> layer(tf.constant([[1, 2, 3]]), tf.constant([[0, 0, 1]])).shape.as_list()
    [1, 3, 4]
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_position_embeddings: int,
                 type_vocab_size: int = 2, initializer_range: float = 0.02,
                 layer_norm_eps: float = 1e-12, dropout_rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.dropout_rate = dropout_rate

    def build(self, input_word_ids_shape, input_type_ids_shape=None):
        initializer = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
        # Variables are created float32 whatever the policy (Keras keeps mixed variables float32),
        # and read without autocast below, so the large table is never cast whole.
        self.word_embeddings = self.add_weight(
            name="word_embeddings", shape=(self.vocab_size, self.hidden_size),
            initializer=initializer, autocast=False)
        self.token_type_embeddings = self.add_weight(
            name="token_type_embeddings", shape=(self.type_vocab_size, self.hidden_size),
            initializer=initializer, autocast=False)
        self.position_embeddings = self.add_weight(
            name="position_embeddings", shape=(self.max_position_embeddings, self.hidden_size),
            initializer=initializer, autocast=False)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_eps, name="LayerNorm", dtype=self.dtype_policy)
        self.layer_norm.build((None, None, self.hidden_size))
        self.dropout = HashedDropout(self.dropout_rate, dtype=self.dtype_policy)

    def call(self, input_word_ids, input_type_ids=None, training=None):
        seq_length = self._checked_length(input_word_ids)
        embeddings = tf.gather(self.word_embeddings.value, input_word_ids)  # (B, T, H) float32
        if input_type_ids is not None:
            embeddings += tf.gather(self.token_type_embeddings.value, input_type_ids)
        else:
            embeddings += self.token_type_embeddings.value[0]
        embeddings += self.position_embeddings.value[tf.newaxis, :seq_length]
        embeddings = self.layer_norm(embeddings)
        return self.dropout(embeddings, training=training)

    def _checked_length(self, input_word_ids):
        """The sequence length; fails clearly on sequences longer than the position table: at
        trace time when the length is static (as under XLA, which ignores runtime asserts),
        else at run time, before the position table is sliced (so no shape error comes first)."""
        message = (f"sequence length exceeds max_position_embeddings="
                   f"{self.max_position_embeddings}")
        static_length = input_word_ids.shape[1]
        if static_length is not None:
            if static_length > self.max_position_embeddings:
                raise ValueError(f"{message}: got {static_length}.")
            return static_length
        length = tf.shape(input_word_ids)[1]
        check = tf.debugging.assert_less_equal(length, self.max_position_embeddings,
                                               message=message)
        with tf.control_dependencies([check]):
            return tf.identity(length)

    def compute_output_shape(self, input_word_ids_shape, input_type_ids_shape=None):
        return tuple(input_word_ids_shape) + (self.hidden_size,)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, hidden_size=self.hidden_size,
                      max_position_embeddings=self.max_position_embeddings,
                      type_vocab_size=self.type_vocab_size,
                      initializer_range=self.initializer_range,
                      layer_norm_eps=self.layer_norm_eps, dropout_rate=self.dropout_rate)
        return config
