"""The original BERT `BasicTokenizer` as TensorFlow ops: strings in, words out.

The per-character decisions come from `tfbert.text.unicode_tables` (Python's own `unicodedata`
and `str.lower()`, i.e. the original's behaviour); this module applies them to a batch with core
TF ops only (`unicode_decode`, `gather`, `where`, `searchsorted`, `unicode_encode`), so the
result is the same in eager mode, in `tf.function`, in `tf.data` and in a SavedModel served by
TF Serving.

>>> normalizer = BertNormalizer(lower_case=True)
>>> words = normalizer(tf.constant(["Héllo, WORLD!", "", "ΟΔΟΣ\\u200b中文 x\\ty"])).words
>>> [[w.decode() for w in row] for row in words.to_list()]
[['hello', ',', 'world', '!'], [], ['οδος', '中', '文', 'x', 'y']]
"""
from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from tfbert.text import unicode_tables
from tfbert.text.unicode_tables import (
    BOUNDARY,
    CASE_IGNORABLE,
    CASED,
    DELETED,
    ENTRY_MASK,
    NOTHING,
)

_UNIT_MASK = (1 << 21) - 1  # code points have 21 bits; SELF (-1) masks to all ones


class NormalizedText(NamedTuple):
    """Words of a batch of N texts, and where each of their characters came from.

    `words[i]` are the words of text i (tf.string, ragged [N, (words)]). `word_chars[w]` are the
    code points of word w in the flattened list of all words (ragged [W, (chars)]), and
    `char_sources[w, k]` is the code point index, in its input text, of the character that
    produced `word_chars[w, k]`.
    """

    words: tf.RaggedTensor
    word_chars: tf.RaggedTensor
    char_sources: tf.RaggedTensor


