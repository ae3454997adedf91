"""Token tagging (NER) features: word tags on WordPieces, windows over long sentences, and the
decoder from logits back to word tags and entities with character spans.

A word's tag is taught and predicted at its first WordPiece; its other pieces, [CLS], [SEP]
and padding carry no label (as in the BERT paper's NER set-up and HF's token classification
examples). A sentence longer than `seq_length - 2` pieces is never truncated: it is split into
overlapping windows, each `[CLS] pieces [SEP]`. Windows start at word starts when they can:
window i + 1 starts at the last word start at most `stride` pieces after window i's start
(exactly `stride` pieces after it when one word is longer than `stride`), and a window ends
before a word it cannot hold whole. Training teaches every word in every window that holds its
first piece, as BERT's run_squad trains an answer in every window that contains it: every window
is a complete training sequence and the model also learns from words near a window's edge. Each
word is predicted from one window, the one where it has the most context: the largest
min(pieces before it, pieces after it) in the window, then the longest window, then the first.

>>> import os, tempfile
>>> from tfbert.text import BertTokenizer
>>> vocab = os.path.join(tempfile.mkdtemp(), "vocab.txt")
>>> _ = open(vocab, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nann\\nmet\\nbo\\n##b\\n")
>>> tokenizer = BertTokenizer(vocab)
>>> words = ((0, 3), (4, 7), (8, 11))
>>> example = TagExample("Ann met Bob", words, ("B-PER", "O", "B-PER"), "x.conll:1")
>>> tags = tag_vocabulary([example])
>>> features = encode_tagging([example], tokenizer, tags, seq_length=8)
>>> features.input_word_ids.tolist(), features.label_weights.tolist()
([[2, 5, 6, 7, 8, 3, 0, 0]], [[0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
>>> logits = np.eye(len(tags))[features.labels] * 5.0  # [W, T, C]: the gold tags
>>> prediction, = decode_tagging([example], features, logits, tags)
>>> prediction.tags, [(e["label"], e["start"], e["end"], e["text"]) for e in prediction.entities]
(('B-PER', 'O', 'B-PER'), [('PER', 0, 3, 'Ann'), ('PER', 8, 11, 'Bob')])
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from tfbert.metrics import entities
from tfbert.tasks.tagging_files import (TagExample, examples_from_texts, read_tagging_file,
                                        tokenize_texts)
from tfbert.tasks.task import feature_arrays
from tfbert.text.tokenizer import BertTokenizer
from tfbert.text.vocab import CLS, PAD, SEP

# The readers are re-exported so that this module is the one import for tagging data.
__all__ = ["TagExample", "TagFeatures", "TagPrediction", "check_tags", "decode_tagging",
           "encode_tagging", "examples_from_texts", "read_tagging_file", "tag_vocabulary"]

Chunker = Callable[[list[str]], list[tuple[str, int, int]]]


def tag_vocabulary(examples: Sequence[TagExample]) -> list[str]:
    """The distinct tags of labelled `examples`, sorted, with "O" first when present (so
    label 0, the label of ignored positions, is the outside tag).

    >>> words = ((0, 1), (2, 3), (4, 5))
    >>> tag_vocabulary([TagExample("a b c", words, ("I-PER", "O", "B-LOC"), "x.conll:1")])
    ['O', 'B-LOC', 'I-PER']
    """
    tags = set()
    for example in examples:
        if example.tags is None:
            raise ValueError(f"{example.source}: the tag vocabulary needs labelled sentences; "
                             f"this one has no tags.")
        tags.update(example.tags)
    if not tags:
        raise ValueError("the tag vocabulary needs labelled sentences; got no words.")
    return sorted(tags, key=lambda tag: (tag != "O", tag))


def check_tags(examples: Sequence[TagExample], vocabulary: Sequence[str]) -> None:
    """Raises ValueError, naming the sentence's file:line, the word and its tag, if a tag of
    `examples` is not in `vocabulary` (e.g. an eval file's tag the training file lacks).

    >>> example = TagExample("Rome", ((0, 4),), ("B-LOC",), "dev.conll:3")
    >>> check_tags([example], ["O", "B-PER"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: dev.conll:3: word 1 'Rome' has tag 'B-LOC', which is not one of the model's ...
    """
    known = set(vocabulary)
    for example in examples:
        for index, tag in enumerate(example.tags or ()):
            if tag not in known:
                raise ValueError(f"{example.source}: word {index + 1} "
                                 f"{example.word_text(index)!r} has tag {tag!r}, which is not one "
                                 f"of the model's tags {list(vocabulary)}.")


@dataclasses.dataclass(frozen=True)
class TagFeatures:
    """Windows of tagged sentences, as NumPy arrays (W windows, T = seq_length).

    `input_word_ids`, `input_mask`, `input_type_ids`: int32 [W, T], the model's features.
    `labels`: int32 [W, T], the tag index at a word's first piece, 0 elsewhere. `label_weights`:
    float32 [W, T], 1.0 where a label is taught (first pieces of labelled words), else 0.
    `example_index`: int32 [W], the sentence of each window. `word_index`: int32 [W, T], the
    word of a first-piece position, -1 elsewhere. `max_context`: bool [W, T], True at the one
    position each word is predicted from.
    """

    input_word_ids: np.ndarray
    input_mask: np.ndarray
    input_type_ids: np.ndarray
    labels: np.ndarray
    label_weights: np.ndarray
    example_index: np.ndarray
    word_index: np.ndarray
    max_context: np.ndarray

    def __len__(self) -> int:
        return len(self.example_index)

    inputs = property(feature_arrays, doc="The three model inputs by their feature names.")


def encode_tagging(examples: Sequence[TagExample], tokenizer: BertTokenizer,
                   tag_vocabulary: Sequence[str], *, seq_length: int,
                   stride: int | None = None) -> TagFeatures:
    """Tokenizes `examples` and packs them into windows of `seq_length` (see the module
    docstring). `stride` defaults to (seq_length - 2) // 2. Unlabelled examples (tags None)
    get no label weights. Example: the module docstring."""
    if not isinstance(seq_length, int) or seq_length < 3:
        raise ValueError(f"`seq_length` must be an int >= 3 ([CLS], a piece, [SEP]); "
                         f"got {seq_length!r}")
    max_pieces = seq_length - 2
    stride = max(1, max_pieces // 2) if stride is None else stride
    if not isinstance(stride, int) or not 1 <= stride <= max_pieces:
        raise ValueError(f"`stride` must be an int in [1, seq_length - 2 = {max_pieces}]; "
                         f"got {stride!r}")
    check_tags(examples, tag_vocabulary)
    tag_ids = {tag: index for index, tag in enumerate(tag_vocabulary)}
    special = tokenizer.special_ids
    rows = []
    pieces = tokenize_texts([example.text for example in examples], tokenizer)
    for index, (example, (ids, starts, _)) in enumerate(zip(examples, pieces)):
        word = _piece_words(example, starts)  # [P]
        new_word = (word == -1) | (word != np.append(-2, word[:-1]))  # a word's first piece
        is_first = new_word & (word >= 0)
        windows = _windows(new_word, max_pieces, stride)
        best = np.full(len(example.words) + 1, -1)  # word -> its window; [-1] for no word
        best[word[is_first]] = _max_context_windows(np.flatnonzero(is_first), windows,
                                                    max_pieces)
        labels = np.zeros(len(ids), np.int32)
        if example.tags is not None:
            labels[is_first] = [tag_ids[example.tags[w]] for w in word[is_first]]
        for number, (start, end) in enumerate(windows):
            first = is_first[start:end]
            rows.append((index,
                         np.concatenate([[special[CLS]], ids[start:end], [special[SEP]]]),
                         np.where(first, word[start:end], -1),
                         np.where(first, labels[start:end], 0),
                         first & (example.tags is not None),
                         first & (best[word[start:end]] == number)))
    return _pack(rows, seq_length, special[PAD])


def _piece_words(example: TagExample, starts: np.ndarray) -> np.ndarray:
    """The word each piece is in (by its start offset), -1 for a piece in no word."""
    if not example.words:
        return np.full(len(starts), -1, np.int64)
    word_starts = np.array([start for start, _ in example.words], np.int64)
    word_ends = np.array([end for _, end in example.words], np.int64)
    word = np.searchsorted(word_starts, starts, "right") - 1
    inside = (word >= 0) & (starts < word_ends[np.maximum(word, 0)])
    return np.where(inside, word, -1)


def _windows(new_word: np.ndarray, max_pieces: int, stride: int) -> list[tuple[int, int]]:
    """[start, end) piece ranges of the windows of a sentence (`new_word[i]`: piece i starts
    a word); they cover every piece and consecutive windows overlap or touch."""
    count = len(new_word)
    word_starts = np.flatnonzero(new_word)

    def word_start_or(low: int, high: int) -> int:
        """The last word start in (low, high], or `high` if there is none."""
        found = np.searchsorted(word_starts, high, "right") - 1
        return int(word_starts[found]) if found >= 0 and word_starts[found] > low else high

    windows, start = [], 0
    while start + max_pieces < count:
        end = word_start_or(start, start + max_pieces)
        windows.append((start, end))
        start = word_start_or(start, start + stride)
    windows.append((start, count))
    return windows


def _max_context_windows(first_pieces: np.ndarray, windows: list[tuple[int, int]],
                         max_pieces: int) -> np.ndarray:
    """For each word (in order), the window its first piece has the most context in:
    the largest min(pieces before, pieces after), then the longest window, then the first."""
    starts = np.array([start for start, _ in windows])[None, :]  # [1, N]
    ends = np.array([end for _, end in windows])[None, :]
    piece = first_pieces[:, None]  # [F, 1]
    context = np.minimum(piece - starts, ends - 1 - piece)  # [F, N]
    score = context * (max_pieces + 1) + (ends - starts)  # lexicographic: context, then length
    score = np.where((starts <= piece) & (piece < ends), score, -1)
    return score.argmax(axis=1) if len(first_pieces) else np.zeros(0, np.int64)


def _pack(rows: list, seq_length: int, pad_id: int) -> TagFeatures:
    count = len(rows)
    ids = np.full((count, seq_length), pad_id, np.int32)
    mask = np.zeros((count, seq_length), np.int32)
    words = np.full((count, seq_length), -1, np.int32)
    labels = np.zeros((count, seq_length), np.int32)
    weights = np.zeros((count, seq_length), np.float32)
    max_context = np.zeros((count, seq_length), bool)
    for row, (_, piece_ids, word, label, taught, best) in enumerate(rows):
        positions = slice(1, 1 + len(word))  # after [CLS]
        ids[row, :len(piece_ids)] = piece_ids
        mask[row, :len(piece_ids)] = 1
        words[row, positions] = word
        labels[row, positions] = label
        weights[row, positions] = taught
        max_context[row, positions] = best
    return TagFeatures(ids, mask, np.zeros_like(mask), labels, weights,
                       np.array([row[0] for row in rows], np.int32), words, max_context)


@dataclasses.dataclass(frozen=True)
class TagPrediction:
    """The predicted `tags` of a sentence's words, with `scores` (each tag's softmax
    probability; 1.0 for a word without pieces, tagged "O"), and its `entities`: dicts
    with "label", code point "start" and "end" in the text, "text" and "score" (the mean of
    the entity's word scores)."""

    tags: tuple[str, ...]
    scores: tuple[float, ...]
    entities: list[dict]


def decode_tagging(examples: Sequence[TagExample], features: TagFeatures, logits,
                   tag_vocabulary: Sequence[str], *,
                   chunker: Chunker = entities) -> list[TagPrediction]:
    """Word tags and entities from `logits` [W, T, C] for `features` of `examples`.

    A word's tag is the argmax at its first piece in its max-context window; a word without
    pieces is "O". Entities group the tags with `chunker` (default `tfbert.metrics.entities`,
    seqeval's lenient chunking: `chunker(tags) -> [(type, first word, last word inclusive)]`).
    One prediction per example, in order. Example: the module docstring.
    """
    logits = np.asarray(logits)
    expected = (len(features), features.input_word_ids.shape[1], len(tag_vocabulary))
    if logits.shape != expected:
        raise ValueError(f"`logits` must have shape [windows, seq_length, tags] = {expected}; "
                         f"got {logits.shape}")
    if len(features) and features.example_index.max() + 1 != len(examples):
        raise ValueError(f"`features` were encoded from {features.example_index.max() + 1} "
                         f"examples; got {len(examples)} examples")
    window, position = np.nonzero(features.max_context)  # one per word with pieces
    chosen = logits[window, position].astype(np.float64)  # [K, C]
    probabilities = np.exp(chosen - chosen.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    best = probabilities.argmax(axis=1)
    tags = [["O"] * len(example.words) for example in examples]
    scores = [[1.0] * len(example.words) for example in examples]
    for example, word, tag, score in zip(features.example_index[window].tolist(),
                                         features.word_index[window, position].tolist(),
                                         best.tolist(), probabilities.max(axis=1).tolist()):
        tags[example][word] = tag_vocabulary[tag]
        scores[example][word] = score
    return [_prediction(example, example_tags, example_scores, chunker)
            for example, example_tags, example_scores in zip(examples, tags, scores)]


def _prediction(example: TagExample, tags: list[str], scores: list[float],
                chunker: Chunker) -> TagPrediction:
    entities = []
    for label, first, last in chunker(list(tags)):
        start, end = example.words[first][0], example.words[last][1]
        entities.append({"label": label, "start": start, "end": end,
                         "text": example.text[start:end],
                         "score": float(np.mean(scores[first:last + 1]))})
    return TagPrediction(tuple(tags), tuple(scores), entities)
