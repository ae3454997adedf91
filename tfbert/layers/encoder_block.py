"""`EncoderBlock`: one post-LayerNorm Transformer encoder layer of BERT."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.layers.activations import get_activation
from tfbert.layers.fused_elementwise import compiled_activation
from tfbert.layers.residual_output import ResidualOutput
from tfbert.layers.self_attention import SelfAttention


@keras.saving.register_keras_serializable(package="tfbert")
class EncoderBlock(keras.layers.Layer):
    """Self-attention and feed-forward, each followed by residual + LayerNorm.

    Sub-layers sit in the original checkpoint's scopes: `attention/self`, `attention/output`,
    `intermediate/dense` and `output`. Inside, tokens are flattened to (B*T, H) so every
    projection is one plain matrix multiply.

    >>> block = EncoderBlock(num_heads=2, head_size=2, intermediate_size=8)
    >>> block(tf.ones((2, 3, 4)), tf.constant([[1, 1, 1], [1, 1, 0]])).shape.as_list()
    [2, 3, 4]
    """

    def __init__(self, num_heads: int, head_size: int, intermediate_size: int,
                 hidden_act: str = "gelu", initializer_range: float = 0.02,
                 layer_norm_eps: float = 1e-12, hidden_dropout_prob: float = 0.0,
                 attention_probs_dropout_prob: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_size = head_size
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.activation = get_activation(hidden_act)
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob

    def build(self, hidden_shape, input_mask_shape=None):
        hidden_size = self.num_heads * self.head_size
        tokens_shape = (None, hidden_size)
        common = dict(initializer_range=self.initializer_range, dtype=self.dtype_policy)
        residual = dict(layer_norm_eps=self.layer_norm_eps,
                        dropout_rate=self.hidden_dropout_prob, **common)
        self.self_attention = SelfAttention(
            self.num_heads, self.head_size, dropout_rate=self.attention_probs_dropout_prob,
            name="self", **common)
        self.attention_output = ResidualOutput(hidden_size, name="output", **residual)
        self.intermediate = keras.layers.Dense(
            self.intermediate_size, name="dense", dtype=self.dtype_policy,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.output_block = ResidualOutput(hidden_size, name="output", **residual)
        with keras.name_scope("attention"):
            self.self_attention.build(tokens_shape)
            self.attention_output.build(tokens_shape)
        with keras.name_scope("intermediate"):
            self.intermediate.build(tokens_shape)
        self.output_block.build((None, self.intermediate_size))

    def call(self, hidden, input_mask, training=None):
        tokens = tf.reshape(hidden, [-1, self.num_heads * self.head_size])  # (B*T, H)
        context = self.self_attention(tokens, input_mask, training=training)
        attention_output = self.attention_output(context, tokens, training=training)
        # In training the activation runs compiled (see `fused_elementwise`).
        activation = compiled_activation(self.hidden_act) if training else self.activation
        intermediate = activation(self.intermediate(attention_output))  # (B*T, F)
        layer_output = self.output_block(intermediate, attention_output, training=training)
        return tf.reshape(layer_output, tf.shape(hidden))  # (B, T, H)

    def compute_output_shape(self, hidden_shape, input_mask_shape=None):
        return hidden_shape

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, head_size=self.head_size,
                      intermediate_size=self.intermediate_size, hidden_act=self.hidden_act,
                      initializer_range=self.initializer_range,
                      layer_norm_eps=self.layer_norm_eps,
                      hidden_dropout_prob=self.hidden_dropout_prob,
                      attention_probs_dropout_prob=self.attention_probs_dropout_prob)
        return config