class BertNormalizer:
    """Cleans, case-folds and splits text exactly like the original `BasicTokenizer`.

    Args:
        lower_case: lowercase with Python's `str.lower()` and strip accents (NFD, drop Mn), as
            the original does for uncased models.
        compat: "google" for the original; "hf" for HF BertTokenizerFast's normalizer and
            pre-tokenizer (`tfbert.text.hf_tables`: no Final_Sigma, Σ lowers to σ).
    """

    def __init__(self, lower_case: bool, compat: str = "google"):
        table = unicode_tables.char_table(lower_case, compat)
        self.lower_case = lower_case
        self.compat = compat
        self._info = tf.constant(table.info)
        self._expansions = tf.constant(table.expansions)  # [entries, width], NOTHING-padded
        self._width = table.expansions.shape[1]
        self._final_sigma_entry = table.final_sigma_entry

    @tf.autograph.experimental.do_not_convert  # plain TF ops; skip autograph's slow tracing
    def __call__(self, text: tf.Tensor) -> NormalizedText:
        """Normalizes and splits `text` (tf.string [N])."""
        chars = tf.strings.unicode_decode(text, "UTF-8", errors="replace")  # [N, (C)]
        code_points = chars.flat_values  # [C]; invalid UTF-8 became U+FFFD, which is deleted
        row_splits = chars.row_splits  # [N + 1]
        info = tf.gather(self._info, code_points)  # [C]
        entries = tf.bitwise.bitwise_and(info, ENTRY_MASK)
        if self.lower_case and self.compat == "google":
            entries = self._final_sigma(code_points, info, entries, row_splits)

        # Every character becomes up to `width` units: code points, or BOUNDARY between words.
        expanded = tf.gather(self._expansions, entries)  # [C, width]
        slots = tf.reshape(expanded, [-1])  # [C * width]
        kept = tf.where(slots != NOTHING)[:, 0]  # [U]
        units = tf.gather(slots, kept)  # [U]
        unit_chars = kept // self._width  # [U] index of the source character
        # A text's first unit starts a word even if the text before ends inside one.
        text_starts = tf.searchsorted(unit_chars, row_splits, out_type=tf.int64)  # [N + 1]
        starts_text = tf.scatter_nd(  # empty texts (and the end) point at U, dropped by the slice
            text_starts[:, None], tf.ones_like(text_starts), tf.size(units, tf.int64)[None] + 1
        )[:-1] > 0

        # Words are the runs of non-boundary units. One gather moves unit, word start and source
        # together, packed as source << 22 | starts_word << 21 | unit (21 bits; SELF = all ones).
        in_word = units != BOUNDARY
        starts_word = in_word & (starts_text | ~tf.roll(in_word, 1, axis=0))
        packed = (
            tf.bitwise.left_shift(unit_chars, 22)
            | tf.bitwise.left_shift(tf.cast(starts_word, tf.int64), 21)
            | tf.cast(tf.bitwise.bitwise_and(units, _UNIT_MASK), tf.int64)
        )
        packed = tf.gather(packed, tf.where(in_word)[:, 0])  # [K]
        sources = tf.bitwise.right_shift(packed, 22)  # [K] source character of each unit
        word_units = tf.cast(tf.bitwise.bitwise_and(packed, _UNIT_MASK), tf.int32)
        word_units = tf.where(word_units == _UNIT_MASK, tf.gather(code_points, sources), word_units)
        word_starts = tf.where(tf.bitwise.bitwise_and(packed, 1 << 21) != 0)[:, 0]  # [W]
        word_splits = tf.concat([word_starts, tf.size(word_units, tf.int64)[None]], axis=0)
        word_chars = tf.RaggedTensor.from_row_splits(word_units, word_splits, validate=False)
        words = tf.strings.unicode_encode(word_chars, "UTF-8")  # [W]
        word_rows = _row_of(row_splits, tf.gather(sources, word_starts))  # [W]
        sources -= tf.gather(row_splits, _row_of(row_splits, sources))  # position in its text
        return NormalizedText(
            words=tf.RaggedTensor.from_value_rowids(
                words, word_rows, nrows=chars.nrows(), validate=False
            ),
            word_chars=word_chars,
            char_sources=tf.RaggedTensor.from_row_splits(
                tf.cast(sources, tf.int32), word_splits, validate=False
            ),
        )

    def _final_sigma(self, code_points, info, entries, row_splits) -> tf.Tensor:
        """Switches each Σ in Final_Sigma context to the ς entry (Python's `str.lower()` rule).

        Σ is final when the nearest character before it that is not case-ignorable is cased and
        the nearest such character after it is not. Deleted characters do not count; spaces,
        CJK ideographs and the start or end of the text are "not cased".
        """
        sigmas = tf.where(code_points == unicode_tables.CAPITAL_SIGMA)[:, 0]  # [S]

        def switch_final_sigmas():
            skipped = tf.bitwise.bitwise_and(info, CASE_IGNORABLE | DELETED)
            anchors = skipped == 0  # [C] the characters the rule looks at
            anchor_positions = tf.where(anchors)[:, 0]  # [A]
            sigma_rank = tf.searchsorted(anchor_positions, sigmas, out_type=tf.int64)  # [S]
            num_anchors = tf.size(anchor_positions, out_type=tf.int64)
            sigma_rows = _row_of(row_splits, sigmas)

            def cased_anchor(ranks):
                position = tf.gather(anchor_positions, tf.clip_by_value(ranks, 0, num_anchors - 1))
                exists = (ranks >= 0) & (ranks < num_anchors)
                same_text = _row_of(row_splits, position) == sigma_rows
                cased = tf.bitwise.bitwise_and(tf.gather(info, position), CASED) != 0
                return exists & same_text & cased

            final = cased_anchor(sigma_rank - 1) & ~cased_anchor(sigma_rank + 1)  # [S]
            new_entries = tf.where(final, self._final_sigma_entry, tf.gather(entries, sigmas))
            return tf.tensor_scatter_nd_update(entries, sigmas[:, None], new_entries)

        return tf.cond(tf.size(sigmas) > 0, switch_final_sigmas, lambda: entries)


def _row_of(row_splits: tf.Tensor, positions: tf.Tensor) -> tf.Tensor:
    """The row (int64) of each flat position, given the rows' `row_splits`."""
    return tf.searchsorted(row_splits, positions, side="right", out_type=tf.int64) - 1
