"""`BertSpanQA`: extractive question answering (start/end of the answer span)."""
from __future__ import annotations

import keras

from tfbert.config import BertConfig
from tfbert.layers import SpanHead
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.task_model import TaskModel, feature_inputs


@keras.saving.register_keras_serializable(package="tfbert")
class BertSpanQA(TaskModel):
    """`start_logits` and `end_logits`, (B, T) float32, over the tokens of question + context.

    >>> import numpy as np
    >>> model = BertSpanQA(BertConfig.preset("bert_tiny"))
    >>> outputs = model({"input_word_ids": np.array([[101, 7592, 102]]),
    ...                  "input_mask": np.ones((1, 3)), "input_type_ids": np.zeros((1, 3))})
    >>> outputs["start_logits"].shape.as_list(), outputs["end_logits"].shape.as_list()
    ([1, 3], [1, 3])
    """

    def __init__(self, config: BertConfig, dtype: str | None = None,
                 name: str = "bert_span_qa", **kwargs):
        # === Layers ===
        encoder = BertEncoder(config, dtype=dtype)
        head = SpanHead(config.initializer_range, name="qa_outputs", dtype=dtype)
        # === Graph ===
        inputs = feature_inputs()
        start_logits, end_logits = head(encoder(inputs)["sequence_output"])
        super().__init__(config, {"dtype": dtype}, inputs=inputs, name=name,
                         outputs={"start_logits": start_logits, "end_logits": end_logits},
                         **kwargs)
        # === Config ===
        self.encoder = encoder
