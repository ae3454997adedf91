"""Characters whose Unicode properties changed between Unicode 12.1 and this Python's 14.0.

TF Serving 2.14-2.19 link tf-text 2.12.1 with ICU 64.2 (Unicode 12.1); TF Serving 2.20 and
this machine link tf-text 2.20 with ICU 77.1. Read from tensorflow/text at v2.12.1 and
v2.20.0, the kernels tfbert uses consult ICU at run time in one place only: the
pre-tokenization of `FastWordpieceTokenizeWithOffsets` (without `no_pretokenization`), which
asks `u_isUWhiteSpace` and `u_ispunct` of every character. Everything else is decided when
the layer is built, in this Python, and baked into the graph as a constant: FastBertNormalize's
per-character mapping (case folding, NFD, accent and control removal) and FastWordpiece's trie.
Without pre-tokenization FastWordpiece walks its trie byte by byte and asks ICU nothing, and
the kernels' flatbuffer formats did not change between the two releases. The only semantic
change between them is in that pre-tokenization: 2.20.0 emits [UNK] (and guards against a
no-progress loop) where a character is punctuation at run time but was not when the trie was
built, a case that only arises when the two ICU versions disagree.

So a text gets the same ids on every TF Serving release if the characters the fast path
(`tfbert.text.fast_path`) passes to the pre-tokenization have the same properties in Unicode
12.1 as here. `CHANGED_RANGES` (generated with unicodedata2 12.1.0, see
`changed_code_points`) lists every code point whose general category (which includes being
assigned at all), bidirectional class (which decides Python's `isspace`), decomposition or
combining class differs; the fast path takes none of them, nor any character that normalizes
to one, and those texts take the exact route (core TF ops only). That one rule serves every
target release, so no per-version tokenizer is needed. unicodedata2 has no case mappings; case
folding is baked into the graph at build time, so it cannot differ between releases.

>>> 0x2E53 in changed_code_points(), ord("a") in changed_code_points()
(True, False)
"""
from __future__ import annotations

import functools
import unicodedata
from types import ModuleType

from tfbert.text.unicode12_data import CHANGED_RANGES

OLD_UNICODE_VERSION = "12.1.0"  # ICU 64.2, linked by TF Serving 2.12-2.19
MAX_CODE_POINT = 0x10FFFF


def _properties(database: ModuleType, char: str) -> tuple:
    return (database.category(char), database.bidirectional(char),
            database.decomposition(char), database.combining(char))


def changed_ranges(old: ModuleType, new: ModuleType = unicodedata) -> tuple[tuple[int, int], ...]:
    """Inclusive (low, high) ranges of the code points whose properties differ between the
    `unicodedata`-like modules `old` and `new` (surrogates left out)."""
    ranges: list[list[int]] = []
    for cp in range(MAX_CODE_POINT + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        if _properties(old, char) != _properties(new, char):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return tuple((low, high) for low, high in ranges)


@functools.lru_cache(maxsize=1)
def changed_code_points() -> frozenset[int]:
    """Every code point of `CHANGED_RANGES` (Unicode 12.1 vs this Python)."""
    return frozenset(cp for low, high in CHANGED_RANGES for cp in range(low, high + 1))
