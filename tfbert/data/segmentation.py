"""Preparing a Chinese corpus for whole-word masking: jieba's words, marked by spaces.

Chinese BERT-wwm (Cui et al.) masks whole words of a Chinese word segmenter, while BERT's
tokenizer sees every CJK ideograph as a word of its own. `segment_file` runs jieba over each
line and inserts one space at each boundary between two jieba words where both neighbouring
characters are CJK ideographs (the original tokenizer's `_is_chinese_char` ranges), and nowhere
else. Such a space changes no token: the tokenizer already splits around every CJK ideograph.
Boundaries that touch other characters (between "和" and "iPhone12", or
inside mixed words) get no space, so Latin text, digits and punctuation keep their
tokens too. Everything else of the file is kept byte for byte (blank lines, line ends, invalid
UTF-8).

`pretraining_dataset(..., whole_word_masking=True)` then treats adjacent CJK tokens with no
character between them as one word (`tfbert.data.word_boundaries`); other scripts keep the
"##" rule. This module is plain Python (jieba); nothing of it runs in the training graph.

>>> segment_line("我买了新手机和iPhone12")
'我 买 了 新手机 和iPhone12'
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

import jieba

from tfbert.text.unicode_tables import is_cjk

PROGRESS_EVERY = 10_000  # lines between progress reports


class SegmentedFile(NamedTuple):
    lines: int  # lines read (blank ones included)
    spaces: int  # spaces inserted


def segment_line(line: str) -> str:
    """`line` with a space between jieba words wherever both sides are CJK ideographs."""
    parts: list[str] = []
    for word in jieba.cut(line):
        if parts and word and is_cjk(ord(parts[-1][-1])) and is_cjk(ord(word[0])):
            parts.append(" ")
        if word:
            parts.append(word)
    return "".join(parts)


def segment_file(
    source: str | os.PathLike,
    target: str | os.PathLike,
    progress: Callable[[str], None] | None = None,
) -> SegmentedFile:
    """Writes `source` to `target` with every line segmented by `segment_line`.

    The target is staged next to it and renamed into place when complete, so an error never
    leaves a partial file; `source` and `target` must differ.
    """
    source, target = os.fspath(source), os.fspath(target)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"`source`: no such file {source!r}")
    if os.path.exists(target) and os.path.samefile(source, target):
        raise ValueError(f"`target` must differ from `source`; both are {source!r}")
    staged = f"{target}.tmp-{os.getpid()}"
    lines = spaces = 0
    try:
        with open(source, "rb") as reader, open(staged, "wb") as writer:
            for raw in reader:
                body = raw.rstrip(b"\r\n")
                text = body.decode("utf-8", errors="surrogateescape")
                segmented = segment_line(text)
                spaces += len(segmented) - len(text)
                writer.write(segmented.encode("utf-8", errors="surrogateescape"))
                writer.write(raw[len(body):])
                lines += 1
                if progress and lines % PROGRESS_EVERY == 0:
                    progress(f"{lines:,} lines segmented, {spaces:,} spaces inserted")
        os.replace(staged, target)
    finally:
        if os.path.exists(staged):
            os.remove(staged)
    return SegmentedFile(lines, spaces)
