"""Labelled text for classification and regression: CSV, TSV and JSONL files -> texts, optional
pairs, labels.

CSV and TSV files start with a header row naming the columns; JSONL files hold one JSON object
per line. Labels are names (any string; JSON numbers are turned into strings). The label
vocabulary of a training file is its distinct labels *sorted*, so it does not depend on the
order of the rows; `BertClassifier(labels=...)` stores it in the model directory.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}


@dataclasses.dataclass(frozen=True)
class LabelledText:
    """Examples read from one file; `lines[i]` is the file line example i came from."""

    path: str
    texts: list[str]
    pairs: list[str] | None
    labels: list[str]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, rows: slice) -> "LabelledText":
        """The examples of a slice of rows."""
        return LabelledText(self.path, self.texts[rows],
                            None if self.pairs is None else self.pairs[rows], self.labels[rows],
                            self.lines[rows])

    def label_ids(self, vocabulary: Sequence[str]) -> np.ndarray:
        """The labels as int32 indices into `vocabulary`; unknown labels are an error."""
        index = {label: i for i, label in enumerate(vocabulary)}
        for label, line in zip(self.labels, self.lines):
            if label not in index:
                raise ValueError(f"{self.path}:{line}: label {label!r} is not one of the "
                                 f"training labels {list(vocabulary)}.")
        return np.array([index[label] for label in self.labels], "int32")


def label_vocabulary(examples: LabelledText) -> list[str]:
    """The sorted distinct labels.

    >>> label_vocabulary(LabelledText("x", ["a", "b", "c"], None, ["pos", "neg", "pos"], [2, 3, 4]))
    ['neg', 'pos']
    """
    labels = sorted(set(examples.labels))
    if len(labels) < 2:
        raise ValueError(f"{examples.path}: a classifier needs at least 2 distinct labels; "
                         f"got {labels}.")
    return labels


def read_labelled_text(path: str | os.PathLike, *, text_column: str = "text",
                       text_pair_column: str = "text_pair", label_column: str = "label",
                       labelled: bool = True) -> LabelledText:
    """Reads a .csv, .tsv or .jsonl file. The text-pair column is optional; when the file has
    it, every example must have it. With `labelled=False` (input to predict) the label column
    may be absent; its values are then "".

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.tsv"
    >>> _ = path.write_text("text\\tlabel\\nfine day\\tpositive\\nawful\\tnegative\\n")
    >>> examples = read_labelled_text(path)
    >>> examples.texts, examples.pairs, examples.labels, examples.lines
    (['fine day', 'awful'], None, ['positive', 'negative'], [2, 3])
    """
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: the file type must be one of {', '.join(FORMATS)}; "
                         f"got {path.suffix or 'no extension'!r}.")
    if not path.is_file():
        raise FileNotFoundError(f"Data file not found: {path}")
    rows = list(_json_rows(path) if kind == "jsonl" else _table_rows(path, kind))
    if not rows:
        raise ValueError(f"{path} has no examples.")
    columns = rows[0][1].keys() if kind != "jsonl" else set().union(*(r.keys() for _, r in rows))
    use_pairs = text_pair_column in columns
    use_labels = labelled or label_column in columns
    required = (text_column,) + ((label_column,) if use_labels else ())
    texts, pairs, labels, lines = [], [], [], []
    for line, row in rows:
        for column in required + ((text_pair_column,) if use_pairs else ()):
            if row.get(column) in (None, ""):
                flag = _flag(column, text_column, text_pair_column)
                raise ValueError(f"{path}:{line}: missing {column!r} (columns: {sorted(row)}); "
                                 f"name the column with --{flag}.")
        texts.append(str(row[text_column]))
        labels.append(str(row[label_column]) if use_labels else "")
        if use_pairs:
            pairs.append(str(row[text_pair_column]))
        lines.append(line)
    return LabelledText(str(path), texts, pairs if use_pairs else None, labels, lines)


def _flag(column: str, text_column: str, text_pair_column: str) -> str:
    if column == text_column:
        return "text-column"
    return "text-pair-column" if column == text_pair_column else "label-column"


def label_values(examples: LabelledText) -> np.ndarray:
    """The labels as float32 values (regression); a label that is not a number is an error
    naming its file and line."""
    values = []
    for label, line in zip(examples.labels, examples.lines):
        try:
            values.append(float(label))
        except ValueError:
            raise ValueError(f"{examples.path}:{line}: label {label!r} is not a number; "
                             "regression needs a numeric label column.") from None
    values = np.array(values, "float32")
    if not np.all(np.isfinite(values)):
        line = examples.lines[int(np.argmin(np.isfinite(values)))]
        raise ValueError(f"{examples.path}:{line}: the label is not a finite number.")
    return values


def _table_rows(path: Path, kind: str) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file, delimiter="\t" if kind == "tsv" else ",", strict=True)
        last_line = 1  # the header
        try:
            for row in reader:
                if None in row or None in row.values():
                    fields = sum(value is not None for key, value in row.items() if key is not None)
                    fields += len(row.get(None) or [])
                    raise ValueError(f"{path}:{reader.line_num}: the row has {fields} fields but "
                                     f"the header has {len(reader.fieldnames)}.")
                last_line = reader.line_num
                if not any((value or "").strip() for value in row.values()):
                    continue  # blank line
                yield reader.line_num, row
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                raise ValueError(f"{path}:{last_line + 1}: a quoted field opened on this line "
                                 "is never closed (an unmatched '\"').") from None
            raise ValueError(f"{path}:{last_line + 1}: not valid "
                             f"{kind.upper()} ({error}).") from None


def _json_rows(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as file:
        for line_number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: not valid JSON ({error.msg}).") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{line_number}: each line must be a JSON object; got "
                                 f"{type(row).__name__}.")
            yield line_number, row
