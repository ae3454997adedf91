"""Shared fixtures: the stress corpus, test vocabularies and the reference tokenizations."""
from __future__ import annotations

import collections

import pytest
from official.nlp.tools import tokenization

from tests.text import unicode_corpus
from tfbert.text.vocab_learner import RESERVED_TOKENS, write_vocab

NUM_WORDS = 3000  # whole docstring words in a test vocabulary
NUM_AFFIXES = 1500  # frequent prefixes, and as many "##" suffixes
ORIGINAL_MAX_CHARS = 200  # original BERT's max_input_chars_per_word


def build_test_vocab(lower_case: bool) -> list[str]:
    """A vocabulary that makes the stress corpus exercise every WordPiece path.

    Built with the original `BasicTokenizer` (not tfbert code): frequent docstring words,
    frequent prefixes and "##" suffixes (so rarer words split into several pieces), and every
    character the stress corpus can produce, as a word start and as a suffix, except those
    whose code point is a multiple of 5 (so words containing them become [UNK]).
    """
    basic = tokenization.BasicTokenizer(do_lower_case=lower_case)
    counts = collections.Counter(
        word for line in unicode_corpus.docstring_lines() for word in basic.tokenize(line)
    )
    raw_chars = {c for line in unicode_corpus.stress_lines() for c in line} | set("ς")
    chars = {c for raw in raw_chars for word in basic.tokenize(raw) for c in word}
    chars.update(c for word in counts for c in word)
    kept_chars = sorted(c for c in chars if c.isascii() or ord(c) % 5 != 0)
    prefixes: collections.Counter = collections.Counter()
    suffixes: collections.Counter = collections.Counter()
    for word, count in counts.items():
        for n in range(2, min(len(word), 5)):
            prefixes[word[:n]] += count
            suffixes["##" + word[-n:]] += count
    tokens = [
        *RESERVED_TOKENS,
        *kept_chars,
        *("##" + c for c in kept_chars),
        *(word for word, _ in counts.most_common(NUM_WORDS)),
        *(prefix for prefix, _ in prefixes.most_common(NUM_AFFIXES)),
        *(suffix for suffix, _ in suffixes.most_common(NUM_AFFIXES)),
    ]
    return list(dict.fromkeys(t for t in tokens if t.strip() == t and t))


@pytest.fixture(scope="session")
def stress_lines() -> list[str]:
    return unicode_corpus.stress_lines()


@pytest.fixture(scope="session", params=[True, False], ids=["uncased", "cased"])
def lower_case(request) -> bool:
    return request.param


@pytest.fixture(scope="session")
def vocab_file(lower_case, tmp_path_factory) -> str:
    """A test vocabulary written to vocab.txt (uncased or cased, following `lower_case`)."""
    path = tmp_path_factory.mktemp("uncased" if lower_case else "cased") / "vocab.txt"
    write_vocab(build_test_vocab(lower_case), path)
    return str(path)


@pytest.fixture(scope="session")
def original_tokenizer(vocab_file, lower_case) -> tokenization.FullTokenizer:
    """Model Garden's copy of the original tokenizer, with original BERT's 200-char limit."""
    tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=lower_case)
    tokenizer.wordpiece_tokenizer.max_input_chars_per_word = ORIGINAL_MAX_CHARS
    return tokenizer


@pytest.fixture(scope="session")
def original_ids(original_tokenizer, stress_lines) -> list[list[int]]:
    """The original tokenizer's ids for every stress line."""
    tok = original_tokenizer
    return [tok.convert_tokens_to_ids(tok.tokenize(line)) for line in stress_lines]


@pytest.fixture(scope="session")
def tokenizer(vocab_file, lower_case):
    """tfbert's tokenizer on the test vocabulary, with the original 200-character limit."""
    from tfbert.text.tokenizer import BertTokenizer

    return BertTokenizer(vocab_file, lower_case=lower_case)


@pytest.fixture(scope="session")
def hf_tokenizer(vocab_file, lower_case):
    """Hugging Face's fast BERT tokenizer on the test vocabulary (100-character limit).

    The path goes in positionally: transformers 5 builds a 5-token vocabulary from
    `vocab_file=`. `split_special_tokens` keeps "[UNK]" in the text an ordinary word.
    """
    from transformers import BertTokenizerFast

    tokenizer = BertTokenizerFast(vocab_file, do_lower_case=lower_case, split_special_tokens=True)
    if len(tokenizer.get_vocab()) != open(vocab_file, encoding="utf-8").read().count("\n"):
        raise RuntimeError("BertTokenizerFast did not load the test vocabulary")
    return tokenizer
