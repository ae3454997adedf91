"""Character tables that let a TF graph reproduce the original BERT `BasicTokenizer` exactly.

The original tokenizer decides everything character by character with Python's `unicodedata`
and `str.lower()`, so its behaviour is that of the Python running it (3.11: Unicode 14.0). This
module asks the same Python questions once per code point and stores the answers as integer
arrays; `tfbert.text.normalizer` applies them in the graph with `tf.gather`.

Each code point gets an *expansion*: the code points it becomes, where `BOUNDARY` (a space) marks
a word boundary and `SELF` stands for the character itself, so that the ~100k CJK ideographs and
the punctuation share two entries. For example, with `lower_case=True`:

- a NUL, U+FFFD or a control/format character (Cc, Cf; not tab, newline, carriage return)
  becomes nothing;
- whitespace (space, tab, newline, carriage return, Zs, and U+2028/U+2029, which `str.split()`
  splits on) becomes a boundary;
- a CJK ideograph becomes boundary, itself, boundary;
- any other character becomes `strip_accents(c.lower())` (NFD, drop Mn), with each
  punctuation character in the result set off by boundaries.

`str.lower()` is context free except for one rule, Final_Sigma (Σ becomes ς at the end of a
word), which needs the neighbours; the tables therefore also mark which characters are *cased*
and *case-ignorable* in Python's sense, measured by asking `str.lower()` itself.

One thing per-character tables cannot do is NFD's canonical reordering of combining marks. It
changes the result only when two marks that accent stripping keeps meet out of canonical order
(spacing marks, Mc, with a nonzero combining class: 25 characters such as U+1D16D followed by
U+1D165); they then stay in input order. Reordering that moves stripped (Mn) marks changes
nothing, since they are dropped.

>>> table = char_table(lower_case=True)
>>> [expansion(table, c) for c in ["A", "É", "\\u200b", "\\u3000", "中", ","]]
['a', 'e', '', ' ', ' 中 ', ' , ']
"""
from __future__ import annotations

import dataclasses
import functools
import unicodedata

import numpy as np

from tfbert.text import hf_tables

COMPATS = ("google", "hf")  # whose tokenizer the tables reproduce: original BERT's or HF's
BOUNDARY = 0x20  # a word boundary in an expansion
SELF = -1  # stands for the input character in an expansion
NOTHING = -2  # pads expansions to a common width
CAPITAL_SIGMA = 0x3A3
FINAL_SIGMA = 0x3C2
MAX_CODE_POINT = 0x10FFFF
ENTRY_MASK = 0xFFFF  # low bits of an info value: the expansion entry
CASED = 1 << 16  # not case-ignorable and cased (Python's str.lower() Final_Sigma rule)
CASE_IGNORABLE = 1 << 17
DELETED = 1 << 18  # the expansion is empty

# The original tokenizer's `_is_chinese_char` ranges (inclusive).
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_control(char: str) -> bool:
    """Cc or Cf, except tab, newline and carriage return (deleted by the original)."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def is_whitespace(char: str) -> bool:
    """Space, tab, newline, carriage return or Zs (replaced by a space by the original)."""
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_punctuation(char: str) -> bool:
    """Non-alphanumeric printable ASCII or any P* character (split off by the original)."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_cjk(cp: int) -> bool:
    """Whether the original puts spaces around code point `cp`."""
    return any(low <= cp <= high for low, high in CJK_RANGES)


