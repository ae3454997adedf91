"""`tag`: token tagging (NER and any word tagging) on `sequence_output`.

Data, alignment, windows and decoding are `tfbert.tasks.tagging_data`; this module is the task:
its loss (the mean cross-entropy over the first WordPieces of words, others weighted 0), its metrics
(entity precision/recall/F1 as seqeval's default mode, `tfbert.metrics.entity_scores`) and its
records (entities with code-point spans into the input text).
"""
from __future__ import annotations

from typing import Any, Sequence

import keras

from tfbert.metrics import entity_scores
from tfbert.models import BertTokenClassifier
from tfbert.tasks.tagging_data import (TagExample, check_tags, decode_tagging, encode_tagging,
                                       examples_from_texts, read_tagging_file, tag_vocabulary)
from tfbert.tasks.task import Encoded, FineTuningTask


class TagTask(FineTuningTask):
    """Word tagging from CoNLL files or JSONL character spans; IOB1, IOB2 and BIOES tags.

    Settings: `stride` (pieces between window starts of a long sentence; default half a window).
    """

    name = "tag"
    model_class = BertTokenClassifier
    head_prefixes = ("classifier/",)
    uses_pooler = False
    setting_names = ("stride",)

    def read(self, path: str, training: bool, labelled: bool = True) -> list[TagExample]:
        examples = read_tagging_file(path, tokenizer=self.tokenizer)
        if labelled and any(example.tags is None for example in examples):
            raise ValueError(f"{path}: the file has no tags (a tag column, or JSONL "
                             "\"entities\"), and this needs labelled sentences.")
        if not examples:
            raise ValueError(f"{path} has no sentences.")
        return examples

    def read_texts(self, texts: Sequence[str], pairs: Sequence[str] | None = None
                   ) -> list[TagExample]:
        if pairs is not None:
            raise ValueError("task 'tag' tags single texts; got pairs.")
        return examples_from_texts(texts, self.tokenizer)

    def configure(self, train: list[TagExample]) -> None:
        tags = tag_vocabulary(train)
        self.head = {"num_labels": len(tags), "labels": tags}

    def check(self, examples: list[TagExample]) -> None:
        check_tags(examples, self.head["labels"])

    def compile_model(self, model, optimizer, *, jit_compile, steps_per_execution):
        # The mean over taught positions (HF's -100 labels), whatever the batch's width.
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight")
        model.compile(optimizer=optimizer, loss={"logits": loss},
                      weighted_metrics={"logits": [
                          keras.metrics.SparseCategoricalAccuracy("accuracy")]},
                      jit_compile=jit_compile, steps_per_execution=steps_per_execution)

    def encode(self, examples: list[TagExample], training: bool) -> Encoded:
        features = encode_tagging(examples, self.tokenizer, self.head["labels"],
                                  seq_length=self.seq_length, stride=self.settings.get("stride"))
        if any(example.tags is None for example in examples):
            return Encoded(features.inputs, decoding=features)
        return Encoded(features.inputs, {"logits": features.labels},
                       {"logits": features.label_weights}, decoding=features)

    def scores(self, examples, encoded, outputs) -> dict[str, Any]:
        predictions = decode_tagging(examples, encoded.decoding, outputs["logits"],
                                     self.head["labels"])
        return entity_scores([list(example.tags) for example in examples],
                             [list(prediction.tags) for prediction in predictions])

    def records(self, examples, encoded, outputs) -> list[dict[str, Any]]:
        predictions = decode_tagging(examples, encoded.decoding, outputs["logits"],
                                     self.head["labels"])
        return [{"text": example.text, "entities": prediction.entities}
                for example, prediction in zip(examples, predictions)]
