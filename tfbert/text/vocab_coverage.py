"""How much of a corpus a vocabulary covers: the share of its characters that become [UNK].

The corpus is tokenized with `BertTokenizer` on the vocabulary file, exactly as training and
serving will tokenize it, and every character is traced through the token offsets: a character
is counted if a token covers it (whitespace and the characters normalization deletes are not),
and is unknown if that token is [UNK] (an [UNK] covers its whole word). Chinese characters are
the CJK ideographs of the original tokenizer's `_is_chinese_char` ranges.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> vocab = os.path.join(folder, "vocab.txt")
>>> _ = open(vocab, "w").write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
...                                         "中", "文", "ok"]))
>>> corpus = os.path.join(folder, "corpus.txt")
>>> _ = open(corpus, "w").write("中文好 ok\\nno\\n")
>>> share = unknown_share([corpus], vocab)
>>> share.characters, share.unknown_characters, share.cjk_characters, share.unknown_cjk_characters
(7, 3, 3, 1)
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import tensorflow as tf

from tfbert.text.tokenizer import BertTokenizer
from tfbert.text.unicode_tables import CJK_RANGES

LINES_PER_BATCH = 1024


class UnknownShare(NamedTuple):
    """Character counts of a corpus tokenized with a vocabulary."""

    lines: int  # lines read
    characters: int  # characters inside tokens
    unknown_characters: int  # of those, inside [UNK] tokens
    cjk_characters: int
    unknown_cjk_characters: int

    @property
    def unknown_rate(self) -> float:
        return self.unknown_characters / max(self.characters, 1)

    @property
    def unknown_cjk_rate(self) -> float:
        return self.unknown_cjk_characters / max(self.cjk_characters, 1)

    def describe(self) -> str:
        """One line: both shares and what they were measured on."""
        return (f"[UNK] takes {self.unknown_rate:.3%} of {self.characters:,} characters and "
                f"{self.unknown_cjk_rate:.3%} of {self.cjk_characters:,} Chinese characters "
                f"({self.lines:,} lines tokenized)")


def unknown_share(
    files: Sequence[str | os.PathLike],
    vocab_file: str | os.PathLike,
    lower_case: bool = True,
    max_lines: int | None = None,
) -> UnknownShare:
    """Counts the characters of `files` (the first `max_lines` lines if set) that become
    [UNK] when `BertTokenizer(vocab_file, lower_case)` tokenizes them."""
    if isinstance(files, (str, bytes, os.PathLike)):
        raise TypeError(f"`files` must be a list of paths; got a single path {files!r}")
    if max_lines is not None and (not isinstance(max_lines, int) or max_lines < 1):
        raise ValueError(f"`max_lines` must be None or a positive int; got {max_lines!r}")
    tokenizer = BertTokenizer(vocab_file, lower_case=lower_case)
    unk = tokenizer.special_ids["[UNK]"]
    dataset = tf.data.TextLineDataset([os.fspath(path) for path in files])
    if max_lines is not None:
        dataset = dataset.take(max_lines)

    @tf.autograph.experimental.do_not_convert
    def count(lines):  # tf.string [N] -> int64 [5]
        ids, starts, ends = tokenizer.tokenize_with_offsets(lines)
        chars = tf.strings.unicode_decode(lines, "UTF-8", errors="replace")  # as the tokenizer
        text_start = tf.gather(chars.row_splits, ids.value_rowids())  # [P] per token
        spans = tf.ragged.range(tf.cast(starts.flat_values, tf.int64),
                                tf.cast(ends.flat_values, tf.int64))  # [P, (chars)]
        positions = spans + text_start[:, None]  # into chars.flat_values
        is_unk = tf.repeat(ids.flat_values == unk, spans.row_lengths())
        num_chars = tf.size(chars.flat_values)

        def marked(at):  # bool [C]: the characters at positions `at`
            return tf.math.bincount(tf.cast(at, tf.int32), minlength=num_chars,
                                    maxlength=num_chars) > 0

        covered = marked(positions.flat_values)
        unknown = marked(tf.boolean_mask(positions.flat_values, is_unk))
        code_points = chars.flat_values
        cjk = tf.zeros_like(covered)
        for low, high in CJK_RANGES:
            cjk |= (code_points >= low) & (code_points <= high)

        def total(mask):
            return tf.reduce_sum(tf.cast(mask, tf.int64))

        return tf.stack([tf.size(lines, out_type=tf.int64), total(covered), total(unknown),
                         total(covered & cjk), total(unknown & cjk)])

    totals = dataset.batch(LINES_PER_BATCH).map(count, num_parallel_calls=tf.data.AUTOTUNE)
    summed = totals.reduce(tf.zeros([5], tf.int64), lambda so_far, counts: so_far + counts)
    return UnknownShare(*(int(value) for value in summed.numpy()))
