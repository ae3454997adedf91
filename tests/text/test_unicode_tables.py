"""The character tables against the original tokenizer, character by character."""
from __future__ import annotations

import random
import unicodedata

import pytest
from official.nlp.tools import tokenization

from tfbert.text import unicode_tables
from tfbert.text.unicode_tables import CASE_IGNORABLE, CASED, MAX_CODE_POINT


def _code_points_to_check() -> list[int]:
    """Every assigned code point and CJK range member, plus a sample of the rest."""
    rng = random.Random(0)
    checked = []
    for cp in range(MAX_CODE_POINT + 1):
        category = unicodedata.category(chr(cp))
        if category == "Cs":
            continue
        if category not in ("Cn", "Co") or unicode_tables.is_cjk(cp) or rng.random() < 0.002:
            checked.append(cp)
    return checked


@pytest.mark.parametrize("lower_case", [True, False], ids=["uncased", "cased"])
def test_every_character_expands_as_the_original_splits_it(lower_case):
    basic = tokenization.BasicTokenizer(do_lower_case=lower_case)
    table = unicode_tables.char_table(lower_case)
    wrong = []
    for cp in _code_points_to_check():
        text = f"x{chr(cp)}x"
        expected = basic.tokenize(text)
        if (f"x{unicode_tables.expansion(table, chr(cp))}x").split() != expected:
            wrong.append((hex(cp), expected))
    assert not wrong, wrong[:10]


def test_case_bits_drive_final_sigma_like_python():
    """For each character c: is Σ final after it, before it, and after "A" + c?"""
    table = unicode_tables.char_table(True)
    for cp in _code_points_to_check()[::7]:
        c = chr(cp)
        bits = table.info[cp]
        cased = bool(bits & CASED)
        ignorable = bool(bits & CASE_IGNORABLE)
        assert not (cased and ignorable)
        assert (("A" + c + "Σ").lower()[-1] == "ς") == (cased or ignorable), hex(cp)
        assert ((c + "Σ").lower()[-1] == "ς") == cased, hex(cp)
        assert (("AΣ" + c).lower()[1] == "ς") == (not cased), hex(cp)


def test_tables_are_cached_and_small():
    assert unicode_tables.char_table(True) is unicode_tables.char_table(True)
    table = unicode_tables.char_table(True)
    assert table.expansions.shape[1] == 3  # at most 3 units: " x " or a Hangul syllable's jamo
    assert len(table.expansions) < 1 << 14  # entries and the three bits fit in 17 bits
    deleted = (table.info & unicode_tables.DELETED) != 0
    assert (deleted == (table.lengths[table.info & unicode_tables.ENTRY_MASK] == 0)).all()
