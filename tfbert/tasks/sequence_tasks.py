"""Sequence tasks on the pooled [CLS] vector: `classify` (labels) and `regress` (a value).

Both read CSV, TSV or JSONL files with a text column, an optional text-pair column and a label
column (`tfbert.tasks.labelled_text`), and pack each text (or pair) into one window of
`seq_length` tokens, truncating the longer segment first as original BERT does.
"""
from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from tfbert.metrics import classification_scores, regression_scores
from tfbert.models import BertClassifier, BertRegressor
from tfbert.tasks.labelled_text import (LabelledText, label_values, label_vocabulary,
                                        read_labelled_text)
from tfbert.tasks.task import Encoded, FineTuningTask
from tfbert.text.preprocessor import BertPreprocessor

# Texts tokenized per call when encoding a file.
ENCODE_BATCH = 512
COLUMNS = {"text_column": "text", "text_pair_column": "text_pair", "label_column": "label"}


class _TextTask(FineTuningTask):
    """What `classify` and `regress` share: the files, the packing, plain-text input."""

    head_prefixes = ("classifier/",)
    setting_names = tuple(COLUMNS)

    def read(self, path: str, training: bool, labelled: bool = True) -> LabelledText:
        return read_labelled_text(path, labelled=labelled, **{
            key: self.settings.get(key, default) for key, default in COLUMNS.items()})

    def read_texts(self, texts: Sequence[str], pairs: Sequence[str] | None = None
                   ) -> LabelledText:
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"`pairs` must have one entry per text; got {len(texts)} texts and "
                             f"{len(pairs)} pairs.")
        return LabelledText("<texts>", list(texts), None if pairs is None else list(pairs),
                            [""] * len(texts), list(range(1, len(texts) + 1)))

    def _features(self, examples: LabelledText) -> dict[str, np.ndarray]:
        preprocessor = BertPreprocessor(self.tokenizer, seq_length=self.seq_length)
        batches = []
        for start in range(0, len(examples), ENCODE_BATCH):
            texts = tf.constant(examples.texts[start:start + ENCODE_BATCH])
            if examples.pairs is None:
                batches.append(preprocessor(texts))
            else:
                batches.append(preprocessor(texts, tf.constant(
                    examples.pairs[start:start + ENCODE_BATCH])))
        return {name: np.concatenate([batch[name].numpy() for batch in batches])
                for name in batches[0]}

    def _labelled(self, examples: LabelledText) -> bool:
        return any(examples.labels)


class ClassifyTask(_TextTask):
    """Sequence (pair) classification: cross-entropy; accuracy, macro-F1, per-class P/R/F1."""

    name = "classify"
    model_class = BertClassifier

    def configure(self, train: LabelledText) -> None:
        labels = label_vocabulary(train)
        self.head = {"num_labels": len(labels), "labels": labels}

    def check(self, examples: LabelledText) -> None:
        examples.label_ids(self.head["labels"])  # unknown labels name the file and line

    def compile_model(self, model, optimizer, *, jit_compile, steps_per_execution):
        model.compile(optimizer=optimizer,
                      loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                      metrics={"logits": [keras.metrics.SparseCategoricalAccuracy("accuracy")]},
                      jit_compile=jit_compile, steps_per_execution=steps_per_execution)

    def encode(self, examples: LabelledText, training: bool) -> Encoded:
        x = self._features(examples)
        if not self._labelled(examples):
            return Encoded(x)
        return Encoded(x, {"logits": examples.label_ids(self.head["labels"])})

    def scores(self, examples, encoded, outputs) -> dict[str, Any]:
        labels = list(self.head["labels"])
        predicted = [labels[i] for i in np.argmax(outputs["logits"], axis=-1)]
        return classification_scores(examples.labels, predicted, labels=labels)

    def records(self, examples, encoded, outputs) -> list[dict[str, Any]]:
        labels = list(self.head["labels"])
        probabilities = _softmax(outputs["logits"])
        return [{"label": labels[int(np.argmax(row))],
                 "probabilities": {label: float(p) for label, p in zip(labels, row)}}
                for row in probabilities]


class RegressTask(_TextTask):
    """Sequence (pair) regression, STS-B style: mean squared error; Pearson and Spearman."""

    name = "regress"
    model_class = BertRegressor

    def configure(self, train: LabelledText) -> None:
        label_values(train)  # numbers, or an error naming the line
        self.head = {}

    def check(self, examples: LabelledText) -> None:
        label_values(examples)

    def compile_model(self, model, optimizer, *, jit_compile, steps_per_execution):
        model.compile(optimizer=optimizer, loss={"value": keras.losses.MeanSquaredError()},
                      jit_compile=jit_compile, steps_per_execution=steps_per_execution)

    def encode(self, examples: LabelledText, training: bool) -> Encoded:
        x = self._features(examples)
        if not self._labelled(examples):
            return Encoded(x)
        return Encoded(x, {"value": label_values(examples)})

    def scores(self, examples, encoded, outputs) -> dict[str, Any]:
        return regression_scores(label_values(examples), outputs["value"])

    def records(self, examples, encoded, outputs) -> list[dict[str, Any]]:
        return [{"value": float(value)} for value in outputs["value"]]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
