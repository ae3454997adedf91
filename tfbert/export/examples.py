"""Texts as `tf.train.Example`s, the input of TF Serving's Classify and Regress APIs.

A classification signature (method `tensorflow/serving/classify`) or regression signature
(`tensorflow/serving/regress`) takes one string tensor, `inputs`, of serialized Examples;
tfbert's hold each text in a one-value bytes feature named as the text input of the matching
Predict signature (`text`, or `text_a` and `text_b`). A classification signature answers
`classes` and `scores` [B, C], a regression one `outputs` float32 [B] (TF Serving's
regressor.cc takes exactly one input and one output).

>>> serialized = serialize_examples({"text": np.array([b"hello", b"world"], object)})
>>> parse_examples(serialized, ("text",))["text"].tolist()
[b'hello', b'world']
"""
from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np
import tensorflow as tf

CLASSIFY_METHOD = "tensorflow/serving/classify"
CLASSIFY_INPUTS = "inputs"  # the one input of a classification signature
CLASSIFY_CLASSES, CLASSIFY_SCORES = "classes", "scores"
REGRESS_METHOD = "tensorflow/serving/regress"
REGRESS_OUTPUTS = "outputs"  # the one output of a regression signature


class ExampleSignature(NamedTuple):
    """A signature on serialized Examples: its TF Serving `method` (CLASSIFY_METHOD or
    REGRESS_METHOD), the Predict signature (`source`) whose text inputs its Examples carry, and
    those feature names."""

    method: str
    source: str
    features: tuple[str, ...]


def serialize_examples(texts: Mapping[str, np.ndarray]) -> np.ndarray:
    """Serialized Examples, one per row: feature `name` holds `texts[name][row]` (bytes)."""
    rows = len(next(iter(texts.values())))
    serialized = []
    for row in range(rows):
        example = tf.train.Example()
        for name, values in texts.items():
            example.features.feature[name].bytes_list.value.append(values[row])
        serialized.append(example.SerializeToString())
    return np.array(serialized, object)


def parse_examples(serialized: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The text features `names` of serialized Examples (NumPy, no graph); raises ValueError
    naming the example and feature that is missing or not one bytes value."""
    texts: dict[str, list[bytes]] = {name: [] for name in names}
    for index, data in enumerate(serialized):
        features = tf.train.Example.FromString(data).features.feature
        for name in names:
            feature = features.get(name)
            if feature is None or feature.WhichOneof("kind") != "bytes_list" or \
                    len(feature.bytes_list.value) != 1:
                raise ValueError(f"example {index} must have feature {name!r} holding one "
                                 "bytes value")
            texts[name].append(feature.bytes_list.value[0])
    return {name: np.array(values, object) for name, values in texts.items()}


def parse_example_texts(serialized: tf.Tensor, names: Sequence[str]) -> dict[str, tf.Tensor]:
    """The same in the graph (core `ParseExampleV2`): string [B] per feature; a missing
    feature fails the request with INVALID_ARGUMENT."""
    spec = {name: tf.io.FixedLenFeature([], tf.string) for name in names}
    return tf.io.parse_example(serialized, spec)
