"""Vocabulary files read exactly as the original `load_vocab` reads them."""
from __future__ import annotations

import pytest
from official.nlp.tools import tokenization

from tfbert.text.vocab import SPECIAL_TOKENS, load_vocab, special_token_ids


def test_reads_like_the_original(tmp_path):
    path = tmp_path / "vocab.txt"
    text = "[PAD]\n  [UNK] \r\n[CLS]\n\n[SEP]\t\n[MASK]\nx\u00a0\nab\x0bcd\nend"  # no final newline
    path.write_bytes(text.encode("utf-8"))
    tokens = load_vocab(path)
    original = tokenization.load_vocab(str(path))
    assert tokens == list(original)
    assert special_token_ids(tokens) == {t: original[t] for t in SPECIAL_TOKENS}


def test_duplicates_take_the_last_id(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n[UNK]\n", encoding="utf-8")
    assert special_token_ids(load_vocab(path))["[UNK]"] == 5
    assert tokenization.load_vocab(str(path))["[UNK]"] == 5


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="`vocab_file` does not exist"):
        load_vocab(tmp_path / "nope.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="`vocab_file` is empty"):
        load_vocab(empty)
    with pytest.raises(ValueError, match=r"lacks the special tokens \['\[MASK\]'\]"):
        special_token_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
