"""Hugging Face BertTokenizerFast's per-character rules, for `BertTokenizer(compat="hf")`.

HF's `tokenizers` (Rust) BertNormalizer + BertPreTokenizer decide character by character like
the original, but with other rules and other Unicode tables: private-use (Co) characters are
deleted, Σ lowers to σ everywhere (Rust's context-free `to_lowercase`), accents are stripped
before lowercasing, its CJK ranges skip U+2B820..U+2B91F, and its category tables (the
`unicode_categories` crate) and case tables (Rust's) are of other Unicode versions than
Python 3.11's 14.0. No library gives that normalizer as TF ops, so it is written here by hand:
`hf_expansion` applies HF's rules with Python's tables, and `tfbert.text.hf_table_data` (a
generated file) lists the code points where HF's own tables answer differently. It is made by
`python -m tests.text.hf_probe`, which probes `tokenizers` per code point; a test regenerates
it and compares, so a `tokenizers` upgrade shows.

>>> [hf_expansion(c, lower_case=True) for c in ["Σ", "\\ue000", "中", ","]]
[(963,), (), (32, -1, 32), (32, -1, 32)]
"""
from __future__ import annotations

import unicodedata

from tfbert.text import hf_table_data

BOUNDARY = 0x20  # as in tfbert.text.unicode_tables
SELF = -1

# tokenizers' `is_chinese_char` ranges (inclusive): U+2B820..U+2B91F are missing.
HF_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def _is_punctuation(char: str) -> bool:
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_hf_cjk(cp: int) -> bool:
    """Whether HF puts spaces around code point `cp`."""
    return any(low <= cp <= high for low, high in HF_CJK_RANGES)


def hf_expansion(char: str, lower_case: bool) -> tuple[int, ...]:
    """What HF's rules, applied with Python's Unicode tables, turn `char` into (`SELF` for
    `char`, `BOUNDARY` between words), before the exceptions of `hf_table_data`."""
    cp = ord(char)
    category = unicodedata.category(char)
    if cp in (0, 0xFFFD) or char not in "\t\n\r" and category in ("Cc", "Cf", "Co", "Cs"):
        return ()
    if char.isspace():
        return (BOUNDARY,)
    text = char
    if lower_case:  # HF strips accents first, then lowercases each character
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(c.lower() for c in decomposed if unicodedata.category(c) != "Mn")
    units: list[int] = []
    for c in text:
        if _is_punctuation(c):
            units += [BOUNDARY, ord(c), BOUNDARY]
        elif c.isspace():
            units.append(BOUNDARY)
        else:
            units.append(ord(c))
    if is_hf_cjk(cp):
        units = [BOUNDARY, *units, BOUNDARY]
    collapsed = [u for i, u in enumerate(units) if u != BOUNDARY or units[i - 1 : i] != [BOUNDARY]]
    return tuple(SELF if u == cp else u for u in collapsed)


def exceptions(lower_case: bool) -> dict[int, tuple[int, ...]]:
    """Code point → HF's expansion, where it differs from `hf_expansion` (from the data file).

    Raises ValueError if Python's Unicode version is not the one the data was made against.
    """
    if unicodedata.unidata_version != hf_table_data.UNIDATA_VERSION:
        raise ValueError(
            f"tfbert/text/hf_table_data.py was generated against Unicode "
            f"{hf_table_data.UNIDATA_VERSION}; this Python has {unicodedata.unidata_version}: "
            "regenerate it with `python -m tests.text.hf_probe`"
        )
    ranges = hf_table_data.UNCASED if lower_case else hf_table_data.CASED
    return {cp: units for low, high, units in ranges for cp in range(low, high + 1)}
