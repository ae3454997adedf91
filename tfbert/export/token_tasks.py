"""Tasks with outputs tied to tokens of the text: `token-classify` and `qa` (answer spans)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfbert.export.serving_task import ServingTask, softmax
from tfbert.models import BertSpanQA, BertTokenClassifier, TaskModel
from tfbert.text.truncation import keep_first, pair_lengths


class TokenClassifyTask(ServingTask):
    """A label per WordPiece token of a `BertTokenClassifier` (NER, tagging), with where each
    token is in the text. For the N tokens kept of the longest text of the batch: `tokens`
    [B, N] string, `token_labels` [B, N] string, `token_scores` [B, N] float32 (the label's
    probability), `token_starts` / `token_ends` [B, N] int32 (code point offsets: the token
    covers `text[start:end]`) and `logits` [B, N, C]; "" / 0 / -1 past a text's tokens."""

    name = "token-classify"

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int):
        if not isinstance(model, BertTokenClassifier):
            raise ValueError(f"task 'token-classify' needs a BertTokenClassifier model "
                             f"directory; got {type(model).__name__}")
        super().__init__(model, vocab_file, lower_case, seq_length)
        self.labels = list(model.labels or [str(i) for i in range(model.num_labels)])

    def info(self) -> dict:
        return {**super().info(), "labels": self.labels}

    def _kept_tokens(self, text):
        """(ids, starts, ends) of the tokens the packed input keeps, each [B, (n)]."""
        tokenizer = self.preprocessor.tokenizer
        ids, starts, ends = tokenizer.tokenize_with_offsets(text)
        budget = tf.fill([ids.nrows()], self.preprocessor.seq_length - 2)  # [CLS], [SEP]
        return keep_first(ids, budget), keep_first(starts, budget), keep_first(ends, budget)

    def outputs(self, features, text):
        ids, starts, ends = self._kept_tokens(text)
        logits = self.model(features, training=False)["logits"]  # [B, T, C]
        width = tf.shape(ids.to_tensor())[1]  # N
        logits = logits[:, 1:1 + width]  # the tokens after [CLS]: [B, N, C]
        valid = tf.sequence_mask(ids.row_lengths(), width)  # [B, N]
        probabilities = tf.nn.softmax(logits, axis=-1)
        best = tf.argmax(logits, axis=-1)
        return {"tokens": tf.gather(tf.constant(self.preprocessor.tokenizer.vocabulary),
                                    ids).to_tensor(""),
                "token_labels": tf.where(valid, tf.gather(tf.constant(self.labels), best), ""),
                "token_scores": tf.where(valid, tf.reduce_max(probabilities, axis=-1), 0.0),
                "token_starts": starts.to_tensor(-1),
                "token_ends": ends.to_tensor(-1),
                "logits": tf.where(valid[:, :, tf.newaxis], logits, 0.0)}

    def reference_outputs(self, features, text):
        ids, starts, ends = (part.to_list() for part in self._kept_tokens(text))
        width = max(map(len, ids), default=0)
        logits = np.asarray(self.model(features, training=False)["logits"], np.float64)
        logits = logits[:, 1:1 + width]
        valid = np.arange(width)[None, :] < np.array([len(row) for row in ids])[:, None]

        def pad(rows, fill, dtype):
            return np.array([row + [fill] * (width - len(row)) for row in rows], dtype
                            ).reshape(len(rows), width)

        tokens = [[self.preprocessor.tokenizer.vocabulary[i].encode() for i in row] for row in ids]
        labels = np.array([label.encode() for label in self.labels], object)[logits.argmax(-1)]
        return {"tokens": pad(tokens, b"", object),
                "token_labels": np.where(valid, labels, b""),
                "token_scores": np.where(valid, softmax(logits).max(-1), 0.0),
                "token_starts": pad(starts, -1, np.int32), "token_ends": pad(ends, -1, np.int32),
                "logits": np.where(valid[:, :, None], logits, 0.0)}


