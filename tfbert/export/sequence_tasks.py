"""Tasks with one output per text: `embed` (an embedding) and `classify` (a label)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfbert.export.examples import (CLASSIFY_CLASSES, CLASSIFY_INPUTS, CLASSIFY_METHOD,
                                    CLASSIFY_SCORES, ExampleSignature, parse_example_texts,
                                    parse_examples)
from tfbert.export.serving_task import ServingTask, softmax
from tfbert.layers import SequencePooling
from tfbert.layers.sequence_pooling import POOLING_MODES
from tfbert.models import BertClassifier, BertEncoder, TaskModel


class EmbedTask(ServingTask):
    """`embedding` [B, H] float32 from any model's encoder: [CLS] or masked-mean pooling,
    optionally L2-normalised."""

    name = "embed"

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int,
                 pooling: str = "cls", normalize: bool = False, compat: str = "google"):
        super().__init__(model, vocab_file, lower_case, seq_length, compat=compat)
        if pooling not in POOLING_MODES:
            raise ValueError(f"`pooling` must be one of {', '.join(POOLING_MODES)}; "
                             f"got {pooling!r}")
        self.encoder = model if isinstance(model, BertEncoder) else model.encoder
        self.pooling = SequencePooling(pooling, normalize, name="embedding_pooling")

    def info(self) -> dict:
        return {**super().info(), "pooling": self.pooling.mode, "normalize": self.pooling.normalize}

    def outputs(self, features, text):
        hidden = self.encoder(features, training=False)["sequence_output"]  # [B, T, H]
        return {"embedding": self.pooling(hidden, features["input_mask"])}

    def reference_outputs(self, features, text):
        hidden = np.asarray(self.encoder(features, training=False)["sequence_output"], np.float64)
        if self.pooling.mode == "cls":
            embedding = hidden[:, 0]
        else:
            mask = features["input_mask"][:, :, None].astype(np.float64)
            embedding = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
        if self.pooling.normalize:
            norm = np.linalg.norm(embedding, axis=-1, keepdims=True)
            embedding = embedding / np.maximum(norm, 1e-6)
        return {"embedding": embedding}


EXAMPLES = tf.TensorSpec([None], tf.string, name=CLASSIFY_INPUTS)


class ClassifyTask(ServingTask):
    """`probabilities` [B, C] float32, `label` [B] string (the stored label names, or "0".."C-1")
    and `logits` [B, C] from a `BertClassifier`; single texts and pairs. For TF Serving's
    Classify API also `classify` and `classify_pair` on serialized Examples (features `text`,
    or `text_a` and `text_b`), answering `classes` [B, C] (the label names) and `scores`."""

    name = "classify"
    pairs = True
    example_signatures = {
        "classify": ExampleSignature(CLASSIFY_METHOD, "serving_default", ("text",)),
        "classify_pair": ExampleSignature(CLASSIFY_METHOD, "text_pair", ("text_a", "text_b"))}

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int,
                 compat: str = "google"):
        if not isinstance(model, BertClassifier):
            raise ValueError(f"task 'classify' needs a BertClassifier model directory; got "
                             f"{type(model).__name__}")
        super().__init__(model, vocab_file, lower_case, seq_length, compat=compat)
        self.labels = list(model.labels or [str(i) for i in range(model.num_labels)])

    def info(self) -> dict:
        return {**super().info(), "labels": self.labels}

    def outputs(self, features, text):
        logits = self.model(features, training=False)["logits"]  # [B, C]
        return {"logits": logits,
                "probabilities": tf.nn.softmax(logits, axis=-1),
                "label": tf.gather(tf.constant(self.labels), tf.argmax(logits, axis=-1))}

    def reference_outputs(self, features, text):
        logits = np.asarray(self.model(features, training=False)["logits"], np.float64)
        return {"logits": logits, "probabilities": softmax(logits),
                "label": np.array([self.labels[i].encode() for i in logits.argmax(-1)], object)}

    def signatures(self):
        functions = super().signatures()

        @tf.function(input_signature=[EXAMPLES])
        def classify(inputs):
            text = parse_example_texts(inputs, ("text",))["text"]
            return self._classification(self.outputs(self.features(text), text)["probabilities"])

        @tf.function(input_signature=[EXAMPLES])
        def classify_pair(inputs):
            texts = parse_example_texts(inputs, ("text_a", "text_b"))
            return self._classification(
                self.answer(texts["text_a"], texts["text_b"])["probabilities"])

        return {**functions, "classify": classify, "classify_pair": classify_pair}

    def _classification(self, probabilities: tf.Tensor) -> dict[str, tf.Tensor]:
        classes = tf.tile(tf.constant(self.labels)[None], [tf.shape(probabilities)[0], 1])
        return {CLASSIFY_CLASSES: classes, CLASSIFY_SCORES: probabilities}

    def reference(self, signature, inputs):
        if signature not in self.example_signatures:
            return super().reference(signature, inputs)
        _, source, names = self.example_signatures[signature]
        texts = parse_examples(inputs[CLASSIFY_INPUTS], names)
        probabilities = super().reference(source, texts)["probabilities"]
        labels = [label.encode() for label in self.labels]
        return {CLASSIFY_CLASSES: np.array([labels] * len(probabilities), object),
                CLASSIFY_SCORES: probabilities}
