"""Token tagging (NER) data files: CoNLL-style columns and JSONL with character spans.

Both readers return `TagExample`s: a sentence's text, the code point span of each word in it and
one tag per word. CoNLL files give the words (one per line, the tag in the last column); the text
is the words joined by single spaces. JSONL files give the text and entity spans; their words are
BERT's words (a WordPiece that does not start with "##" plus the "##" pieces after it), so every
entity boundary must fall between words. Tags may use IOB1, IOB2 or BIOES (IOBES) and are kept as
written. Every problem in a file is reported with its file and line.
"""
from __future__ import annotations

import bisect
import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf

from tfbert.text.tokenizer import SUFFIX_INDICATOR, BertTokenizer

TAG_FORMS = "'O' or PREFIX-TYPE with PREFIX one of B, I, E, S (IOB1, IOB2, BIOES), e.g. 'B-PER'"
BATCH_SIZE = 256  # texts per tokenizer call
_TAG = re.compile(r"[BIES]-\S+")

Span = tuple[int, int]


@dataclasses.dataclass(frozen=True)
class TagExample:
    """One sentence: `words[i]` is the code point span [start, end) of word i in `text`,
    `tags[i]` its tag (`tags` is None for unlabelled input), `source` is "path:line" of the
    sentence's first line.

    >>> example = TagExample("Ann met Bob", ((0, 3), (4, 7), (8, 11)), ("B-PER", "O", "B-PER"),
    ...                      "x.conll:1")
    >>> [example.text[start:end] for start, end in example.words]
    ['Ann', 'met', 'Bob']
    """

    text: str
    words: tuple[Span, ...]
    tags: tuple[str, ...] | None
    source: str

    def __post_init__(self):
        if self.tags is not None and len(self.tags) != len(self.words):
            raise ValueError(f"{self.source}: expected one tag per word; got {len(self.tags)} "
                             f"tags for {len(self.words)} words.")
        previous_end = 0
        for start, end in self.words:
            if not previous_end <= start < end <= len(self.text):
                raise ValueError(f"{self.source}: word spans must be non-empty, in order, not "
                                 f"overlapping and within the text ({len(self.text)} "
                                 f"characters); got {list(self.words)}.")
            previous_end = end

    def word_text(self, index: int) -> str:
        """The text of word `index`."""
        start, end = self.words[index]
        return self.text[start:end]


def check_tag(tag: str, where: str) -> None:
    """Raises ValueError naming `where` unless `tag` is 'O' or B-/I-/E-/S-TYPE.

    >>> check_tag("S-LOC", "x:1")
    >>> check_tag("PER", "train.conll:7")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: train.conll:7: tag 'PER' is not a valid tag; expected 'O' or PREFIX-TYPE with ...
    """
    if tag != "O" and not _TAG.fullmatch(tag):
        raise ValueError(f"{where}: tag {tag!r} is not a valid tag; expected {TAG_FORMS}.")


