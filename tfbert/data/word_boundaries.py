"""Which tokens continue the word before them as Chinese words, in the graph.

In a corpus prepared by `tfbert.data.segmentation` (jieba words separated by spaces between
CJK ideographs), a token continues a Chinese word when it and the token before it in the same
line are both one CJK ideograph (or the [UNK] of one) and no character lies between them.
Tokens of other scripts are never marked here: for them the masker's "##" rule decides.

>>> import os, tempfile
>>> vocab = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> _ = open(vocab, "w").write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
...                                         "中", "国", "人", "ok"]))
>>> from tfbert.text import BertTokenizer
>>> continues_chinese_word(BertTokenizer(vocab), tf.constant(["中国 人ok国"])).to_list()
[[False, True, False, False, False]]
"""
from __future__ import annotations

import tensorflow as tf

from tfbert.text.tokenizer import BertTokenizer
from tfbert.text.unicode_tables import CJK_RANGES


def continues_chinese_word(tokenizer: BertTokenizer, lines: tf.Tensor) -> tf.RaggedTensor:
    """bool [N, (tokens)] for `lines` (tf.string [N]), aligned with `tokenizer(lines)`."""
    _, starts, ends = tokenizer.tokenize_with_offsets(lines)
    chars = tf.strings.unicode_decode(lines, "UTF-8", errors="replace")  # as the tokenizer
    first_char = tf.gather(chars.row_splits, starts.value_rowids()) + tf.cast(
        starts.flat_values, tf.int64)
    code_points = tf.gather(chars.flat_values, tf.minimum(
        first_char, tf.maximum(tf.size(chars.flat_values, tf.int64) - 1, 0)))
    is_cjk = tf.zeros_like(starts.flat_values, tf.bool)
    for low, high in CJK_RANGES:
        is_cjk |= (code_points >= low) & (code_points <= high)
    is_cjk &= (ends.flat_values - starts.flat_values) == 1
    row_starts = tf.scatter_nd(  # bool [P]: the first token of its line
        starts.row_splits[:-1, None], tf.ones_like(starts.row_splits[:-1]),
        tf.size(is_cjk, tf.int64)[None] + 1)[:-1] > 0
    previous_cjk = tf.pad(is_cjk[:-1], [[1, 0]])
    previous_end = tf.pad(ends.flat_values[:-1], [[1, 0]], constant_values=-1)
    joins = is_cjk & previous_cjk & ~row_starts & tf.equal(previous_end, starts.flat_values)
    return starts.with_flat_values(joins)
