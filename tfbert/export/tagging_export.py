"""`tag`: raw texts to entities (label, code point span, text, score) inside the graph.

The graph computes what the in-process predictor computes (`tfbert.tasks.tagging_data`:
`examples_from_texts`, `encode_tagging`, `decode_tagging`), with TF ops only: BERT's words (a
WordPiece not starting with "##" and the "##" pieces after it; words that share an expanded
character are one word), windows of `seq_length - 2` pieces that start at word starts `stride`
pieces apart and end before a word they cannot hold whole (a long text is split, never
truncated), each word's tag read at its first piece in the window where it has the most
context, the tag's softmax probability as the word's score, and seqeval's default chunking of
the word tags into entities (`chunk_tags`; an entity's score is the mean of its words' scores).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfbert.export.serving_task import TEXT, ServingTask
from tfbert.metrics import entities
from tfbert.models import FEATURES, BertTokenClassifier, TaskModel
from tfbert.tasks.tagging_data import decode_tagging, encode_tagging, examples_from_texts
from tfbert.text.tokenizer import SUFFIX_INDICATOR
from tfbert.text.vocab import CLS, PAD, SEP

OFFSET = 2 ** 32  # above any code point offset: row * OFFSET + offset sorts by (row, offset)
_INT32_MAX = np.iinfo(np.int32).max


def _key(row: tf.Tensor, offset: tf.Tensor) -> tf.Tensor:
    """int64 keys ordered by (row, offset)."""
    return tf.cast(row, tf.int64) * OFFSET + tf.cast(offset, tf.int64)


def _shift_right(values: tf.Tensor, fill) -> tf.Tensor:
    """[fill, values[0], ..., values[-2]] for a rank-1 `values`."""
    return tf.concat([tf.fill([1], tf.cast(fill, values.dtype)), values], 0)[:tf.size(values)]


def _padded(values: tf.Tensor, fill) -> tf.Tensor:
    """`values` with one `fill` appended: index len(values) is then a safe dummy."""
    return tf.concat([values, tf.fill([1], tf.cast(fill, values.dtype))], 0)


def _cumulative_max(values: tf.Tensor) -> tf.Tensor:
    """Running maximum of a rank-1 integer tensor, by doubling shifts (log2(N) steps)."""
    count = tf.size(values)
    lowest = values.dtype.min

    def step(shift, running):
        shifted = tf.concat([tf.fill([shift], tf.constant(lowest, values.dtype)), running],
                            0)[:count]
        return shift * 2, tf.maximum(running, shifted)

    _, result = tf.while_loop(lambda shift, _: shift < count, step, [tf.constant(1), values])
    return result


def words_of_pieces(ids: tf.RaggedTensor, starts: tf.RaggedTensor, ends: tf.RaggedTensor,
                    continuation: tf.Tensor) -> dict[str, tf.Tensor]:
    """BERT's words of a batch of tokenized texts, found as `tagging_files.bert_words` finds
    them, and the word of each piece as `encode_tagging` assigns it (by its start offset).

    `ids`, `starts`, `ends`: [B, (P)] int32 from `tokenize_with_offsets`; `continuation`: bool
    [vocabulary], True for "##" tokens. Returns `word_row`, `word_start`, `word_end` [K] (the
    text and code point span of each word, text-major), `piece_word` [N] (the word of each
    piece, -1 for none), `first_piece` [N] (True at the first piece of a word) and `new_word`
    [N] (True where a window may start: a first piece, a piece of no word, a text's first).

    >>> ragged = lambda rows: tf.ragged.constant(rows, tf.int32)
    >>> words = words_of_pieces(ragged([[5, 6, 7], []]), ragged([[0, 2, 4], []]),
    ...                         ragged([[2, 4, 5], []]), tf.constant([False] * 6 + [True, False]))
    >>> [words[name].numpy().tolist() for name in ("word_start", "word_end", "piece_word")]
    [[0, 4], [4, 5], [0, 0, 1]]
    """
    splits = tf.cast(ids.row_splits, tf.int32)  # [B + 1]
    piece_row = tf.cast(ids.value_rowids(), tf.int32)  # [N]
    starts, ends = starts.flat_values, ends.flat_values  # [N]
    count = tf.size(starts)
    first = tf.cast(tf.where(~tf.gather(continuation, ids.flat_values))[:, 0], tf.int32)  # [F]
    first_row = tf.gather(piece_row, first)
    following = tf.concat([first[1:], [count]], 0)
    last = tf.minimum(following, tf.gather(splits, first_row + 1)) - 1  # [F] its last piece
    first_start = _key(first_row, tf.gather(starts, first))
    first_end = _key(first_row, tf.gather(ends, last))
    # A candidate joins the word before it when it starts before the end of its text's words
    # so far (pieces of one expanded character share it); else it starts a word.
    reached = _shift_right(_cumulative_max(first_end), tf.int64.min)
    new = first_start >= reached  # [F]
    word_of_first = tf.cumsum(tf.cast(new, tf.int32)) - 1
    num_words = tf.reduce_sum(tf.cast(new, tf.int32))
    word_key = tf.boolean_mask(first_start, new)  # [K], sorted
    word_row = tf.boolean_mask(first_row, new)
    word_start = tf.boolean_mask(tf.gather(starts, first), new)
    word_end = tf.math.unsorted_segment_max(tf.gather(ends, last), word_of_first, num_words)
    # The word of a piece: the last word starting at or before the piece's start, if the
    # piece starts inside it.
    word = tf.searchsorted(word_key, _key(piece_row, starts), "right", out_type=tf.int32) - 1
    safe = tf.where(word >= 0, word, num_words)
    inside = ((word >= 0) & (tf.gather(_padded(word_row, -1), safe) == piece_row)
              & (starts < tf.gather(_padded(word_end, 0), safe)))
    piece_word = tf.where(inside, word, -1)  # [N]
    local = tf.range(count) - tf.gather(splits, piece_row)
    new_word = (piece_word == -1) | (local == 0) | (piece_word != _shift_right(piece_word, -2))
    return {"word_row": word_row, "word_start": word_start, "word_end": word_end,
            "piece_word": piece_word, "first_piece": new_word & (piece_word >= 0),
            "new_word": new_word}


def _windows(splits: tf.Tensor, new_word: tf.Tensor, max_pieces: int, stride: int):
    """(row, start, end) [W] of the windows of every text, text-major, in global piece
    indices: the windows `encode_tagging` cuts (an empty text has one empty window)."""
    count = tf.size(new_word)
    position = tf.range(count)
    latest = _padded(_cumulative_max(tf.where(new_word, position, -1)), -1)  # word start <= i

    def word_start_or(low, high):
        """The last word start in (low, high], else `high` (high < its text's end)."""
        found = tf.gather(latest, tf.minimum(high, count))
        return tf.where(found > low, found, high)

    window_end = _padded(word_start_or(position, position + max_pieces), 0)  # [N + 1]
    next_start = _padded(word_start_or(position, position + stride), 0)
    text_start, text_end = splits[:-1], splits[1:]  # [B]

    def step(index, start, active, starts, ends, actives):
        more = start + max_pieces < text_end  # [B]
        safe = tf.where(more, start, count)
        end = tf.where(more, tf.gather(window_end, safe), text_end)
        return (index + 1, tf.where(more, tf.gather(next_start, safe), start), active & more,
                starts.write(index, start), ends.write(index, end), actives.write(index, active))

    arrays = [tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=[None])
              for dtype in (tf.int32, tf.int32, tf.bool)]
    # At least one step, so that an empty batch still stacks to [1, 0].
    _, _, _, starts, ends, actives = tf.while_loop(
        lambda index, _, active, *__: (index == 0) | tf.reduce_any(active), step,
        [tf.constant(0), text_start, tf.ones_like(text_start, tf.bool), *arrays])
    actives = tf.transpose(actives.stack())  # [B, S]
    rows = tf.broadcast_to(tf.range(tf.size(text_start))[:, None], tf.shape(actives))
    return tuple(tf.boolean_mask(values, actives)
                 for values in (rows, tf.transpose(starts.stack()), tf.transpose(ends.stack())))


def chunk_tags(tags: tf.RaggedTensor) -> dict[str, tf.RaggedTensor]:
    """seqeval's default chunking (`tfbert.metrics.entities`) of tag sequences, in TF ops.

    `tags`: tf.string [B, (n)] ("O", B-/I-/E-/S-TYPE or a bare prefix). Returns `label`
    (string), `first` and `last` (int32, the entity's first and last word, inclusive), each
    [B, (E)].

    >>> chunks = chunk_tags(tf.ragged.constant([["B-PER", "I-PER", "O", "I-LOC", "S-ORG"], []]))
    >>> [chunks[name].to_list() for name in ("label", "first", "last")]
    [[[b'PER', b'LOC', b'ORG'], []], [[0, 3, 4], []], [[1, 3, 4], []]]
    """
    batch = tags.nrows()
    tags = tf.concat([tags, tf.RaggedTensor.from_tensor(tf.fill([batch, 1], "O"))], axis=1)
    tag = tags.flat_values  # [M]: each sentence, then an O that ends its last entity
    length = tf.strings.length(tag)
    prefix = tf.strings.substr(tag, 0, 1)
    skip = tf.minimum(length, 2)  # "B-"
    label = tf.where(length <= 1, "_", tf.strings.substr(tag, skip, length - skip))
    row = tags.value_rowids()
    position = tf.cast(tf.range(tf.size(tag), dtype=tf.int64) - tf.gather(tags.row_splits, row),
                       tf.int32)
    opening = position == 0  # seqeval starts from an O of no type
    previous_prefix = tf.where(opening, "O", _shift_right(prefix, ""))
    previous_label = tf.where(opening, "", _shift_right(label, ""))

    def one_of(values, choices):
        return tf.reduce_any(tf.stack([values == choice for choice in choices]), axis=0)

    changed = previous_label != label
    ends = (one_of(previous_prefix, "ES")
            | (one_of(previous_prefix, "BI") & one_of(prefix, "BSO"))
            | ((previous_prefix != "O") & changed))
    starts = (one_of(prefix, "BS")
              | (one_of(prefix, "IE") & one_of(previous_prefix, "OES"))
              | ((prefix != "O") & changed))
    # Every entity that starts ends (at the latest at the O appended), so the k-th start of
    # the batch pairs with its k-th end.
    entity_row = tf.boolean_mask(row, starts)

    def ragged(values):
        return tf.RaggedTensor.from_value_rowids(values, entity_row, nrows=batch)

    return {"label": ragged(tf.boolean_mask(label, starts)),
            "first": ragged(tf.boolean_mask(position, starts)),
            "last": ragged(tf.boolean_mask(position, ends) - 1)}


class TagTask(ServingTask):
    """Entities of raw texts from a `BertTokenClassifier` whose labels are tags ("O",
    B-/I-/E-/S-TYPE: IOB1, IOB2 or BIOES), exactly as the in-process predictor finds them
    (see the module docstring). `stride`: pieces between window starts, default
    (seq_length - 2) // 2 as `encode_tagging`.

    `serving_default` (`text` [B]) returns, for E the most entities of a text in the batch:
    `entity_labels` [B, E] string (the type, e.g. "PER"), `entity_starts` / `entity_ends`
    [B, E] int32 (code point offsets: the entity is `text[start:end]`), `entity_texts` [B, E]
    string, `entity_scores` [B, E] float32 (mean probability of its words' tags), padded with
    "" / -1 / "" / 0; and `num_entities` [B] int32. `preprocess` returns the model's features
    of every window, [W, longest window] int32, and `text_index` [W] int32, the text of each
    window (windows in text order). There is no `text_pair` signature.

    >>> import os, tempfile, tfbert
    >>> vocab = os.path.join(tempfile.mkdtemp(), "vocab.txt")
    >>> tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ann", "met", "bo", "##b"]
    >>> _ = open(vocab, "w").write("\\n".join(tokens))
    >>> model = tfbert.BertTokenClassifier(tfbert.BertConfig.preset("bert_tiny"), num_labels=3,
    ...                                    labels=["O", "B-PER", "I-PER"])
    >>> head = model.get_layer("classifier")
    >>> _ = head.kernel.assign(tf.zeros_like(head.kernel))  # every word B-PER
    >>> _ = head.bias.assign([0.0, 2.0, 1.0])
    >>> outputs = TagTask(model, vocab, True, 16).signatures()["serving_default"](
    ...     tf.constant(["Ann met Bob", ""]))
    >>> outputs["entity_texts"].numpy().tolist(), outputs["entity_ends"].numpy().tolist()
    ([[b'Ann', b'met', b'Bob'], [b'', b'', b'']], [[3, 7, 11], [-1, -1, -1]])
    >>> outputs["entity_labels"].numpy()[0].tolist(), outputs["num_entities"].numpy().tolist()
    ([b'PER', b'PER', b'PER'], [3, 0])
    """

    name = "tag"

    def __init__(self, model: TaskModel, vocab_file: str, lower_case: bool, seq_length: int,
                 stride: int | None = None, compat: str = "google"):
        if not isinstance(model, BertTokenClassifier):
            raise ValueError(f"task 'tag' needs a BertTokenClassifier model directory; got "
                             f"{type(model).__name__}")
        super().__init__(model, vocab_file, lower_case, seq_length, compat=compat)
        if not model.labels:
            raise ValueError("task 'tag' needs the model's tag names (the `labels` of its "
                             "config.json task); this BertTokenClassifier has none")
        for label in model.labels:
            try:
                entities([label])
            except ValueError:
                raise ValueError(f"task 'tag' needs labels that are tags ('O' or B-/I-/E-/S- "
                                 f"followed by a type, e.g. 'B-PER'); got {label!r} in "
                                 f"{list(model.labels)}") from None
        self.labels = list(model.labels)
        self.max_pieces = seq_length - 2
        self.stride = max(1, self.max_pieces // 2) if stride is None else stride
        if isinstance(self.stride, bool) or not isinstance(self.stride, int) or \
                not 1 <= self.stride <= self.max_pieces:
            raise ValueError(f"`stride` must be an int in [1, seq_length - 2 = "
                             f"{self.max_pieces}]; got {stride!r}")

    def info(self) -> dict:
        return {**super().info(), "labels": self.labels, "stride": self.stride}

    def signatures(self) -> dict[str, tf.types.experimental.GenericFunction]:
        @tf.function(input_signature=[TEXT])
        def serving_default(text):
            return self.entity_outputs(text)

        @tf.function(input_signature=[TEXT])
        def preprocess(text):
            windows = self.windows(text)
            return {name: windows[name] for name in (*FEATURES, "text_index")}

        return {"serving_default": serving_default, "preprocess": preprocess}

    def windows(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """The windows of `text` ([B] strings): the three features and `text_index` [W],
        the word spans (`word_row`, `word_start`, `word_end` [K]), and `word_slot` [K], the
        flat [W * T] position each word is predicted from (-1: a word without pieces)."""
        tokenizer = self.preprocessor.tokenizer
        ids, starts, ends = tokenizer.tokenize_with_offsets(text)  # [B, (P)]
        continuation = tf.constant([token.startswith(SUFFIX_INDICATOR)
                                    for token in tokenizer.vocabulary])
        words = words_of_pieces(ids, starts, ends, continuation)
        splits = tf.cast(ids.row_splits, tf.int32)
        row, start, end = _windows(splits, words["new_word"], self.max_pieces,
                                   self.stride)  # [W]
        count = tf.size(ids.flat_values)
        length = end - start  # [W]
        width = tf.reduce_max(_padded(length, 0)) + 2  # T: [CLS] pieces [SEP]
        column = tf.range(width)[None, :]  # [1, T]
        is_piece = (column >= 1) & (column <= length[:, None])  # [W, T]
        piece = tf.where(is_piece, start[:, None] + column - 1, count)  # [W, T]; count: none
        special = tokenizer.special_ids
        word_ids = tf.where(column == 0, special[CLS],
                            tf.where(column == length[:, None] + 1, special[SEP], special[PAD]))
        word_ids = tf.where(is_piece, tf.gather(_padded(ids.flat_values, 0), piece), word_ids)
        mask = tf.cast(column <= length[:, None] + 1, tf.int32)
        # The max-context position of each word's first piece: the largest min(pieces before,
        # pieces after) in the window, then the longest window, then the first.
        first_here = is_piece & tf.gather(_padded(words["first_piece"], False), piece)
        context = tf.minimum(column - 1, length[:, None] - column)
        score = context * (self.max_pieces + 1) + length[:, None]  # [W, T]
        segment = tf.where(first_here, piece, count)
        best = tf.math.unsorted_segment_max(tf.where(first_here, score, -1), segment, count + 1)
        slot = tf.range(tf.size(row))[:, None] * width + column  # [W, T]
        chosen = first_here & (score == tf.gather(best, segment))
        piece_slot = tf.math.unsorted_segment_min(tf.where(chosen, slot, _INT32_MAX), segment,
                                                  count + 1)[:count]  # [N]
        num_words = tf.size(words["word_row"])
        owner = tf.where(words["first_piece"], words["piece_word"], num_words)
        word_slot = tf.math.unsorted_segment_max(
            tf.where(words["first_piece"], piece_slot, -1), owner, num_words + 1)[:num_words]
        return {"input_word_ids": word_ids, "input_mask": mask,
                "input_type_ids": tf.zeros_like(mask), "text_index": row,
                "word_row": words["word_row"], "word_start": words["word_start"],
                "word_end": words["word_end"], "word_slot": tf.maximum(word_slot, -1)}

    def entity_outputs(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """The `serving_default` outputs for `text` ([B] strings), in the graph."""
        windows = self.windows(text)
        logits = self.model({name: windows[name] for name in FEATURES},
                            training=False)["logits"]  # [W, T, C]
        has_piece = windows["word_slot"] >= 0  # [K]
        chosen = tf.gather(tf.reshape(logits, [-1, len(self.labels)]),
                           tf.maximum(windows["word_slot"], 0))  # [K, C]
        tags = tf.where(has_piece, tf.gather(tf.constant(self.labels), tf.argmax(chosen, -1)),
                        "O")
        scores = tf.where(has_piece, tf.reduce_max(tf.nn.softmax(chosen, -1), -1), 1.0)
        batch = tf.size(text, out_type=tf.int64)
        tags = tf.RaggedTensor.from_value_rowids(tags, tf.cast(windows["word_row"], tf.int64),
                                                 nrows=batch)  # [B, (words)]
        chunks = chunk_tags(tags)
        row = chunks["label"].value_rowids()  # [E']: the text of each entity
        word_base = tf.cast(tags.row_starts(), tf.int32)  # [B]
        first = chunks["first"].flat_values + tf.gather(word_base, row)
        last = chunks["last"].flat_values + tf.gather(word_base, row)
        start = tf.gather(windows["word_start"], first)
        end = tf.gather(windows["word_end"], last)
        score = tf.reduce_mean(tf.gather(scores, tf.ragged.range(first, last + 1)), axis=1)
        span = tf.strings.substr(tf.gather(text, row), start, end - start, unit="UTF8_CHAR")

        def dense(values, fill):
            return tf.RaggedTensor.from_value_rowids(values, row, nrows=batch).to_tensor(fill)

        return {"entity_labels": dense(chunks["label"].flat_values, ""),
                "entity_starts": dense(start, -1), "entity_ends": dense(end, -1),
                "entity_texts": dense(span, ""), "entity_scores": dense(score, 0.0),
                "num_entities": tf.cast(chunks["label"].row_lengths(), tf.int32)}

    def reference(self, signature: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """What `signature` must return, from the in-process predictor's functions
        (`examples_from_texts`, `encode_tagging`, the Keras model called eagerly,
        `decode_tagging`)."""
        tokenizer = self.preprocessor.tokenizer
        texts = [text.decode("utf-8") if isinstance(text, bytes) else str(text)
                 for text in inputs["text"]]
        examples = examples_from_texts(texts, tokenizer)
        features = encode_tagging(examples, tokenizer, self.labels,
                                  seq_length=self.preprocessor.seq_length, stride=self.stride)
        if signature == "preprocess":
            width = max(int(features.input_mask.sum(axis=1).max(initial=0)), 2)
            return {**{name: value[:, :width] for name, value in features.inputs.items()},
                    "text_index": features.example_index}
        logits = np.zeros(features.input_word_ids.shape + (len(self.labels),), np.float32)
        if len(features):
            logits = np.asarray(self.model(features.inputs, training=False)["logits"])
        predictions = decode_tagging(examples, features, logits, self.labels)
        rows = [prediction.entities for prediction in predictions]
        width = max(map(len, rows), default=0)

        def column(key, fill, dtype):
            values = [[entity[key] for entity in row] + [fill] * (width - len(row))
                      for row in rows]
            if dtype is object:  # strings as the graph returns them: UTF-8 bytes
                values = [[value.encode("utf-8") for value in row] for row in values]
            return np.array(values, dtype).reshape(len(rows), width)

        return {"entity_labels": column("label", "", object),
                "entity_starts": column("start", -1, np.int32),
                "entity_ends": column("end", -1, np.int32),
                "entity_texts": column("text", "", object),
                "entity_scores": column("score", 0.0, np.float64),
                "num_entities": np.array([len(row) for row in rows], np.int32)}
