"""BertNormalizer against the original BasicTokenizer."""
from __future__ import annotations

import random

import pytest
import tensorflow as tf
from official.nlp.tools import tokenization

from tfbert.text.normalizer import BertNormalizer


def _words(normalizer, lines):
    return [[w.decode() for w in row] for row in normalizer(tf.constant(lines)).words.to_list()]


def test_words_match_original_on_stress_corpus(stress_lines, lower_case):
    basic = tokenization.BasicTokenizer(do_lower_case=lower_case)
    expected = [basic.tokenize(line) for line in stress_lines]
    assert _words(BertNormalizer(lower_case), stress_lines) == expected


def test_final_sigma_in_random_contexts():
    """Σ among cased, case-ignorable, deleted, spacing, CJK and other characters."""
    pool = list("ΣΣΣΑβaZ1 .'’:·\u0301\u0345\u200d\u200b\x01\u3000中-ʰᵃ\u00ad,ﬁǅ\U0001d400")
    rng = random.Random(7)
    lines = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    basic = tokenization.BasicTokenizer(do_lower_case=True)
    assert _words(BertNormalizer(True), lines) == [basic.tokenize(s) for s in lines]


def test_char_sources_point_into_the_input(stress_lines, lower_case):
    basic = tokenization.BasicTokenizer(do_lower_case=lower_case)
    normalized = BertNormalizer(lower_case)(tf.constant(stress_lines))
    word_rows = normalized.words.value_rowids().numpy()
    for row, chars, sources in zip(
        word_rows, normalized.word_chars.to_list(), normalized.char_sources.to_list()
    ):
        line = stress_lines[row]
        assert sources == sorted(sources) and 0 <= sources[0] and sources[-1] < len(line)
        for char, source in zip(chars, sources):
            produced = "".join(basic.tokenize(line[source])).replace("ς", "σ")
            assert chr(char).replace("ς", "σ") in produced, (line, source)


@pytest.mark.parametrize("lines", [[], [""], ["", " \t\u3000", "\x00\u200b"]])
def test_empty_inputs(lines):
    normalized = BertNormalizer(True)(tf.constant(lines, tf.string))
    assert normalized.words.to_list() == [[] for _ in lines]
    assert normalized.word_chars.nrows() == 0
