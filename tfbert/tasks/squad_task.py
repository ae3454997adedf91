"""`qa`: extractive question answering (SQuAD v1.1 and v2.0) on `sequence_output`.

Data, windows and decoding are `tfbert.tasks.squad_files` and `tfbert.tasks.squad_data`; this
module is the task: its loss (the mean of the start and end cross-entropies, as original BERT),
its metrics (the official SQuAD evaluation, `tfbert.metrics.squad_scores`) and its records.

SQuAD v2.0 ("no answer" possible): a question is answered "" when its null score beats the best
span by more than `null_threshold`. Scoring an eval file picks the threshold that maximises F1
there (as the official script's best threshold) and keeps it in the settings, so the fine-tuned
model directory (`finetuning.json`) answers with it; v1.1 data always gets a span.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import keras

from tfbert.metrics import best_threshold, squad_scores
from tfbert.models import BertSpanQA
from tfbert.tasks.squad_data import decode_squad, encode_squad
from tfbert.tasks.squad_files import SquadExample, examples_from_pairs, read_squad
from tfbert.tasks.task import Encoded, FineTuningTask

# The task's settings and their defaults (original BERT's run_squad.py).
DEFAULTS = {"max_query_length": 64, "doc_stride": 128, "max_answer_length": 30, "n_best": 20,
            "null_threshold": None}


class SquadExamples(list):
    """The examples of a SQuAD file, with the parsed JSON (`dataset`) that the official
    evaluation reads."""

    def __init__(self, examples: Sequence[SquadExample], dataset: dict | None):
        super().__init__(examples)
        self.dataset = dataset


class QATask(FineTuningTask):
    """SQuAD-style QA. Settings: `max_query_length`, `doc_stride`, `max_answer_length`,
    `n_best`, and `null_threshold` (None: always answer; set from the eval file for v2.0)."""

    name = "qa"
    model_class = BertSpanQA
    head_prefixes = ("qa_outputs/",)
    uses_pooler = False
    setting_names = tuple(DEFAULTS)

    def setting(self, name: str):
        return self.settings.get(name, DEFAULTS[name])

    def read(self, path: str, training: bool, labelled: bool = True) -> SquadExamples:
        dataset, examples = read_squad(path, training=training)
        if not examples:
            raise ValueError(f"{path} has no questions.")
        return SquadExamples(examples, dataset)

    def read_texts(self, texts: Sequence[str], pairs: Sequence[str] | None = None
                   ) -> SquadExamples:
        """Questions `texts` about the contexts `pairs` (ids "0", "1", ...)."""
        if pairs is None:
            raise ValueError("task 'qa' needs a context for every question: SQuAD JSON, or "
                             "questions with their contexts as pairs.")
        return SquadExamples(examples_from_pairs(texts, pairs), None)

    def configure(self, train: SquadExamples) -> None:
        self.head = {}
        if any(example.is_impossible for example in train):  # v2.0: may answer ""
            self.settings.setdefault("null_threshold", 0.0)

    def keeps_head(self, source) -> bool:
        return source.model_class == "BertSpanQA"

    def compile_model(self, model, optimizer, *, jit_compile, steps_per_execution):
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer=optimizer, loss={"start_logits": loss, "end_logits": loss},
                      loss_weights={"start_logits": 0.5, "end_logits": 0.5},
                      jit_compile=jit_compile, steps_per_execution=steps_per_execution)

    def encode(self, examples: SquadExamples, training: bool) -> Encoded:
        features = encode_squad(examples, self.tokenizer, seq_length=self.seq_length,
                                max_query_length=self.setting("max_query_length"),
                                doc_stride=self.setting("doc_stride"), training=training)
        if not training:
            return Encoded(features.inputs, decoding=features)
        return Encoded(features.inputs, {"start_logits": features.start_positions,
                                         "end_logits": features.end_positions},
                       decoding=features)

    def _decode(self, examples, encoded, outputs, null_threshold):
        return decode_squad(examples, encoded.decoding, outputs["start_logits"],
                            outputs["end_logits"],
                            max_answer_length=self.setting("max_answer_length"),
                            n_best=self.setting("n_best"), null_threshold=null_threshold)

    def tune(self, examples: SquadExamples, encoded, outputs) -> None:
        """v2.0: sets `null_threshold` to the one that maximises F1 on these (eval) examples."""
        if self.setting("null_threshold") is not None:
            spans = self._decode(examples, encoded, outputs, null_threshold=None)
            self.settings["null_threshold"] = _best_null_threshold(examples.dataset, spans)

    def scores(self, examples: SquadExamples, encoded, outputs) -> dict[str, Any]:
        """The official scores at the model's `null_threshold` (v2.0: also `null_threshold`,
        and the official `best_f1` and `best_f1_thresh` over null_score_diff)."""
        spans = self._decode(examples, encoded, outputs, null_threshold=None)
        threshold = self.setting("null_threshold")
        answers = {qid: ("" if threshold is not None and p.null_score_diff > threshold
                         else p.answer) for qid, p in spans.items()}
        if threshold is None:
            return squad_scores(examples.dataset, answers)
        diffs = {qid: _finite(p.null_score_diff, 1e9) for qid, p in spans.items()}
        scores = squad_scores(examples.dataset, answers)
        best = squad_scores(examples.dataset, {qid: p.answer for qid, p in spans.items()}, diffs)
        return {**scores, "null_threshold": threshold, "best_f1": best["best_f1"],
                "best_f1_thresh": best["best_f1_thresh"]}

    def records(self, examples, encoded, outputs) -> list[dict[str, Any]]:
        predictions = self._decode(examples, encoded, outputs, self.setting("null_threshold"))
        records = []
        for example in examples:
            prediction = predictions[example.id]
            records.append({"id": example.id, "answer": prediction.answer,
                            "start": prediction.start, "end": prediction.end,
                            "score": prediction.score,
                            "null_score_diff": _finite(prediction.null_score_diff)})
        return records


def _best_null_threshold(dataset: dict, spans: dict) -> float:
    """The F1-best threshold on null_score_diff. Scores are shifted above 0 first: the official
    search starts from "answer nothing", which it records as threshold 0.0."""
    diffs = {qid: _finite(p.null_score_diff, 1e9) for qid, p in spans.items()}
    shift = 1.0 - min(diffs.values())
    threshold, _ = best_threshold(dataset, {qid: p.answer for qid, p in spans.items()},
                                  {qid: diff + shift for qid, diff in diffs.items()})
    return (threshold - shift) if threshold != 0.0 else min(diffs.values()) - 1.0


def _finite(value: float, infinity: float | None = None) -> float | None:
    """JSON has no infinity: None (or `infinity`) for a diff without any span."""
    return value if math.isfinite(value) else infinity
