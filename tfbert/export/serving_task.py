"""`ServingTask`: what every export task shares: preprocessing, signatures, validation.

A task turns a tfbert model plus its tokenizer into `tf.function`s over raw strings, one per
SavedModel signature: `serving_default` on `text`, `text_pair` on `text_a`/`text_b` where pairs
make sense, and `preprocess` (the three int32 features); a task may add classification or
regression signatures on serialized `tf.train.Example`s (`example_signatures`). Texts are
padded to the longest in the batch and truncated at `seq_length`. `reference` computes the
same outputs from the Keras model called eagerly plus NumPy post-processing; export validation
compares the SavedModel to it.
The tasks themselves live in `sequence_tasks`, `masked_lm_task` and `token_tasks`.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfbert.export.examples import ExampleSignature
from tfbert.models import TaskModel
from tfbert.text import BertPreprocessor, BertTokenizer

TEXT = tf.TensorSpec([None], tf.string, name="text")
TEXT_A = tf.TensorSpec([None], tf.string, name="text_a")
TEXT_B = tf.TensorSpec([None], tf.string, name="text_b")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in NumPy (for the references)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


class ServingTask:
    """Base of the tasks: the preprocessor, the `preprocess` signature and its reference."""

    name = ""
    pairs = False  # whether the task has a `text_pair` signature
    # Signature on tf.Examples (TF Serving's Classify or Regress API) -> its ExampleSignature
    # (method, the signature whose text inputs its Examples carry, those feature names).
    example_signatures: dict[str, ExampleSignature] = {}
    tokenizer_class = BertTokenizer

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int,
                 compat: str = "google"):
        self.model = model
        tokenizer = self.tokenizer_class(vocab_file, lower_case=lower_case, compat=compat)
        if tokenizer.vocabulary_size > model.config.vocab_size:
            raise ValueError(f"the vocabulary ({tokenizer.vocabulary_size} tokens in "
                             f"{vocab_file}) is larger than the model's vocab_size "
                             f"({model.config.vocab_size})")
        self.preprocessor = BertPreprocessor(tokenizer, seq_length=seq_length, padding="longest")

    def info(self) -> dict:
        """What a client needs to know about the export (goes to assets.extra)."""
        return {"task": self.name, "seq_length": self.preprocessor.seq_length,
                "tokenizer_compat": self.preprocessor.tokenizer.compat}

    def outputs(self, features: dict[str, tf.Tensor], text: tf.Tensor) -> dict[str, tf.Tensor]:
        """The signature outputs computed from the features of `text` (in the graph)."""
        raise NotImplementedError

    def reference_outputs(self, features: dict[str, np.ndarray], text: tf.Tensor
                          ) -> dict[str, np.ndarray]:
        """The same outputs from the Keras model called eagerly, post-processed in NumPy."""
        raise NotImplementedError

    def features(self, text, text_pair=None) -> dict[str, tf.Tensor]:
        """The preprocessor's features, at least one column wide: an empty batch pads to
        length 0, which the model cannot take (a non-empty one has [CLS] and [SEP])."""
        features = self.preprocessor(text, text_pair)
        missing = tf.maximum(0, 1 - tf.shape(features["input_word_ids"])[1])
        return {name: tf.pad(value, [[0, 0], [0, missing]]) for name, value in features.items()}

    def answer(self, text_a, text_b) -> dict[str, tf.Tensor]:
        """The outputs of the `text_pair` signature."""
        return self.outputs(self.features(text_a, text_b), text_a)

    def signatures(self) -> dict[str, tf.types.experimental.GenericFunction]:
        """Signature name -> `tf.function` with its input signature."""

        @tf.function(input_signature=[TEXT])
        def serving_default(text):
            return self.outputs(self.features(text), text)

        @tf.function(input_signature=[TEXT_A, TEXT_B])
        def text_pair(text_a, text_b):
            return self.answer(text_a, text_b)

        @tf.function(input_signature=[TEXT])
        def preprocess(text):
            return self.features(text)

        functions = {"serving_default": serving_default, "preprocess": preprocess}
        if self.pairs:
            functions["text_pair"] = text_pair
        return functions

    def sample_inputs(self, texts: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
        """Signature name -> inputs for export validation built from `texts` (UTF-8 bytes):
        each text alone, and the texts against themselves reversed as pairs."""
        text = np.array([t.encode() for t in texts], object)
        inputs = {"serving_default": {"text": text}, "preprocess": {"text": text}}
        if self.pairs:
            inputs["text_pair"] = {"text_a": text, "text_b": text[::-1].copy()}
        return inputs

    def reference(self, signature: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """What `signature` must return for `inputs`, computed without the exported graph."""
        if signature == "text_pair":
            text = tf.constant(inputs["text_a"])
            features = self.features(text, tf.constant(inputs["text_b"]))
        else:
            text = tf.constant(inputs["text"])
            features = self.features(text)
        features = {name: value.numpy() for name, value in features.items()}
        return features if signature == "preprocess" else self.reference_outputs(features, text)

    def compare(self, actual: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                tolerance: float) -> list[str]:
        """Problems found comparing a signature's `actual` outputs to the `reference`:
        floats may differ by `tolerance`, everything else must be equal."""
        problems = [f"output {name!r} is missing" for name in expected if name not in actual]
        for name in expected.keys() & actual.keys():
            want, got = np.asarray(expected[name]), np.asarray(actual[name])
            if want.shape != got.shape:
                problems.append(f"output {name!r} has shape {got.shape}; expected {want.shape}")
            elif want.dtype.kind == "f":
                diff = float(np.abs(want - got).max(initial=0.0))
                if not diff <= tolerance:
                    problems.append(f"output {name!r} differs by {diff:.3g} > {tolerance:g}")
            elif not np.array_equal(want, got):
                problems.append(f"output {name!r} differs: {got.tolist()[:3]} != "
                                f"{want.tolist()[:3]}")
        return problems