def read_tagging_file(path: str | os.PathLike,
                      tokenizer: BertTokenizer | None = None) -> list[TagExample]:
    """Reads a CoNLL-style file (any extension but .jsonl) or a JSONL file (needs `tokenizer`).

    CoNLL: one token per line with its tag in the last whitespace-separated column (other
    columns, e.g. CoNLL-2003's POS and chunk tags, are ignored); blank lines end sentences;
    `-DOCSTART-` lines are skipped. A file whose every line has a single column is unlabelled
    (tags None). JSONL: one `{"text": ..., "entities": [{"start", "end", "label"}, ...]}` object
    per line, spans in code points with `end` exclusive; tags become IOB2. Without
    "entities" on any line the file is unlabelled.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.conll"
    >>> _ = path.write_text("-DOCSTART- -X- O\\n\\nAnn NNP B-PER\\nran VBD O\\n\\nBo NNP B-PER\\n")
    >>> [(e.text, e.tags, Path(e.source).name) for e in read_tagging_file(path)]
    [('Ann ran', ('B-PER', 'O'), 'train.conll:3'), ('Bo', ('B-PER',), 'train.conll:6')]
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Tagging data file not found: {path}")
    if path.suffix.lower() == ".jsonl":
        if tokenizer is None:
            raise ValueError(f"{path}: reading JSONL needs the model's tokenizer (its words are "
                             f"BERT's words); pass `tokenizer=`.")
        examples = _read_jsonl(path, tokenizer)
    else:
        examples = _read_conll(path)
    if not examples:
        raise ValueError(f"{path} has no sentences.")
    return examples


def examples_from_texts(texts: Sequence[str], tokenizer: BertTokenizer,
                        source: str = "text") -> list[TagExample]:
    """Unlabelled examples from raw texts; words are BERT's words, as for JSONL files.
    `source` of text i is f"{source}:{i + 1}".

    >>> import os, tempfile
    >>> vocab = os.path.join(tempfile.mkdtemp(), "vocab.txt")
    >>> _ = open(vocab, "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nnew\\n##ark\\n!\\n")
    >>> example, = examples_from_texts(["Newark!"], BertTokenizer(vocab))
    >>> [example.word_text(i) for i in range(len(example.words))], example.tags
    (['Newark', '!'], None)
    """
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{source}:{index + 1}: expected a str; got {type(text).__name__}.")
    return [TagExample(text, words, None, f"{source}:{index + 1}")
            for index, (text, words) in enumerate(zip(texts, bert_words(texts, tokenizer)))]


def tokenize_texts(texts: Sequence[str], tokenizer: BertTokenizer
                   ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ids, starts, ends) int32 arrays of each text's WordPieces, `BATCH_SIZE` texts per
    tokenizer call; a piece covers text[start:end]."""
    for first in range(0, len(texts), BATCH_SIZE):
        batch = tf.constant(list(texts[first:first + BATCH_SIZE]), tf.string)
        ids, starts, ends = tokenizer.tokenize_with_offsets(batch)
        splits = ids.row_splits.numpy()
        flat = [part.flat_values.numpy() for part in (ids, starts, ends)]
        for row in range(len(splits) - 1):
            yield tuple(values[splits[row]:splits[row + 1]] for values in flat)


def bert_words(texts: Sequence[str], tokenizer: BertTokenizer) -> list[tuple[Span, ...]]:
    """The spans of BERT's words in each text: a piece that does not start with "##" and the
    "##" pieces after it span [first piece's start, last piece's end)."""
    continuation = np.array([token.startswith(SUFFIX_INDICATOR) for token in tokenizer.vocabulary])
    words = []
    for ids, starts, ends in tokenize_texts(texts, tokenizer):
        first = np.flatnonzero(~continuation[ids])  # a word's first piece
        last = np.append(first[1:], len(ids))[:len(first)] - 1
        spans = []
        for start, end in zip(starts[first].tolist(), ends[last].tolist()):
            if spans and start < spans[-1][1]:
                # Words from one expanded character share it: merge them into one word.
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
        words.append(tuple(spans))
    return words


# === CoNLL ===

