"""`BertPretrainer`: the encoder with the masked-LM and next-sentence heads."""
from __future__ import annotations

import keras

from tfbert.config import BertConfig
from tfbert.layers import MaskedLMHead, NextSentenceHead
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.task_model import FEATURES, TaskModel, feature_inputs


@keras.saving.register_keras_serializable(package="tfbert")
class BertPretrainer(TaskModel):
    """BERT pretraining: `mlm_logits` (B, P, vocab) at `masked_lm_positions`, and `nsp_logits`.

    Heads live in the original `cls/predictions` and `cls/seq_relationship` scopes; the MLM
    output layer is tied to the word embeddings. `next_sentence=False` drops the NSP head
    (RoBERTa-style MLM only).

    >>> import numpy as np
    >>> model = BertPretrainer(BertConfig.preset("bert_tiny"))
    >>> outputs = model({"input_word_ids": np.array([[101, 103, 102]]),
    ...                  "input_mask": np.ones((1, 3), "int32"),
    ...                  "input_type_ids": np.zeros((1, 3), "int32"),
    ...                  "masked_lm_positions": np.array([[1]])})
    >>> outputs["mlm_logits"].shape.as_list(), outputs["nsp_logits"].shape.as_list()
    ([1, 1, 30522], [1, 2])
    """

    def __init__(self, config: BertConfig, next_sentence: bool = True, dtype: str | None = None,
                 name: str = "bert_pretrainer", **kwargs):
        # === Layers ===
        encoder = BertEncoder(config, dtype=dtype)
        masked_lm = MaskedLMHead(
            encoder.embeddings, hidden_act=config.hidden_act,
            initializer_range=config.initializer_range, layer_norm_eps=config.layer_norm_eps,
            name="predictions", dtype=dtype)
        nsp = NextSentenceHead(config.initializer_range, name="seq_relationship", dtype=dtype)

        # === Graph ===
        inputs = feature_inputs("masked_lm_positions")
        encoded = encoder({name: inputs[name] for name in FEATURES})
        with keras.name_scope("cls"):
            outputs = {"mlm_logits": masked_lm(encoded["sequence_output"],
                                               inputs["masked_lm_positions"])}
            if next_sentence:
                outputs["nsp_logits"] = nsp(encoded["pooled_output"])
        super().__init__(config, {"next_sentence": next_sentence, "dtype": dtype},
                         inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.encoder = encoder
        self.next_sentence = next_sentence
