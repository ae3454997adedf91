"""`BertClassifier`: sequence (or sequence-pair) classification on `pooled_output`."""
from __future__ import annotations

from typing import Sequence

import keras

from tfbert.config import BertConfig
from tfbert.layers import ClassificationHead
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.task_model import TaskModel, feature_inputs


def check_labels(num_labels: int, labels: Sequence[str] | None) -> tuple[str, ...] | None:
    """Validates optional label names against `num_labels`; returns them as a tuple."""
    if labels is None:
        return None
    labels = tuple(labels)
    if len(labels) != num_labels or len(set(labels)) != len(labels):
        raise ValueError(f"`labels` must be {num_labels} distinct names (num_labels="
                         f"{num_labels}); got {len(labels)}: {list(labels)[:10]}.")
    return labels


def build_classification(config: BertConfig, num_labels: int, labels: Sequence[str] | None,
                         dropout: float | None, dtype: str | None, source: str):
    """The graph both classifiers share: encoder, then a `classifier` head on `source`
    ("pooled_output" or "sequence_output"). Returns (inputs, outputs, encoder, task_args)."""
    labels = check_labels(num_labels, labels)
    dropout = config.hidden_dropout_prob if dropout is None else dropout
    # === Layers ===
    encoder = BertEncoder(config, dtype=dtype)
    head = ClassificationHead(num_labels, dropout_rate=dropout,
                              initializer_range=config.initializer_range,
                              name="classifier", dtype=dtype)
    # === Graph ===
    inputs = feature_inputs()
    outputs = {"logits": head(encoder(inputs)[source])}
    task_args = {"num_labels": num_labels, "labels": labels, "dropout": dropout, "dtype": dtype}
    return inputs, outputs, encoder, task_args


@keras.saving.register_keras_serializable(package="tfbert")
class BertClassifier(TaskModel):
    """Label `logits` (B, num_labels), float32, from the pooled [CLS] vector.

    `labels` optionally names the classes (index i is `labels[i]`); export uses them.
    `dropout` defaults to the config's `hidden_dropout_prob`, as in BERT fine-tuning.

    >>> import numpy as np
    >>> model = BertClassifier(BertConfig.preset("bert_tiny"), num_labels=2,
    ...                        labels=["negative", "positive"])
    >>> model({"input_word_ids": np.array([[101, 7592, 102]]), "input_mask": np.ones((1, 3)),
    ...        "input_type_ids": np.zeros((1, 3))})["logits"].shape.as_list()
    [1, 2]
    """

    def __init__(self, config: BertConfig, num_labels: int, labels: Sequence[str] | None = None,
                 dropout: float | None = None, dtype: str | None = None,
                 name: str = "bert_classifier", **kwargs):
        inputs, outputs, encoder, task_args = build_classification(
            config, num_labels, labels, dropout, dtype, source="pooled_output")
        super().__init__(config, task_args, inputs=inputs, outputs=outputs, name=name, **kwargs)
        # === Config ===
        self.encoder = encoder
        self.num_labels = num_labels
        self.labels = task_args["labels"]
