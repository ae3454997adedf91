"""The `mlm` task: the most likely tokens for each [MASK] written in the text."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfbert.export.masked_text import MaskedTextTokenizer
from tfbert.export.serving_task import ServingTask, softmax
from tfbert.models import BertPretrainer, TaskModel
from tfbert.text.vocab import MASK


class MaskedLMTask(ServingTask):
    """Fill in the blanks of a `BertPretrainer`: for every "[MASK]" of a text (M = the most in
    the batch) `mask_positions` [B, M] int32 (token index, -1 where a text has fewer masks),
    `top_k_tokens` [B, M, k] string, `top_k_ids` [B, M, k] int32 and `top_k_scores` [B, M, k]
    float32 probabilities ("" / -1 / 0 in the unused slots)."""

    name = "mlm"
    tokenizer_class = MaskedTextTokenizer

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int,
                 top_k: int = 5, compat: str = "google"):
        if not isinstance(model, BertPretrainer):
            raise ValueError(f"task 'mlm' needs a BertPretrainer model directory; got "
                             f"{type(model).__name__}")
        super().__init__(model, vocab_file, lower_case, seq_length, compat=compat)
        vocabulary = self.preprocessor.tokenizer.vocabulary
        if not isinstance(top_k, int) or not 1 <= top_k <= len(vocabulary):
            raise ValueError(f"`top_k` must be an int in [1, {len(vocabulary)}] (the vocabulary "
                             f"size); got {top_k!r}")
        self.top_k = top_k
        self.vocabulary = vocabulary
        self.mask_id = self.preprocessor.tokenizer.special_ids[MASK]

    def info(self) -> dict:
        return {**super().info(), "top_k": self.top_k}

    def outputs(self, features, text):
        word_ids = features["input_word_ids"]  # [B, T]
        is_mask = tf.equal(word_ids, self.mask_id)
        columns = tf.broadcast_to(tf.range(tf.shape(word_ids)[1]), tf.shape(word_ids))
        positions = tf.ragged.boolean_mask(columns, is_mask)  # [B, (masks)]
        valid = tf.ones_like(positions).to_tensor(0) > 0  # [B, M]
        dense_positions = positions.to_tensor(0)  # [B, M]
        logits = self.model({**features, "masked_lm_positions": dense_positions},
                            training=False)["mlm_logits"]  # [B, M, V]
        logits = logits[:, :, :len(self.vocabulary)]  # a model's vocab_size may be padded
        scores, ids = tf.math.top_k(tf.nn.softmax(logits, axis=-1), k=self.top_k)  # [B, M, k]
        valid_k = tf.broadcast_to(valid[:, :, tf.newaxis], tf.shape(ids))
        return {"mask_positions": tf.where(valid, dense_positions, -1),
                "top_k_ids": tf.where(valid_k, ids, -1),
                "top_k_tokens": tf.where(valid_k, tf.gather(tf.constant(self.vocabulary), ids), ""),
                "top_k_scores": tf.where(valid_k, scores, 0.0)}

    def reference_outputs(self, features, text):
        rows, columns = np.nonzero(features["input_word_ids"] == self.mask_id)
        count = np.bincount(rows, minlength=len(features["input_word_ids"]))
        width = int(count.max(initial=0))
        positions = np.full((len(count), width), -1, np.int32)
        for row in range(len(count)):
            positions[row, :count[row]] = columns[rows == row]
        logits = self.model({**features, "masked_lm_positions": np.maximum(positions, 0)},
                            training=False)["mlm_logits"]
        logits = np.asarray(logits, np.float64)[:, :, :len(self.vocabulary)]
        probabilities = softmax(logits)  # [B, M, V]
        return {"mask_positions": positions, "probabilities": probabilities}

    def compare(self, actual, expected, tolerance):
        """Checks the positions, then that the k best scores equal the model's and that each
        returned id (and its token) has the score the model gives it; ids whose scores tie
        within `tolerance` may come in either order."""
        if "probabilities" not in expected:  # the preprocess signature
            return super().compare(actual, expected, tolerance)
        problems = super().compare(actual, {"mask_positions": expected["mask_positions"]}, 0)
        if problems:
            return problems
        probabilities = expected["probabilities"]  # [B, M, V]
        ids = actual["top_k_ids"]
        valid = np.broadcast_to((expected["mask_positions"] >= 0)[:, :, None], ids.shape)
        safe_ids = np.where(valid, ids, 0)
        best = np.sort(probabilities, axis=-1)[..., ::-1][..., :self.top_k]
        tokens = np.array([token.encode() for token in self.vocabulary], object)[safe_ids]
        wanted = {"top_k_ids": np.where(valid, ids, -1),
                  "top_k_tokens": np.where(valid, tokens, b""),
                  "top_k_scores": np.where(valid, best, 0.0)}
        problems = super().compare(actual, wanted, tolerance)
        given = np.where(valid, np.take_along_axis(probabilities, safe_ids, -1), 0.0)
        return problems + super().compare({"scores of top_k_ids": given},
                                          {"scores of top_k_ids": wanted["top_k_scores"]},
                                          tolerance)
