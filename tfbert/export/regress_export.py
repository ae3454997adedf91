"""`RegressTask` ("regress"): a real value per text or text pair from a `BertRegressor`.

>>> import os, tempfile, tensorflow as tf, tfbert
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> _ = open(path, "w").write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]))
>>> model = tfbert.BertRegressor(tfbert.BertConfig.preset("bert_tiny"))
>>> task = RegressTask(model, path, lower_case=True, seq_length=16)
>>> sorted(task.signatures())
['preprocess', 'regress', 'regress_pair', 'serving_default', 'text_pair']
>>> task.signatures()["text_pair"](tf.constant(["hi", ""]), tf.constant(["hi hi", "hi"])
...                                )["value"].shape.as_list()
[2]
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfbert.export.examples import (CLASSIFY_INPUTS, REGRESS_METHOD, REGRESS_OUTPUTS,
                                    ExampleSignature, parse_example_texts, parse_examples)
from tfbert.export.serving_task import ServingTask
from tfbert.models import BertRegressor, TaskModel

EXAMPLES = tf.TensorSpec([None], tf.string, name=CLASSIFY_INPUTS)


class RegressTask(ServingTask):
    """`value` [B] float32 (STS-B style similarity, a score, ...) from a `BertRegressor`:
    `serving_default` on `text`, `text_pair` on `text_a`/`text_b`; for TF Serving's Regress API
    also `regress` and `regress_pair` on serialized Examples (features `text`, or `text_a` and
    `text_b`), answering the same values as `outputs` [B]."""

    name = "regress"
    pairs = True
    example_signatures = {
        "regress": ExampleSignature(REGRESS_METHOD, "serving_default", ("text",)),
        "regress_pair": ExampleSignature(REGRESS_METHOD, "text_pair", ("text_a", "text_b"))}

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int,
                 compat: str = "google"):
        if not isinstance(model, BertRegressor):
            raise ValueError(f"task 'regress' needs a BertRegressor model directory; got "
                             f"{type(model).__name__}")
        super().__init__(model, vocab_file, lower_case, seq_length, compat=compat)

    def outputs(self, features, text):
        return {"value": self.model(features, training=False)["value"]}  # [B]

    def reference_outputs(self, features, text):
        return {"value": np.asarray(self.model(features, training=False)["value"], np.float64)}

    def signatures(self):
        functions = super().signatures()

        @tf.function(input_signature=[EXAMPLES])
        def regress(inputs):
            text = parse_example_texts(inputs, ("text",))["text"]
            return {REGRESS_OUTPUTS: self.outputs(self.features(text), text)["value"]}

        @tf.function(input_signature=[EXAMPLES])
        def regress_pair(inputs):
            texts = parse_example_texts(inputs, ("text_a", "text_b"))
            return {REGRESS_OUTPUTS: self.answer(texts["text_a"], texts["text_b"])["value"]}

        return {**functions, "regress": regress, "regress_pair": regress_pair}

    def reference(self, signature, inputs):
        if signature not in self.example_signatures:
            return super().reference(signature, inputs)
        _, source, names = self.example_signatures[signature]
        texts = parse_examples(inputs[CLASSIFY_INPUTS], names)
        return {REGRESS_OUTPUTS: super().reference(source, texts)["value"]}
