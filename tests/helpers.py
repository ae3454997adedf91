"""Helpers the tests share: random BERT features, and the layer round-trip check."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def random_features(batch: int, seq_length: int, vocab_size: int, seed: int = 0,
                    lengths: list[int] | None = None) -> dict[str, np.ndarray]:
    """int32 BERT features; row i has `lengths[i]` real tokens (default: varied, with padding)."""
    rng = np.random.default_rng(seed)
    if lengths is None:
        lengths = [max(2, seq_length - 3 * i) for i in range(batch)]
    mask = (np.arange(seq_length)[None, :] < np.array(lengths)[:, None]).astype("int32")
    ids = rng.integers(1, vocab_size, (batch, seq_length)).astype("int32") * mask
    type_ids = ((np.arange(seq_length)[None, :] >= np.array(lengths)[:, None] // 2) * mask)
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": type_ids.astype("int32")}


def to_numpy(structure):
    return tf.nest.map_structure(lambda t: np.asarray(t), structure)


def assert_round_trip(layer: keras.layers.Layer, *inputs) -> None:
    """`from_config(get_config())` rebuilds `layer`, and with its weights copied gives the
    same outputs."""
    expected = to_numpy(layer(*inputs))
    clone = type(layer).from_config(layer.get_config())
    clone(*inputs)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == layer.get_config()
    tf.nest.map_structure(np.testing.assert_array_equal, to_numpy(clone(*inputs)), expected)


def write_vocab(path, words=("hello", "world")):
    """A small vocabulary file: the special tokens, then `words`; returns its path."""
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path
