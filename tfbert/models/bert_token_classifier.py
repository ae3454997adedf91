"""`BertTokenClassifier`: a label per token (NER, tagging) on `sequence_output`."""
from __future__ import annotations

from typing import Sequence

import keras

from tfbert.config import BertConfig
from tfbert.models.bert_classifier import build_classification
from tfbert.models.task_model import TaskModel


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
        inputs, outputs, encoder, task_args = build_classification(
            config, num_labels, labels, dropout, dtype, source="sequence_output")
        super().__init__(config, task_args, inputs=inputs, outputs=outputs, name=name, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.num_labels = num_labels
        self.labels = task_args["labels"]
