"""FastPath: the texts it accepts get the original's ids."""
from __future__ import annotations

import tensorflow as tf

from tests.text import unicode_corpus
from tfbert.text.fast_path import FastPath


def test_accepted_lines_match_original(stress_lines, tokenizer, original_tokenizer, lower_case):
    lines = stress_lines + list(unicode_corpus.docstring_lines())
    fast = FastPath(tokenizer.vocabulary, lower_case, max_chars_per_word=200)
    accepted = [line for line, ok in zip(lines, fast.accepts(tf.constant(lines)).numpy()) if ok]
    assert len(accepted) > 15_000
    assert sum(line in stress_lines for line in accepted) > 100
    original = original_tokenizer
    want = [original.convert_tokens_to_ids(original.tokenize(s)) for s in accepted]
    assert fast.tokenize(tf.constant(accepted)).to_list() == want


def test_what_is_accepted(tokenizer, lower_case):
    fast = FastPath(tokenizer.vocabulary, lower_case, max_chars_per_word=200)
    lines = ["Plain ASCII, with “quotes” — and 中文.", "Café", "tab\there", "a\x00b", "a\x7fb",
             "ΟΔΟΣ", "\ue000", "zero\u200bwidth", "ﬁne", "x\u2028y", "\xff\xfe".encode("latin-1")]
    accepted = fast.accepts(tf.constant(lines)).numpy().tolist()
    # Rejected: controls (tf-text makes them spaces), Greek (Final_Sigma), private use and "ﬁ"
    # (ICU case folding makes "fi", Python's lower() keeps "ﬁ"), invalid UTF-8. tf-text's
    # lowercasing deletes format characters such as U+200B, as the original does.
    assert accepted == [True, lower_case, True, False, False, False, False, lower_case, False,
                        True, False]


def test_short_word_limit_keeps_to_ascii(tokenizer):
    """Below 4 characters per word a one-character word could exceed the limit in bytes."""
    fast = FastPath(tokenizer.vocabulary, lower_case=True, max_chars_per_word=3)
    accepted = fast.accepts(tf.constant(["ab, cd", "ab 中", "a — b"])).numpy().tolist()
    assert accepted == [True, False, False]