def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line; lines end at "\\n" (a trailing "\\r" is dropped)."""
    for number, raw in enumerate(path.read_bytes().split(b"\n"), 1):
        try:
            yield number, raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}:{number}: not UTF-8 text ({error.reason} at byte "
                             f"{error.start} of the line).") from None


def _read_conll(path: Path) -> list[TagExample]:
    rows = []  # (line number, columns); None columns end a sentence
    for number, line in _lines(path):
        columns = line.split()
        if columns and columns[0] == "-DOCSTART-":
            columns = []
        rows.append((number, columns or None))
    tagged = any(columns is not None and len(columns) > 1 for _, columns in rows)
    examples, sentence = [], []
    for number, columns in rows + [(0, None)]:
        if columns is None:
            if sentence:
                examples.append(_conll_sentence(path, sentence, tagged))
            sentence = []
            continue
        if tagged:
            if len(columns) == 1:
                raise ValueError(f"{path}:{number}: expected a token and its tag (the tag in the "
                                 f"last column); got one column {columns[0]!r}. Only a file "
                                 f"whose every line has one column is read as untagged.")
            check_tag(columns[-1], f"{path}:{number}")
        sentence.append((number, columns[0], columns[-1] if tagged else None))
    return examples


def _conll_sentence(path: Path, rows: list, tagged: bool) -> TagExample:
    words, start = [], 0
    for _, token, _ in rows:
        words.append((start, start + len(token)))
        start += len(token) + 1
    text = " ".join(token for _, token, _ in rows)
    tags = tuple(tag for _, _, tag in rows) if tagged else None
    return TagExample(text, tuple(words), tags, f"{path}:{rows[0][0]}")


# === JSONL ===

def _read_jsonl(path: Path, tokenizer: BertTokenizer) -> list[TagExample]:
    rows = []  # (line number, text, entities or None)
    for number, line in _lines(path):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg} at column {error.colno}).") \
                from None
        if not isinstance(row, dict):
            raise ValueError(f"{where}: each line must be a JSON object with \"text\" and "
                             f"\"entities\"; got {type(row).__name__}.")
        if not isinstance(row.get("text"), str):
            got = "no \"text\"" if "text" not in row else type(row["text"]).__name__
            raise ValueError(f"{where}: \"text\" must be a string; got {got}.")
        entities = _entities(row, len(row["text"]), where) if "entities" in row else None
        rows.append((number, row["text"], entities))
    labelled = {entities is not None for _, _, entities in rows}
    if len(labelled) > 1:
        number = next(number for number, _, entities in rows if entities is None)
        raise ValueError(f"{path}:{number}: this line has no \"entities\" but others do; give "
                         f"every line \"entities\" (an empty list for none) or none of them.")
    words = bert_words([text for _, text, _ in rows], tokenizer)
    return [TagExample(text, spans, None if entities is None
                       else _iob2_tags(text, spans, entities, f"{path}:{number}"),
                       f"{path}:{number}")
            for (number, text, entities), spans in zip(rows, words)]


def _entities(row: dict, length: int, where: str) -> list[tuple[int, int, str]]:
    """The entities of `row`, validated and sorted by start."""
    if not isinstance(row["entities"], list):
        raise ValueError(f"{where}: \"entities\" must be a list; got "
                         f"{type(row['entities']).__name__}.")
    entities = []
    for entity in row["entities"]:
        if not isinstance(entity, dict):
            raise ValueError(f"{where}: each entity must be an object with \"start\", \"end\" "
                             f"and \"label\"; got {entity!r}.")
        start, end, label = entity.get("start"), entity.get("end"), entity.get("label")
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
            raise ValueError(f"{where}: entity {entity!r}: \"start\" and \"end\" must be "
                             f"integers (code point offsets).")
        if not isinstance(label, str) or not label or label.split() != [label]:
            raise ValueError(f"{where}: entity {entity!r}: \"label\" must be a non-empty string "
                             f"without spaces.")
        if not 0 <= start < end <= length:
            raise ValueError(f"{where}: entity {entity!r}: span [{start}, {end}) must satisfy "
                             f"0 <= start < end <= {length} (the text's length in code points).")
        entities.append((start, end, label))
    entities.sort()
    for (start, end, label), (next_start, next_end, next_label) in zip(entities, entities[1:]):
        if next_start < end:
            raise ValueError(f"{where}: entities overlap: {label} [{start}, {end}) and "
                             f"{next_label} [{next_start}, {next_end}).")
    return entities


def _iob2_tags(text: str, words: tuple[Span, ...], entities: list, where: str) -> tuple[str, ...]:
    tags = ["O"] * len(words)
    word_starts = [start for start, _ in words]
    word_ends = [end for _, end in words]
    for start, end, label in entities:
        for boundary in (start, end):
            index = bisect.bisect_right(word_starts, boundary) - 1
            if index >= 0 and word_starts[index] < boundary < word_ends[index]:
                word_start, word_end = words[index]
                raise ValueError(
                    f"{where}: entity {label} [{start}, {end}) {text[start:end]!r} has a "
                    f"boundary at {boundary}, inside the word {text[word_start:word_end]!r} "
                    f"[{word_start}, {word_end}); entity boundaries must fall between "
                    f"BERT's words.")
        first = bisect.bisect_left(word_starts, start)
        last = bisect.bisect_right(word_ends, end) - 1
        if first > last:
            raise ValueError(f"{where}: entity {label} [{start}, {end}) {text[start:end]!r} "
                             f"covers no word (only spaces or characters BERT deletes).")
        tags[first] = f"B-{label}"
        tags[first + 1:last + 1] = [f"I-{label}"] * (last - first)
    return tuple(tags)
