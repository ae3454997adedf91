"""Shared fixtures: a corpus in original BERT's format built from standard library docstrings,
and a WordPiece vocabulary learned from it."""
from __future__ import annotations

import inspect
import pathlib
import re

import pytest

from tfbert.text import learn_vocab, write_vocab

MODULES = ("argparse", "collections", "json", "os", "pathlib", "re", "string", "subprocess",
           "textwrap", "typing", "unittest", "email", "http.client", "logging", "inspect")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def docstring_documents() -> list[list[str]]:
    """Documents of one sentence per line: every docstring of MODULES, in a fixed order, each
    sentence only where it first occurs (so documents of different files share no text)."""
    import importlib

    documents, seen = [], set()
    for name in MODULES:
        module = importlib.import_module(name)
        objects = [module] + [value for _, value in sorted(vars(module).items())
                              if inspect.isclass(value) or inspect.isfunction(value)]
        for obj in objects:
            text = inspect.getdoc(obj) or ""
            sentences = [" ".join(s.split()) for s in _SENTENCE_END.split(text)]
            sentences = [s for s in sentences if s and s not in seen]
            seen.update(sentences)
            if sentences:
                documents.append(sentences)
    return documents


def write_corpus(documents: list[list[str]], path: pathlib.Path) -> pathlib.Path:
    """`documents` in the original format: a sentence per line, a blank line after each."""
    path.write_text("".join("\n".join(doc) + "\n\n" for doc in documents), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def documents() -> list[list[str]]:
    return docstring_documents()


@pytest.fixture(scope="session")
def corpus_files(documents, tmp_path_factory) -> list[str]:
    """The docstring corpus split into four files."""
    folder = tmp_path_factory.mktemp("corpus")
    return [str(write_corpus(documents[i::4], folder / f"part-{i}.txt")) for i in range(4)]


@pytest.fixture(scope="session")
def vocab_file(corpus_files, tmp_path_factory) -> str:
    """A 1,500-token uncased vocabulary learned from the corpus. The corpus has only 2,405
    distinct words, all of which a 3,000-token vocabulary holds whole; at 1,500 the rarer ones
    are split into "##" pieces, which the whole-word masking tests need."""
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    write_vocab(learn_vocab(corpus_files, vocab_size=1500, lower_case=True), path)
    return str(path)
