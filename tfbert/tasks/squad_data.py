"""SQuAD features and answers: examples -> windowed BERT inputs, and start/end logits -> answers.

`encode_squad` packs `[CLS] question [SEP] context window [SEP]`. A context too long for one
window is split as in the original BERT `run_squad.py`: windows over the context's WordPiece
pieces start every `doc_stride` pieces until the end is covered. Every context position keeps
the code-point span of its piece in the original context, so `decode_squad` returns the exact
characters of the context (accents, emoji and CJK included, whatever the tokenizer normalized).
Reading SQuAD files is `tfbert.tasks.squad_files`.

>>> import os, tempfile
>>> from tfbert.tasks.squad_files import examples_from_pairs
>>> from tfbert.text import BertTokenizer
>>> path = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "?", "ann", "."]
>>> _ = open(path, "w").write("\\n".join(tokens) + "\\n")
>>> examples = examples_from_pairs(["Who ran?"], ["Ann ran."])
>>> features = encode_squad(examples, BertTokenizer(path), seq_length=8, max_query_length=3,
...                         doc_stride=1, training=False)
>>> features.input_word_ids.tolist()
[[2, 5, 6, 7, 3, 8, 6, 3], [2, 5, 6, 7, 3, 6, 9, 3]]
>>> features.token_start.tolist()[1], features.token_end.tolist()[1]
([-1, -1, -1, -1, -1, 4, 7, -1], [-1, -1, -1, -1, -1, 7, 8, -1])
>>> start_logits = np.zeros((2, 8), "float32"); start_logits[0, 5] = 9.0
>>> predictions = decode_squad(examples, features, start_logits, start_logits)
>>> predictions["0"]
QAPrediction(answer='Ann', start=0, end=3, score=18.0, null_score_diff=-18.0)
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np
import tensorflow as tf

from tfbert.tasks.squad_files import SquadExample, training_answer
from tfbert.tasks.task import feature_arrays
from tfbert.text.vocab import CLS, SEP, special_token_ids

TOKENIZE_BATCH = 256  # texts per tokenizer call

@dataclasses.dataclass(frozen=True, eq=False)
class QAFeatures:
    """Windows of `encode_squad`: W windows of `seq_length` (T) positions.

    Model inputs `input_word_ids`, `input_mask`, `input_type_ids` (int32 [W, T]); training
    targets `start_positions`, `end_positions` (int32 [W]: the answer's first and last piece,
    0 = [CLS] when the window lacks the whole answer or there is none; None unless
    `training`); and for decoding `example_index` (int32 [W]: the example of each window),
    `token_start`/`token_end` (int32 [W, T]: code-point span in the context of the piece at each
    context position, -1 at other positions) and `max_context` (bool [W, T]: the piece has more
    context, min(pieces on its left, pieces on its right), in this window than in any other;
    ties go to the earlier window).
    """

    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    start_positions: np.ndarray | None
    end_positions: np.ndarray | None
    example_index: np.ndarray
    token_start: np.ndarray
    token_end: np.ndarray
    max_context: np.ndarray

    def __len__(self) -> int:
        return len(self.example_index)

    inputs = property(feature_arrays, doc="The three model inputs by their feature names.")


@dataclasses.dataclass(frozen=True)
class QAPrediction:
    """The answer to one question.

    `answer` is `context[start:end]` (code points), or "" with start = end = -1 for no answer.
    `score` is the answer's start_logit + end_logit (for "", the no-answer score);
    `null_score_diff` is the no-answer score minus the best span's score (inf without a span):
    SQuAD v2.0 answers "" when it is above a threshold tuned on dev data.
    """

    answer: str
    start: int
    end: int
    score: float
    null_score_diff: float


def encode_squad(examples: Sequence[SquadExample], tokenizer, *, seq_length: int = 384,
                 max_query_length: int = 64, doc_stride: int = 128,
                 training: bool) -> QAFeatures:
    """Windows of every example, in order (each example has at least one).

    The question keeps its first `max_query_length` pieces. With `training`, the target of an
    answerable example is its first answer: the pieces overlapping the characters
    [answer_start, answer_start + len(text)).
    """
    for name, value in (("seq_length", seq_length), ("max_query_length", max_query_length),
                        ("doc_stride", doc_stride)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}")
    if seq_length < max_query_length + 4:
        raise ValueError(f"`seq_length` must leave room for [CLS], the question, two [SEP] and "
                         f"at least one context piece: seq_length >= max_query_length + 4; got "
                         f"seq_length={seq_length}, max_query_length={max_query_length}")
    special = special_token_ids(tokenizer.vocabulary)
    questions = [ids[:max_query_length] for ids in
                 _tokenize_ids(tokenizer, [example.question for example in examples])]
    contexts = list(dict.fromkeys(example.context for example in examples))
    pieces = dict(zip(contexts, _tokenize_contexts(tokenizer, contexts)))
    rooms = [seq_length - len(question) - 3 for question in questions]  # context pieces
    window_starts = [_window_starts(len(pieces[example.context][0]), room, doc_stride)
                     for example, room in zip(examples, rooms)]
    num_windows = sum(map(len, window_starts))
    shape = (num_windows, seq_length)
    word_ids, mask, type_ids = (np.zeros(shape, np.int32) for _ in range(3))
    token_start, token_end = np.full(shape, -1, np.int32), np.full(shape, -1, np.int32)
    max_context = np.zeros(shape, bool)
    example_index = np.zeros(num_windows, np.int32)
    positions = np.zeros((num_windows, 2), np.int32)
    row = 0
    for index, (example, question, room) in enumerate(zip(examples, questions, rooms)):
        ids, starts, ends = pieces[example.context]
        answer = _answer_pieces(example, starts, ends) if training else None
        best_window = _max_context_windows(len(ids), window_starts[index], room)
        offset = len(question) + 2  # [CLS] question [SEP]
        for window, first in enumerate(window_starts[index]):
            last = min(first + room, len(ids))  # exclusive
            length = offset + last - first + 1
            word_ids[row, :length] = [special[CLS], *question, special[SEP], *ids[first:last],
                                      special[SEP]]
            mask[row, :length] = 1
            type_ids[row, offset:length] = 1
            token_start[row, offset:length - 1] = starts[first:last]
            token_end[row, offset:length - 1] = ends[first:last]
            max_context[row, offset:length - 1] = best_window[first:last] == window
            example_index[row] = index
            if answer is not None and first <= answer[0] and answer[1] < last:
                positions[row] = np.array(answer) - first + offset
            row += 1
    return QAFeatures(
        word_ids, mask, type_ids,
        positions[:, 0] if training else None, positions[:, 1] if training else None,
        example_index, token_start, token_end, max_context)


def decode_squad(examples: Sequence[SquadExample], features: QAFeatures, start_logits,
                 end_logits, *, max_answer_length: int = 30, n_best: int = 20,
                 null_threshold: float | None = None) -> dict[str, QAPrediction]:
    """The answer to each example, by id, from the model's [W, T] logits over its windows.

    In each window, the `n_best` highest start logits among context positions where the piece
    has its max context and the `n_best` highest end logits among context positions are paired;
    a span is valid when start <= end and it has at most `max_answer_length` pieces, and scores
    start_logit + end_logit. The best valid span over all windows is the answer. The no-answer
    score is the lowest [CLS] start_logit + end_logit over the windows. With `null_threshold`
    (SQuAD v2.0) the answer is "" when null_score_diff > null_threshold; without it (v1.1) the
    best span is always returned. No valid span at all gives "".
    """
    for name, value in (("max_answer_length", max_answer_length), ("n_best", n_best)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}")
    logits = [np.asarray(start_logits, np.float32), np.asarray(end_logits, np.float32)]
    for name, value in zip(("start_logits", "end_logits"), logits):
        if value.shape != features.input_word_ids.shape:
            raise ValueError(f"`{name}` must have the features' shape [windows, seq_length] = "
                             f"{list(features.input_word_ids.shape)}; got {list(value.shape)}")
    if len(features) and features.example_index.max() >= len(examples):
        raise ValueError(f"`features` has windows of example {features.example_index.max()} "
                         f"but only {len(examples)} examples were given; pass the examples "
                         f"the features were encoded from")
    windows_of: list[list[int]] = [[] for _ in examples]
    for window, index in enumerate(features.example_index.tolist()):
        windows_of[index].append(window)
    predictions = {}
    for example, windows in zip(examples, windows_of):
        if not windows:
            raise ValueError(f"{example.source}: `features` has no window of this example; "
                             f"pass the examples the features were encoded from")
        best_score, best_span = -math.inf, None
        null_score = math.inf
        for window in windows:
            start, end = logits[0][window], logits[1][window]
            null_score = min(null_score, float(start[0] + end[0]))
            score, span = _best_span(features, window, start, end, max_answer_length, n_best)
            if score > best_score:
                best_score, best_span = score, span
        diff = null_score - best_score
        if best_span is None or (null_threshold is not None and diff > null_threshold):
            predictions[example.id] = QAPrediction("", -1, -1, null_score, diff)
        else:
            first, last = best_span
            predictions[example.id] = QAPrediction(example.context[first:last], first, last,
                                                   best_score, diff)
    return predictions


def _best_span(features: QAFeatures, window: int, start_logits: np.ndarray,
               end_logits: np.ndarray, max_answer_length: int, n_best: int):
    """(score, (first, last) code points) of the window's best valid span; (-inf, None) if none."""
    is_context = features.token_start[window] >= 0
    starts = _top(np.flatnonzero(is_context & features.max_context[window]), start_logits, n_best)
    ends = _top(np.flatnonzero(is_context), end_logits, n_best)
    scores = start_logits[starts][:, None] + end_logits[ends][None, :]  # [S, E]
    length = ends[None, :] - starts[:, None] + 1  # pieces
    scores = np.where((length >= 1) & (length <= max_answer_length), scores, -np.inf)
    if not scores.size or scores.max() == -np.inf:
        return -math.inf, None
    i, j = np.unravel_index(np.argmax(scores), scores.shape)
    span = (int(features.token_start[window, starts[i]]), int(features.token_end[window, ends[j]]))
    return float(scores[i, j]), span


