"""`MaskedTextTokenizer`: a `BertTokenizer` that reads a literal "[MASK]" as the mask token.

`BertTokenizer` treats raw text as plain text, as the original BERT does, so "[MASK]" becomes
the pieces "[", "mask", "]". A fill-in-the-blank model needs the [MASK] id where the user
wrote "[MASK]": this tokenizer splits each text at "[MASK]", tokenizes the parts and puts the
[MASK] id between them.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "[", "]", "mask"]
>>> _ = open(path, "w").write("\\n".join(tokens) + "\\n")
>>> MaskedTextTokenizer(path)(tf.constant(["the [MASK] cat[MASK]", "[mask]"])).to_list()
[[5, 4, 6, 4], [7, 9, 8]]
"""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.text.tokenizer import BertTokenizer, string_tensor
from tfbert.text.vocab import MASK


@keras.saving.register_keras_serializable(package="tfbert")
class MaskedTextTokenizer(BertTokenizer):
    """Tokenizes like `BertTokenizer`, except that each exact "[MASK]" becomes the [MASK] id.

    Only the exact upper-case spelling counts (as in Hugging Face's fill-mask); "[mask]" is
    ordinary text. Takes the same arguments as `BertTokenizer`; input must be rank 1.
    """

    @tf.autograph.experimental.do_not_convert
    def call(self, text) -> tf.RaggedTensor:
        """WordPiece ids of `text` (tf.string [N] → int32 [N, (tokens)]) with [MASK] kept."""
        text = string_tensor(text, "text")
        if text.shape.rank != 1:
            raise ValueError(f"`text` must have shape [batch]; got shape {text.shape}")
        parts = tf.strings.split(text, sep=MASK)  # [N, (parts)]; "a[MASK]b" → "a", "b"
        pieces = super().call(parts.flat_values)  # [P, (tokens)]
        # Every part but the last of its text is followed by one [MASK].
        row_lengths = parts.row_lengths()
        is_last = tf.equal(tf.range(tf.size(parts.flat_values, out_type=tf.int64)),
                           tf.gather(parts.row_splits[1:], parts.value_rowids()) - 1)
        mask_count = tf.cast(~is_last, tf.int64)  # [P]
        masks = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(mask_count)], self.special_ids[MASK]), mask_count)
        pieces = tf.concat([pieces, masks], axis=1)  # [P, (tokens + 1 or 0)]
        return tf.RaggedTensor.from_row_lengths(pieces, row_lengths).merge_dims(1, 2)
