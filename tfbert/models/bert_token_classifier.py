"""`BertTokenClassifier`: a label per token (NER, tagging) on `sequence_output`."""
from __future__ import annotations

from typing import Sequence

import keras

from tfbert.config import BertConfig
from tfbert.layers import ClassificationHead
from tfbert.models.bert_classifier import check_labels
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.task_model import TaskModel, feature_inputs


@keras.saving.register_keras_serializable(package="tfbert")
class BertTokenClassifier(TaskModel):
    """Label `logits` (B, T, num_labels), float32, for every token.

    >>> import numpy as np
    >>> model = BertTokenClassifier(BertConfig.preset("bert_tiny"), num_labels=5)
    >>> model({"input_word_ids": np.array([[101, 7592, 102]]), "input_mask": np.ones((1, 3)),
    ...        "input_type_ids": np.zeros((1, 3))})["logits"].shape.as_list()
    [1, 3, 5]
    """

    def __init__(self, config: BertConfig, num_labels: int, labels: Sequence[str] | None = None,
                 dropout: float | None = None, dtype: str | None = None,
                 name: str = "bert_token_classifier", **kwargs):
        labels = check_labels(num_labels, labels)
        dropout = config.hidden_dropout_prob if dropout is None else dropout
        # === Layers ===
        encoder = BertEncoder(config, dtype=dtype)
        head = ClassificationHead(num_labels, dropout_rate=dropout,
                                  initializer_range=config.initializer_range,
                                  name="classifier", dtype=dtype)
        # === Graph ===
        inputs = feature_inputs()
        logits = head(encoder(inputs)["sequence_output"])
        super().__init__(config, {"num_labels": num_labels, "labels": labels, "dropout": dropout,
                                  "dtype": dtype},
                         inputs=inputs, outputs={"logits": logits}, name=name, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.num_labels = num_labels
        self.labels = labels
