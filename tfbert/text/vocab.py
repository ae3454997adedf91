"""WordPiece vocabulary files: reading them as the original BERT does, and their special tokens.

A vocabulary file has one token per line; the line number (from 0) is the token's id. Lines are
stripped of surrounding whitespace, as the original `load_vocab` does. The model code reads the
special ids from the vocabulary and never hard-codes them.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> _ = open(path, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nhello\\n")
>>> tokens = load_vocab(path)
>>> tokens[-1], special_token_ids(tokens)
('hello', {'[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, '[MASK]': 4})
"""
from __future__ import annotations

import os

import tensorflow as tf

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)


def load_vocab(vocab_file: str | os.PathLike) -> list[str]:
    """The tokens of `vocab_file`, one per line, stripped; raises if it is missing or empty."""
    path = os.fspath(vocab_file)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"`vocab_file` does not exist: {path!r}")
    with tf.io.gfile.GFile(path, "rb") as reader:
        text = reader.read().decode("utf-8", "ignore")
    lines = text.split("\n")  # like the original's readline(): "\n" ends a line, nothing else
    if lines[-1] == "":
        lines.pop()
    tokens = [line.strip() for line in lines]
    if not any(tokens):
        raise ValueError(f"`vocab_file` is empty; expected one token per line: {path!r}")
    return tokens


def is_uncased(tokens: list[str]) -> bool:
    """Whether a vocabulary is for lower-cased text: no token but the bracketed special ones
    ([CLS], [unused0], ...) has an upper-case letter.

    >>> is_uncased(["[CLS]", "hello", "##s"]), is_uncased(["[CLS]", "Hello"])
    (True, False)
    """
    return not any(token != token.lower() for token in tokens
                   if not (token.startswith("[") and token.endswith("]")))


def special_token_ids(tokens: list[str]) -> dict[str, int]:
    """Ids of [PAD], [UNK], [CLS], [SEP] and [MASK]; raises if any of them is missing.

    A token listed twice takes its last id, as in the original tokenizer.
    """
    ids = {token: index for index, token in enumerate(tokens)}
    missing = [token for token in SPECIAL_TOKENS if token not in ids]
    if missing:
        raise ValueError(
            f"the vocabulary lacks the special tokens {missing}; expected all of "
            f"{list(SPECIAL_TOKENS)} in `vocab_file` (found {len(tokens)} tokens)"
        )
    return {token: ids[token] for token in SPECIAL_TOKENS}