def _top(positions: np.ndarray, logits: np.ndarray, n: int) -> np.ndarray:
    """The `n` positions with the highest logits (ties: the earlier position first)."""
    return positions[np.argsort(-logits[positions], kind="stable")[:n]]


def _window_starts(num_pieces: int, room: int, doc_stride: int) -> list[int]:
    """First piece of each window of `room` pieces: every `doc_stride` pieces (never leaving a
    gap) until the last window reaches the end; one window for an empty context."""
    starts = [0]
    while starts[-1] + room < num_pieces:
        starts.append(starts[-1] + min(room, doc_stride))
    return starts


def _max_context_windows(num_pieces: int, window_starts: list[int], room: int) -> np.ndarray:
    """For each piece, the window where min(left context, right context) is largest."""
    piece = np.arange(num_pieces)[None, :]  # [1, P]
    first = np.array(window_starts)[:, None]  # [K, 1]
    last = np.minimum(first + room, num_pieces) - 1
    context = np.minimum(piece - first, last - piece)  # [K, P], negative outside the window
    return np.argmax(context, axis=0)


def _answer_pieces(example: SquadExample, starts: np.ndarray, ends: np.ndarray):
    """(first, last) context piece of the training answer, or None if there is none."""
    answer = training_answer(example)
    if answer is None:
        return None
    text, answer_start = answer
    overlapping = np.flatnonzero((starts < answer_start + len(text)) & (ends > answer_start))
    if not len(overlapping):
        raise ValueError(f"{example.source}: the answer {text!r} at {answer_start} covers no "
                         f"token of the context (only characters the tokenizer deletes).")
    return int(overlapping[0]), int(overlapping[-1])