class SpanQATask(ServingTask):
    """Extractive question answering with a `BertSpanQA`: the best span of the context (at
    most `MAX_ANSWER_TOKENS` tokens, start ≤ end, highest start + end logit). Both signatures
    that answer take the pair `text_a` (question) and `text_b` (context): `answer` [B] string
    (the span of the context text), `answer_start` / `answer_end` [B] int32 (code point offsets
    into the context; -1 when the context is empty or cut away), `score` [B] float32, and the
    `start_logits` / `end_logits` [B, T] of the packed input."""

    name = "qa"
    pairs = True
    MAX_ANSWER_TOKENS = 30

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int):
        if not isinstance(model, BertSpanQA):
            raise ValueError(f"task 'qa' needs a BertSpanQA model directory; got "
                             f"{type(model).__name__}")
        super().__init__(model, vocab_file, lower_case, seq_length)

    def info(self) -> dict:
        return {**super().info(), "max_answer_tokens": self.MAX_ANSWER_TOKENS}

    def signatures(self):
        functions = super().signatures()
        functions["serving_default"] = functions["text_pair"]  # a question needs a context
        return functions

    def _context_tokens(self, question, context):
        """(first context position [B], code point starts and ends [B, (n)]) of the context
        tokens the packed input keeps."""
        tokenizer = self.preprocessor.tokenizer
        question_ids = tokenizer(question)
        _, starts, ends = tokenizer.tokenize_with_offsets(context)
        budget = self.preprocessor.seq_length - 3  # [CLS] question [SEP] context [SEP]
        keep_question, keep_context = pair_lengths(
            question_ids.row_lengths(), starts.row_lengths(), budget, self.preprocessor.truncation)
        first = tf.cast(keep_question, tf.int32) + 2
        return first, keep_first(starts, keep_context), keep_first(ends, keep_context)

    def outputs(self, features, text):
        raise TypeError("task 'qa' answers a question about a context; use its pair signature")

    def answer(self, question, context) -> dict[str, tf.Tensor]:
        features = self.features(question, context)
        logits = self.model(features, training=False)  # start_logits, end_logits: [B, T]
        first, starts, ends = self._context_tokens(question, context)
        count = tf.cast(starts.row_lengths(), tf.int32)  # [B]
        width = tf.reduce_max(tf.concat([count, [0]], 0))  # N
        positions = tf.minimum(first[:, None] + tf.range(width)[None, :],
                               tf.shape(logits["start_logits"])[1] - 1)  # [B, N]
        start = tf.gather(logits["start_logits"], positions, batch_dims=1)  # [B, N]
        end = tf.gather(logits["end_logits"], positions, batch_dims=1)
        index = tf.range(width)
        length = index[None, :] - index[:, None]  # [N, N]: end index - start index
        allowed = (length >= 0) & (length < self.MAX_ANSWER_TOKENS)  # [N, N]
        valid = tf.sequence_mask(count, width)  # [B, N]
        allowed = allowed[None] & valid[:, :, None] & valid[:, None, :]  # [B, N, N]
        scores = tf.where(allowed, start[:, :, None] + end[:, None, :], -np.inf)
        best = tf.argmax(tf.reshape(scores, [tf.shape(scores)[0], -1]), axis=-1,
                         output_type=tf.int32)  # [B]
        found = count > 0
        first_token = tf.where(found, best // tf.maximum(width, 1), 0)
        last_token = tf.where(found, best % tf.maximum(width, 1), 0)
        answer_start = tf.gather(starts.to_tensor(-1), first_token, batch_dims=1)  # [B]
        answer_start = tf.where(found, answer_start, -1)
        answer_end = tf.where(found, tf.gather(ends.to_tensor(-1), last_token, batch_dims=1), -1)
        answer = tf.strings.substr(context, tf.maximum(answer_start, 0),
                                   tf.maximum(answer_end - answer_start, 0), unit="UTF8_CHAR")
        score = tf.gather(start, first_token, batch_dims=1) + tf.gather(end, last_token,
                                                                        batch_dims=1)
        return {"answer": tf.where(found, answer, ""), "answer_start": answer_start,
                "answer_end": answer_end, "score": tf.where(found, score, 0.0),
                "start_logits": logits["start_logits"], "end_logits": logits["end_logits"]}

    def reference(self, signature, inputs):
        """As `ServingTask.reference`; the span search is a plain Python loop."""
        if signature == "preprocess":
            return super().reference(signature, inputs)
        question, context = tf.constant(inputs["text_a"]), tf.constant(inputs["text_b"])
        features = {k: v.numpy() for k, v in self.features(question, context).items()}
        logits = {k: np.asarray(v, np.float64)
                  for k, v in self.model(features, training=False).items()}
        first, starts, ends = self._context_tokens(question, context)
        result = {"answer": [], "answer_start": [], "answer_end": [], "score": []}
        for row, (offset, row_starts, row_ends) in enumerate(
                zip(first.numpy(), starts.to_list(), ends.to_list())):
            start, end = (logits[name][row, offset:] for name in ("start_logits", "end_logits"))
            spans = [(start[i] + end[j], i, j)
                     for i in range(len(row_starts)) for j in range(i, len(row_starts))
                     if j - i < self.MAX_ANSWER_TOKENS]
            score, i, j = max(spans, default=(0.0, None, None))
            text = inputs["text_b"][row]
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            begin, stop = (row_starts[i], row_ends[j]) if spans else (-1, -1)
            result["answer"].append(text[begin:stop].encode() if spans else b"")
            result["answer_start"].append(begin)
            result["answer_end"].append(stop)
            result["score"].append(score)
        return {"answer": np.array(result["answer"], object),
                "answer_start": np.array(result["answer_start"], np.int32),
                "answer_end": np.array(result["answer_end"], np.int32),
                "score": np.array(result["score"]), **logits}