def strip_accents(text: str) -> str:
    """NFD, then drop nonspacing marks (Mn), as the original does when lowercasing."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


@dataclasses.dataclass(frozen=True)
class CharTable:
    """Per-code-point answers.

    `info[cp]` holds the expansion entry (`info & ENTRY_MASK`) and the `CASED`,
    `CASE_IGNORABLE` and `DELETED` bits. Entry `e` expands to `expansions[e, :lengths[e]]`; the
    rest of the row is `NOTHING`. (A dense 4.4 MB table: a single gather in the graph.)
    """

    info: np.ndarray  # int32 [0x110000]
    expansions: np.ndarray  # int32 [num_entries, max_expansion]
    lengths: np.ndarray  # int32 [num_entries]
    final_sigma_entry: int  # the entry of a Σ in Final_Sigma context (expands to ς)


def _expansion(char: str, lower_case: bool) -> tuple[int, ...]:
    """What the original turns `char` into when it stands alone, with `SELF` for `char`."""
    cp = ord(char)
    if cp == 0 or cp == 0xFFFD or is_control(char):
        return ()
    if is_whitespace(char) or char.isspace():
        return (BOUNDARY,)
    text = strip_accents(char.lower()) if lower_case else char
    units = []
    for c in text:
        if is_punctuation(c):
            units += [BOUNDARY, ord(c), BOUNDARY]
        elif c.isspace():
            units.append(BOUNDARY)
        else:
            units.append(ord(c))
    if is_cjk(cp):
        units = [BOUNDARY, *units, BOUNDARY]
    collapsed = [u for i, u in enumerate(units) if u != BOUNDARY or units[i - 1 : i] != [BOUNDARY]]
    return tuple(SELF if u == cp else u for u in collapsed)


def _quick_expansion(
    char: str, category: str, cjk: bool, lower_case: bool
) -> tuple[int, ...] | None:
    """`_expansion(char, lower_case)` for the common cases (letters, digits and symbols that are
    left alone, CJK ideographs), or None when the full rule is needed."""
    cp = ord(char)
    if category[0] not in "LNS" or cp == 0xFFFD or cp < 0x80 and is_punctuation(char):
        return None
    if lower_case and not (char.lower() == char and unicodedata.is_normalized("NFD", char)):
        return None
    return (BOUNDARY, SELF, BOUNDARY) if cjk else (SELF,)


def _case_bits(char: str) -> int:
    """CASED / CASE_IGNORABLE bits of `char` as CPython's Final_Sigma rule sees them.

    CPython lowers Σ to ς when the nearest non-case-ignorable character before it is cased and
    the nearest one after it is not. Asking `str.lower()` recovers both properties.
    """
    cased_or_ignorable = ("A" + char + "Σ").lower()[-1] == "ς"
    cased = (char + "Σ").lower()[-1] == "ς"
    if cased:
        return CASED
    return CASE_IGNORABLE if cased_or_ignorable else 0


@functools.lru_cache(maxsize=4)
def char_table(lower_case: bool, compat: str = "google") -> CharTable:
    """The tables for the original tokenizer with `do_lower_case=lower_case` (cached), or with
    `compat="hf"` for HF BertTokenizerFast (`tfbert.text.hf_tables`; no Final_Sigma bits)."""
    if compat not in COMPATS:
        raise ValueError(f"`compat` must be one of {COMPATS}; got {compat!r}")
    hf = compat == "hf"
    in_cjk = np.zeros(MAX_CODE_POINT + 1, bool)
    for low, high in hf_tables.HF_CJK_RANGES if hf else CJK_RANGES:
        in_cjk[low : high + 1] = True
    overrides = hf_tables.exceptions(lower_case) if hf else {}
    full_rule = hf_tables.hf_expansion if hf else _expansion
    categories = list(map(unicodedata.category, map(chr, range(MAX_CODE_POINT + 1))))
    entries: dict[tuple[int, ...], int] = {(SELF,): 0}  # entry 0: the character itself
    info = np.zeros(MAX_CODE_POINT + 1, np.int32)
    for cp, category in enumerate(categories):
        char = chr(cp)
        if cp in overrides:
            units = overrides[cp]
        elif hf and category == "Co":
            units = ()  # HF deletes private use like a control character
        elif category in ("Cn", "Co", "Cs") and not in_cjk[cp]:
            continue  # unassigned, private use, surrogate: kept as they are, never cased
        else:
            units = _quick_expansion(char, category, in_cjk[cp], lower_case)
            if units is None:
                units = full_rule(char, lower_case)
        info[cp] = entries.setdefault(units, len(entries))
        if lower_case and not hf:
            info[cp] |= _case_bits(char)
    final_sigma_entry = entries.setdefault((FINAL_SIGMA,), len(entries))
    if len(entries) > ENTRY_MASK:
        raise ValueError(f"too many expansion entries for the info layout: {len(entries)}")
    width = max(len(units) for units in entries)
    expansions = np.full((len(entries), width), NOTHING, np.int32)
    lengths = np.zeros(len(entries), np.int32)
    for units, entry in entries.items():
        expansions[entry, : len(units)] = units
        lengths[entry] = len(units)
    info |= np.where(lengths[info & ENTRY_MASK] == 0, DELETED, 0).astype(np.int32)
    return CharTable(
        info=info,
        expansions=expansions,
        lengths=lengths,
        final_sigma_entry=final_sigma_entry,
    )


def expansion(table: CharTable, char: str) -> str:
    """The expansion of `char` as a string (for tests and examples)."""
    entry = table.info[ord(char)] & ENTRY_MASK
    units = table.expansions[entry, : table.lengths[entry]]
    return "".join(char if u == SELF else chr(u) for u in units)