def _tokenize_ids(tokenizer, texts: list[str]) -> list[np.ndarray]:
    rows = []
    for batch in range(0, len(texts), TOKENIZE_BATCH):
        rows += _rows(tokenizer(tf.constant(texts[batch:batch + TOKENIZE_BATCH], tf.string)))
    return rows


def _tokenize_contexts(tokenizer, texts: list[str]):
    """(ids, starts, ends) numpy arrays of each text's pieces, with `_extended_ends`."""
    out = []
    for batch in range(0, len(texts), TOKENIZE_BATCH):
        chunk = texts[batch:batch + TOKENIZE_BATCH]
        ids, starts, ends = tokenizer.tokenize_with_offsets(tf.constant(chunk, tf.string))
        for text, *row in zip(chunk, _rows(ids), _rows(starts), _rows(ends)):
            out.append((row[0], row[1], _extended_ends(text, row[1], row[2])))
    return out


def _rows(ragged: tf.RaggedTensor) -> list[np.ndarray]:
    values = ragged.flat_values.numpy().astype(np.int32)
    return np.split(values, ragged.row_splits.numpy()[1:-1])


def _extended_ends(text: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Piece ends moved over the non-space characters right after them that no piece covers
    (combining accents the uncased tokenizer strips, variation selectors, zero-width
    characters), so that an answer ending with the piece keeps them."""
    bounds = np.append(starts[1:], len(text))
    ends = ends.copy()
    for i in np.flatnonzero(ends < bounds):
        end = int(ends[i])
        while end < bounds[i] and not text[end].isspace():
            end += 1
        ends[i] = end
    return ends
