"""`BertPreprocessor`: raw strings (or string pairs) to the three BERT input features.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "is", "it", "yes", "?", "!"]
>>> _ = open(path, "w").write("\\n".join(tokens) + "\\n")
>>> preprocessor = BertPreprocessor(BertTokenizer(path), seq_length=8)
>>> features = preprocessor(tf.constant(["Is it?"]), tf.constant(["Yes!"]))
>>> {name: value.numpy().tolist() for name, value in features.items()}
{'input_word_ids': [[2, 5, 6, 8, 3, 7, 9, 3]], 'input_mask': [[1, 1, 1, 1, 1, 1, 1, 1]], \
'input_type_ids': [[0, 0, 0, 0, 0, 1, 1, 1]]}
>>> serving = BertPreprocessor(BertTokenizer(path), seq_length=8, padding="longest")
>>> serving(tf.constant(["yes", "is it"]))["input_word_ids"].numpy().tolist()
[[2, 7, 3, 0], [2, 5, 6, 3]]
"""
from __future__ import annotations

import keras
import tensorflow as tf

from tfbert.text.tokenizer import BertTokenizer, string_tensor
from tfbert.text.truncation import TRUNCATION_STRATEGIES, keep_first, pair_lengths
from tfbert.text.vocab import CLS, PAD, SEP

PADDINGS = ("max_length", "longest")
FEATURES = ("input_word_ids", "input_mask", "input_type_ids")


def _batch(text, name: str) -> tf.Tensor:
    """`text` as tf.string [N]: shape [N] as is, [N, 1] squeezed; anything else is an error."""
    text = string_tensor(text, name)
    if text.shape.rank == 2 and text.shape[1] == 1:
        return tf.squeeze(text, axis=1)
    if text.shape.rank != 1:
        raise ValueError(
            f"`{name}` must be a batch of strings of shape [batch] or [batch, 1]; "
            f"got shape {text.shape}"
        )
    return text


@keras.saving.register_keras_serializable(package="tfbert")
class BertPreprocessor(keras.layers.Layer):
    """Packs one or two texts per example into `input_word_ids`, `input_mask`, `input_type_ids`.

    `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]` (type ids 0 for the first part, 1 for b and its
    [SEP]), truncated to `seq_length` tokens and padded with [PAD] ids and mask 0. With a second
    input, every example is packed as a pair, even if its b is empty (as Hugging Face does for
    batches; the original BERT scripts pack an empty b as a single sentence).

    Args:
        tokenizer: the `BertTokenizer` whose vocabulary gives the [CLS], [SEP], [PAD] ids.
        seq_length: the packed length, at least 3.
        truncation: "longest_first" (Hugging Face) or "round_robin" (original BERT, tf-text);
            see `tfbert.text.truncation`. A single text is simply cut.
        padding: "max_length" pads to `seq_length` (static shapes, for training);
            "longest" pads to the longest example of the batch (for serving).
    """

    def __init__(
        self,
        tokenizer: BertTokenizer,
        seq_length: int = 128,
        truncation: str = "longest_first",
        padding: str = "max_length",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(tokenizer, BertTokenizer):
            raise TypeError(f"`tokenizer` must be a BertTokenizer; got {type(tokenizer).__name__}")
        if not isinstance(seq_length, int) or seq_length < 3:
            raise ValueError(f"`seq_length` must be an int of at least 3; got {seq_length!r}")
        if truncation not in TRUNCATION_STRATEGIES:
            raise ValueError(
                f"`truncation` must be one of {TRUNCATION_STRATEGIES}; got {truncation!r}"
            )
        if padding not in PADDINGS:
            raise ValueError(f"`padding` must be one of {PADDINGS}; got {padding!r}")
        self.tokenizer = tokenizer
        self.seq_length = seq_length
        self.truncation = truncation
        self.padding = padding
        self.built = True  # no weights; also spares Keras a trial call to build the layer

    @tf.autograph.experimental.do_not_convert  # plain TF ops; skip autograph's slow tracing
    def call(self, text, text_pair=None) -> dict[str, tf.Tensor]:
        """Features of `text` ([N] strings), paired with `text_pair` ([N]) if given."""
        text = _batch(text, "text")
        segments = [self.tokenizer(text)]  # [N, (tokens)] each
        if text_pair is not None:
            text_pair = _batch(text_pair, "text_pair")
            segments.append(self.tokenizer(_same_batch(text, text_pair)))
        segments = self._truncate(segments)
        ids = self.tokenizer.special_ids
        batch = segments[0].nrows()
        cls = tf.fill([batch, 1], ids[CLS])
        sep = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], ids[SEP]))
        word_ids = [tf.RaggedTensor.from_tensor(cls)]
        type_ids = [tf.RaggedTensor.from_tensor(tf.zeros_like(cls))]
        for type_id, segment in enumerate(segments):
            word_ids += [segment, sep]
            type_ids += [tf.ones_like(segment) * type_id, tf.ones_like(sep) * type_id]
        word_ids = tf.concat(word_ids, axis=1)  # [N, (length)]
        shape = [None, self.seq_length if self.padding == "max_length" else None]
        return {
            "input_word_ids": word_ids.to_tensor(ids[PAD], shape=shape),
            "input_mask": tf.ones_like(word_ids).to_tensor(0, shape=shape),
            "input_type_ids": tf.concat(type_ids, axis=1).to_tensor(0, shape=shape),
        }

    def _truncate(self, segments: list[tf.RaggedTensor]) -> list[tf.RaggedTensor]:
        """Cuts the segments so that they and the special tokens fit in `seq_length`."""
        budget = self.seq_length - 1 - len(segments)  # [CLS] and one [SEP] per segment
        if len(segments) == 1:
            return [keep_first(segments[0], tf.fill([segments[0].nrows()], budget))]
        a, b = segments
        keep_a, keep_b = pair_lengths(a.row_lengths(), b.row_lengths(), budget, self.truncation)
        return [keep_first(a, keep_a), keep_first(b, keep_b)]

    def compute_output_spec(self, text, text_pair=None):
        length = self.seq_length if self.padding == "max_length" else None
        shape = (text.shape[0], length)
        return {name: keras.KerasTensor(shape, dtype="int32") for name in FEATURES}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            tokenizer=keras.saving.serialize_keras_object(self.tokenizer),
            seq_length=self.seq_length,
            truncation=self.truncation,
            padding=self.padding,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> "BertPreprocessor":
        config = dict(config, tokenizer=keras.saving.deserialize_keras_object(config["tokenizer"]))
        return cls(**config)


def _same_batch(text: tf.Tensor, text_pair: tf.Tensor) -> tf.Tensor:
    """`text_pair`, after checking that it has as many examples as `text`."""
    message = "`text` and `text_pair` must have the same batch size"
    if text.shape[0] is not None and text_pair.shape[0] is not None:
        if text.shape[0] != text_pair.shape[0]:
            raise ValueError(f"{message}; got {text.shape[0]} and {text_pair.shape[0]}")
        return text_pair
    check = tf.debugging.assert_equal(tf.size(text), tf.size(text_pair), message=message)
    with tf.control_dependencies([check]):
        return tf.identity(text_pair)
