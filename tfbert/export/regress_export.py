"""`RegressTask` ("regress"): a real value per text or text pair from a `BertRegressor`.

>>> import os, tempfile, tensorflow as tf, tfbert
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> _ = open(path, "w").write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]))
>>> model = tfbert.BertRegressor(tfbert.BertConfig.preset("bert_tiny"))
>>> task = RegressTask(model, path, lower_case=True, seq_length=16)
>>> sorted(task.signatures())
['preprocess', 'serving_default', 'text_pair']
>>> task.signatures()["text_pair"](tf.constant(["hi", ""]), tf.constant(["hi hi", "hi"])
...                                )["value"].shape.as_list()
[2]
"""
from __future__ import annotations

import numpy as np

from tfbert.export.serving_task import ServingTask
from tfbert.models import BertRegressor, TaskModel


class RegressTask(ServingTask):
    """`value` [B] float32 (STS-B style similarity, a score, ...) from a `BertRegressor`:
    `serving_default` on `text`, `text_pair` on `text_a`/`text_b`."""

    name = "regress"
    pairs = True

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int):
        if not isinstance(model, BertRegressor):
            raise ValueError(f"task 'regress' needs a BertRegressor model directory; got "
                             f"{type(model).__name__}")
        super().__init__(model, vocab_file, lower_case, seq_length)

    def outputs(self, features, text):
        return {"value": self.model(features, training=False)["value"]}  # [B]

    def reference_outputs(self, features, text):
        return {"value": np.asarray(self.model(features, training=False)["value"], np.float64)}
