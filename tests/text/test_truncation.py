"""Pair truncation against Hugging Face, the original BERT code and tf-text."""
from __future__ import annotations

import itertools

import pytest
import tensorflow as tf
import tensorflow_text as tf_text
from official.nlp.data.classifier_data_lib import _truncate_seq_pair
from transformers import BertTokenizerFast

from tfbert.text.truncation import keep_first, pair_lengths

LENGTHS = range(0, 13)
BUDGETS = range(0, 16)
GRID = list(itertools.product(BUDGETS, LENGTHS, LENGTHS))  # (budget, length_a, length_b)


def _ours(strategy: str) -> list[tuple[int, int]]:
    budget, a, b = (tf.constant(column) for column in zip(*GRID))
    keep_a, keep_b = pair_lengths(a, b, budget, strategy)
    return list(zip(keep_a.numpy().tolist(), keep_b.numpy().tolist()))


def test_longest_first_matches_hugging_face(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n", encoding="utf-8")
    hf = BertTokenizerFast(str(path))
    expected = []
    pairs = list(itertools.product(LENGTHS, LENGTHS))
    for budget in BUDGETS:
        texts_a = ["a " * la for la, _ in pairs]
        texts_b = ["b " * lb for _, lb in pairs]
        packed = hf(texts_a, texts_b, truncation="longest_first", max_length=budget + 3)
        expected += [(ids.count(5), ids.count(6)) for ids in packed["input_ids"]]
    assert _ours("longest_first") == expected


def test_round_robin_matches_original_bert_and_tf_text():
    expected = []
    for budget, la, lb in GRID:
        a, b = ["a"] * la, ["b"] * lb
        _truncate_seq_pair(a, b, budget)
        expected.append((len(a), len(b)))
    assert _ours("round_robin") == expected
    trimmed = []
    pairs = list(itertools.product(LENGTHS, LENGTHS))
    for budget in BUDGETS:
        segments = [tf.ragged.range([pair[i] for pair in pairs]) for i in (0, 1)]
        a, b = tf_text.RoundRobinTrimmer(budget).trim(segments)
        trimmed += zip(a.row_lengths().numpy().tolist(), b.row_lengths().numpy().tolist())
    assert _ours("round_robin") == trimmed


def test_strategies_differ_only_on_odd_budgets_when_both_are_cut():
    for (budget, la, lb), ours, original in zip(GRID, _ours("longest_first"), _ours("round_robin")):
        both_cut = 2 * min(la, lb) > budget
        assert (ours != original) == (both_cut and budget % 2 == 1 and la <= lb)


def test_keep_first():
    ids = tf.ragged.constant([[1, 2, 3], [], [4, 5]])
    assert keep_first(ids, tf.constant([2, 1, 5])).to_list() == [[1, 2], [], [4, 5]]


def test_unknown_strategy():
    with pytest.raises(ValueError, match="`truncation` must be one of"):
        pair_lengths(tf.constant([1]), tf.constant([1]), 3, "only_first")
