"""`BertEncoder`: embeddings, the stack of encoder blocks and the pooler."""
from __future__ import annotations

import keras

from tfbert.config import BertConfig
from tfbert.layers import BertEmbeddings, EncoderBlock, Pooler
from tfbert.models.task_model import TaskModel, feature_inputs

# Every encoder variable lives under this scope, as in the original checkpoint.
SCOPE = "bert"


@keras.saving.register_keras_serializable(package="tfbert")
class BertEncoder(TaskModel):
    """The BERT network: int features in, `sequence_output` and `pooled_output` out.

    Variable paths equal the original checkpoint's names (`bert/encoder/layer_0/attention/
    self/query/kernel`). `dtype` takes a Keras dtype policy such as "mixed_bfloat16".

    >>> import numpy as np
    >>> encoder = BertEncoder(BertConfig.preset("bert_tiny"))
    >>> features = {"input_word_ids": np.array([[101, 7592, 102, 0]]),
    ...             "input_mask": np.array([[1, 1, 1, 0]]),
    ...             "input_type_ids": np.zeros((1, 4), "int32")}
    >>> outputs = encoder(features)
    >>> outputs["sequence_output"].shape.as_list(), outputs["pooled_output"].shape.as_list()
    ([1, 4, 128], [1, 128])
    """

    def __init__(self, config: BertConfig, dtype: str | None = None, name: str = SCOPE, **kwargs):
        # === Layers ===
        embeddings = BertEmbeddings(
            config.vocab_size, config.hidden_size, config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size, initializer_range=config.initializer_range,
            layer_norm_eps=config.layer_norm_eps, dropout_rate=config.hidden_dropout_prob,
            name="embeddings", dtype=dtype)
        blocks = [
            EncoderBlock(config.num_attention_heads, config.head_size, config.intermediate_size,
                         hidden_act=config.hidden_act, initializer_range=config.initializer_range,
                         layer_norm_eps=config.layer_norm_eps,
                         hidden_dropout_prob=config.hidden_dropout_prob,
                         attention_probs_dropout_prob=config.attention_probs_dropout_prob,
                         name=f"layer_{index}", dtype=dtype)
            for index in range(config.num_hidden_layers)]
        pooler = Pooler(config.hidden_size, initializer_range=config.initializer_range,
                        name="pooler", dtype=dtype)

        # === Graph ===
        inputs = feature_inputs()
        with keras.name_scope(SCOPE):
            hidden = embeddings(inputs["input_word_ids"], inputs["input_type_ids"])
            with keras.name_scope("encoder"):
                for block in blocks:
                    hidden = block(hidden, inputs["input_mask"])  # (B, T, H)
            pooled = pooler(hidden)                                # (B, H)
        super().__init__(config, {"dtype": dtype}, inputs=inputs, name=name,
                         outputs={"sequence_output": hidden, "pooled_output": pooled}, **kwargs)

        # === Config ===
        self.embeddings = embeddings
