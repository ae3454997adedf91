"""Small text data for the CLI and fine-tuning tests: a corpus in original BERT's format from
standard-library docstrings, a whole-word vocabulary for it, and a generated labelled task."""
from __future__ import annotations

import collections
import inspect
import json
import re
from pathlib import Path

import numpy as np

SPECIAL = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MODULES = (json, collections, inspect, re)


def write_corpus(path: Path) -> Path:
    """One sentence per line, a blank line between documents (one per docstring)."""
    documents = []
    for module in MODULES:
        for _, member in inspect.getmembers(module):
            doc = inspect.getdoc(member) if callable(member) else None
            sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join((doc or "").split()))
                         if len(s.split()) >= 3]
            if len(sentences) >= 2:
                documents.append("\n".join(sentences))
    path.write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    return path


def write_vocab(corpus: Path, path: Path, size: int = 600) -> Path:
    """Special tokens at Google's ids, then the most frequent lowercase words and characters."""
    words = collections.Counter(re.findall(r"\w+|[^\w\s]", corpus.read_text().lower()))
    tokens = list(dict.fromkeys(SPECIAL + [w for w, _ in words.most_common(size)]))
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def write_order_task(path: Path, count: int, seed: int) -> Path:
    """JSONL: text of filler words with "alpha" and "omega" somewhere; the label says which comes
    first. Both classes hold the same words, so only word order solves it."""
    rng = np.random.default_rng(seed)
    filler = ["the", "file", "object", "returns", "value", "string", "list", "module"]
    lines = []
    for _ in range(count):
        words = list(rng.choice(filler, 8))
        first, second = sorted(rng.choice(np.arange(9), 2, replace=False))
        alpha_first = bool(rng.integers(2))
        words.insert(first, "alpha" if alpha_first else "omega")
        words.insert(second + 1, "omega" if alpha_first else "alpha")
        lines.append(json.dumps({"text": " ".join(words),
                                 "label": "alpha-first" if alpha_first else "omega-first"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
