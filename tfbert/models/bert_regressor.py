"""`BertRegressor`: a real value per sequence (or sequence pair), STS-B style."""
from __future__ import annotations

import keras

from tfbert.config import BertConfig
from tfbert.models.bert_classifier import build_classification
from tfbert.models.task_model import TaskModel


@keras.saving.register_keras_serializable(package="tfbert")
class BertRegressor(TaskModel):
    """`value` (B,), float32, from the pooled [CLS] vector: HF's
    `BertForSequenceClassification` with `num_labels=1` (the same `classifier` weights).

    >>> import numpy as np
    >>> model = BertRegressor(BertConfig.preset("bert_tiny"))
    >>> model({"input_word_ids": np.array([[101, 7592, 102]]), "input_mask": np.ones((1, 3)),
    ...        "input_type_ids": np.zeros((1, 3))})["value"].shape.as_list()
    [1]
    """

    def __init__(self, config: BertConfig, dropout: float | None = None,
                 dtype: str | None = None, name: str = "bert_regressor", **kwargs):
        inputs, outputs, encoder, task_args = build_classification(
            config, 1, None, dropout, dtype, source="pooled_output")
        outputs = {"value": keras.ops.squeeze(outputs["logits"], axis=-1)}
        task_args = {"dropout": task_args["dropout"], "dtype": dtype}
        super().__init__(config, task_args, inputs=inputs, outputs=outputs, name=name, **kwargs)
        # === Config ===
        self.encoder = encoder
