"""Evaluation and prediction in the process, from a fine-tuned model directory (no server).

`evaluate` scores a labelled file with the task's standard metrics; `Predictor` turns raw texts
or data files into one JSON-ready record per input, in input order, as `tfbert predict --model`
writes them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from tfbert.models.model_directory import ModelDirectory
from tfbert.tasks.registry import task_of
from tfbert.tasks.task import Encoded, FineTuningTask, model_outputs

# Inputs predicted per step of progress (and encoded together).
CHUNK = 1024


class Predictor:
    """A fine-tuned model directory, loaded once, that predicts records.

    `bucketing` (default) runs inputs in batches cut to a few lengths
    (`tfbert.tasks.bucketing`): the same records as full-length batches, faster on short texts.

    >>> Predictor("no/such/model")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no/such/model is not a model directory: config.json is missing.
    """

    def __init__(self, model_dir: str | os.PathLike, *, batch_size: int = 32,
                 seq_length: int | None = None, bucketing: bool = True):
        source = ModelDirectory(model_dir)
        self.task: FineTuningTask = task_of(source, seq_length)
        self.model = source.load()
        self.batch_size = batch_size
        self.bucketing = bucketing  # batches cut to length buckets (tfbert.tasks.bucketing)

    def outputs(self, examples: Sequence) -> tuple[Encoded, dict[str, np.ndarray]]:
        """The encoded `examples` and the model's outputs for them."""
        encoded = self.task.encode(examples, training=False)
        return encoded, model_outputs(self.model, encoded, self.batch_size,
                                      bucketing=self.bucketing)

    def predict_examples(self, examples: Sequence) -> list[dict[str, Any]]:
        """One record per example (as `task.read` returns them), in order."""
        encoded, outputs = self.outputs(examples)
        return self.task.records(examples, encoded, outputs)

    def predict(self, texts: Sequence[str], pairs: Sequence[str] | None = None
                ) -> list[dict[str, Any]]:
        """One record per raw text (or text pair; for qa, question and context): `label` and
        `probabilities` (classify), `value` (regress), `entities` (tag), `answer`, `start`,
        `end`, `score` (qa)."""
        if isinstance(texts, str) or isinstance(pairs, str):
            raise TypeError("`texts` and `pairs` must be sequences of strings; got one str.")
        return self.predict_examples(self.task.read_texts(
            list(texts), None if pairs is None else list(pairs)))

    def predict_file(self, path: str | os.PathLike,
                     progress: Callable[[str], None] | None = None) -> Iterator[dict[str, Any]]:
        """Records for every input of `path`: a .txt file (one text per line) or a data file of
        the task's format (labels optional). Yields in input order, a chunk at a time."""
        path = Path(path)
        if path.suffix.lower() == ".txt":
            examples = self.task.read_texts(_text_lines(path))
        else:
            examples = self.task.read(str(path), training=False, labelled=False)
        for start in range(0, len(examples), CHUNK):
            yield from self.predict_examples(examples[start:start + CHUNK])
            if progress is not None:
                progress(f"{min(start + CHUNK, len(examples)):,} of {len(examples):,} inputs")


def evaluate(model_dir: str | os.PathLike, data_file: str | os.PathLike, *,
             batch_size: int = 32, seq_length: int | None = None,
             bucketing: bool = True) -> dict[str, Any]:
    """The task's metrics of the model in `model_dir` on the labelled `data_file`
    (`bucketing`: see `Predictor`)."""
    predictor = Predictor(model_dir, batch_size=batch_size, seq_length=seq_length,
                          bucketing=bucketing)
    examples = predictor.task.read(str(data_file), training=False)
    predictor.task.check(examples)
    encoded, outputs = predictor.outputs(examples)
    return predictor.task.scores(examples, encoded, outputs)


def write_records(records, path: str | os.PathLike) -> int:
    """Writes records as JSON lines (UTF-8) to `path` atomically; returns how many."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.partial")
    count = 0
    try:
        with staging.open("w", encoding="utf-8") as file:
            for record in records:
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    return count


def _text_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as file:
        return [line.rstrip("\n").rstrip("\r") for line in file]
