"""`ExampleSampler`: tokenized documents to packed BERT examples, as original BERT pairs them.

The rules are those of the original `create_pretraining_data.py`, run for a pool of documents at
once with stateless random ops (so inside tf.data, in parallel, and reproducible from a seed):

- Each document draws a target length: `max_num_tokens` (`seq_length` - 3 for pairs, - 2 for
  single segments) or, with probability `short_seq_prob`, a uniform length in [2, max_num_tokens].
- Consecutive sentences are gathered into a chunk until it reaches the target (or the document
  ends). Segment A is the chunk's first `a_end` sentences, `a_end` uniform in [1, len(chunk) - 1].
- With probability 1/2, or always for a chunk of one sentence, B is random: sentences of another
  document of the pool, from a random sentence on until B reaches `target - len(A)`; the chunk's
  unused sentences are put back and start the next chunk. Otherwise B is the rest of the chunk.
- The longer segment loses one token at a time (B on ties) until both fit, each from its front or
  back with probability 1/2 (here: the number cut from the front is drawn as a binomial).
- Without next-sentence prediction (RoBERTa style), the whole chunk is one segment.

The original drew the random document from every document of its input files; here it comes
from the pool of documents read together (see `pretraining_dataset`'s `documents_per_pool`).

>>> sampler = ExampleSampler(seq_length=8, special_ids={"[CLS]": 1, "[SEP]": 2, "[PAD]": 0},
...                          next_sentence=False)
>>> documents = tf.ragged.constant([[[5, 6], [7]], [[8, 9, 10, 11, 12, 13, 14]]])
>>> features = sampler(documents, seed=tf.constant([1, 2], tf.int64))
>>> features["input_word_ids"].numpy().tolist()
[[1, 5, 6, 7, 2, 0, 0, 0], [1, 8, 9, 10, 11, 12, 13, 2]]
"""
from __future__ import annotations

import tensorflow as tf

from tfbert.data.seeds import fold, random_ints
from tfbert.text.truncation import pair_lengths
from tfbert.text.vocab import CLS, PAD, SEP

FEATURES = ("input_word_ids", "input_mask", "input_type_ids", "next_sentence_labels")
FLAGS = "token_flags"  # the packed `token_flags`, when given


class ExampleSampler:
    """Builds `input_word_ids`, `input_mask`, `input_type_ids` [N, seq_length] and
    `next_sentence_labels` [N, 1] (int32; 1 = B is random) from a pool of documents.

    Args:
        seq_length: the packed length.
        special_ids: the ids of [CLS], [SEP] and [PAD] (e.g. `BertTokenizer.special_ids`).
        short_seq_prob: how often a document aims at a random shorter length (0.1 as original).
        next_sentence: pairs with random Bs (True) or single segments (False; all labels 0).
    """

    def __init__(
        self,
        seq_length: int,
        special_ids: dict[str, int],
        short_seq_prob: float = 0.1,
        next_sentence: bool = True,
    ):
        self.num_specials = 3 if next_sentence else 2
        if not isinstance(seq_length, int) or seq_length < self.num_specials + 2:
            raise ValueError(
                f"`seq_length` must be an int of at least {self.num_specials + 2} "
                f"(next_sentence={next_sentence}); got {seq_length!r}"
            )
        if not 0.0 <= short_seq_prob <= 1.0:
            raise ValueError(f"`short_seq_prob` must be in [0, 1]; got {short_seq_prob!r}")
        self.seq_length = seq_length
        self.max_num_tokens = seq_length - self.num_specials
        self.short_seq_prob = float(short_seq_prob)
        self.next_sentence = bool(next_sentence)
        self.cls, self.sep, self.pad = (special_ids[token] for token in (CLS, SEP, PAD))

    @tf.autograph.experimental.do_not_convert  # plain TF ops; skip autograph's slow tracing
    def __call__(self, documents: tf.RaggedTensor, seed: tf.Tensor,
                 token_flags: tf.RaggedTensor | None = None) -> dict[str, tf.Tensor]:
        """Examples from `documents` (int ids [D, (sentences), (tokens)]); `seed`: int64 [2].

        Sentences without tokens and documents without sentences are ignored. `token_flags`
        (bool, the shape of `documents`) are packed along as `FLAGS` (bool [N, T]; False at
        special tokens and padding).
        """
        sentences = documents.values  # [S, (tokens)]
        has_tokens = sentences.row_lengths() > 0
        sentence_docs = tf.boolean_mask(documents.value_rowids(), has_tokens)  # [S']
        sentences = tf.ragged.boolean_mask(sentences, has_tokens)
        counts = tf.math.unsorted_segment_sum(
            tf.ones_like(sentence_docs), sentence_docs, documents.nrows())
        counts = tf.boolean_mask(counts, counts > 0)  # [D'] sentences per non-empty document
        doc_splits = tf.concat([[0], tf.cumsum(counts)], axis=0)  # [D' + 1] into sentences
        token_splits = sentences.row_splits  # [S' + 1] into tokens
        tokens = sentences.flat_values  # [K]

        short = tf.random.stateless_uniform(tf.shape(counts), fold(seed, 0)) < self.short_seq_prob
        short_target = random_ints(fold(seed, 1), tf.fill(tf.shape(counts), 2), self.max_num_tokens)
        targets = tf.where(short, short_target, self.max_num_tokens)  # [D']

        chunks = self._chunks(token_splits, doc_splits, targets, fold(seed, 2))
        first, last, a_sentences, is_random, doc = chunks  # [N] each
        a_start = tf.gather(token_splits, first)
        b_first = first + a_sentences
        a_length = tf.gather(token_splits, b_first) - a_start
        b_start = tf.gather(token_splits, b_first)
        b_length = tf.gather(token_splits, last + 1) - b_start
        if self.next_sentence:
            random_start, random_length = self._random_segments(
                token_splits, doc_splits, targets, doc, a_length, fold(seed, 3))
            b_start = tf.where(is_random, random_start, b_start)
            b_length = tf.where(is_random, random_length, b_length)
            keep_a, keep_b = pair_lengths(
                a_length, b_length, tf.constant(self.max_num_tokens, tf.int64), "round_robin")
        else:
            keep_a, keep_b = tf.minimum(a_length, self.max_num_tokens), tf.zeros_like(b_length)
        a_start += self._cut_from_front(a_length - keep_a, fold(seed, 4))
        b_start += self._cut_from_front(b_length - keep_b, fold(seed, 5))
        features = self._pack(tokens, a_start, keep_a, b_start, keep_b)
        features["next_sentence_labels"] = tf.cast(is_random, tf.int32)[:, None]
        if token_flags is not None:  # empty sentences hold no values: the same flat order
            flags = self._pack(tf.cast(token_flags.flat_values, tokens.dtype), a_start, keep_a,
                               b_start, keep_b)["input_word_ids"]
            position = tf.range(self.seq_length)[None, :]
            segments = (position > 0) & (features["input_mask"] > 0)
            segments &= ~tf.equal(features["input_word_ids"], self.sep)
            features[FLAGS] = (flags > 0) & segments
        return features

    def _chunks(self, token_splits, doc_splits, targets, seed):
        """The chunks of all documents: (first, last sentence, len(A), B is random, document).

        One loop step cuts the next chunk of every document still open, as the original does
        document by document.
        """
        starts, ends = doc_splits[:-1], doc_splits[1:]  # [D']
        doc_ids = tf.range(tf.size(starts, out_type=tf.int64), dtype=tf.int64)
        empty_ints = tf.zeros([0], tf.int64)
        found = (empty_ints, empty_ints, empty_ints, tf.zeros([0], tf.bool), empty_ints)

        def step(index, current, found):
            is_open = current < ends
            first = tf.minimum(current, ends - 1)
            wanted = tf.gather(token_splits, first) + targets
            # The first sentence at which the chunk reaches its target:
            last = tf.searchsorted(token_splits, wanted, side="left", out_type=tf.int64) - 1
            last = tf.clip_by_value(last, first, ends - 1)
            size = last - first + 1
            step_seed = fold(seed, index)
            a_sentences = tf.where(
                size >= 2, random_ints(fold(step_seed, 0), tf.ones_like(size), size - 1), 1)
            if self.next_sentence:
                coin = tf.random.stateless_uniform(tf.shape(size), fold(step_seed, 1))
                is_random = (size == 1) | (coin < 0.5)
                following = tf.where(is_random, first + a_sentences, last + 1)  # put back
            else:
                a_sentences = size
                is_random = tf.zeros_like(is_open)
                following = last + 1
            values = (first, last, a_sentences, is_random, doc_ids)
            found = tuple(
                tf.concat([so_far, tf.boolean_mask(value, is_open)], axis=0)
                for so_far, value in zip(found, values)
            )
            return index + 1, tf.where(is_open, following, current), found

        _, _, found = tf.while_loop(
            lambda index, current, found: tf.reduce_any(current < ends),
            step,
            (tf.constant(0), starts, found),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]),
                              tuple(tf.TensorShape([None]) for _ in found)),
        )
        return found

    def _random_segments(self, token_splits, doc_splits, targets, doc, a_length, seed):
        """Token start and length of each random B: another document, from a random sentence on,
        until B reaches the document's target minus len(A) (or that document ends)."""
        num_docs = tf.size(doc_splits, out_type=tf.int64) - 1
        others = tf.maximum(num_docs - 1, 1)
        other = random_ints(fold(seed, 0), tf.zeros_like(doc), others - 1)
        other = tf.where((num_docs > 1) & (other >= doc), other + 1, other)  # skip `doc` itself
        doc_first = tf.gather(doc_splits, other)
        doc_last = tf.gather(doc_splits, other + 1) - 1
        first = random_ints(fold(seed, 1), doc_first, doc_last)
        start = tf.gather(token_splits, first)
        wanted = start + tf.gather(targets, doc) - a_length
        last = tf.searchsorted(token_splits, wanted, side="left", out_type=tf.int64) - 1
        last = tf.clip_by_value(last, first, doc_last)
        return start, tf.gather(token_splits, last + 1) - start

    @staticmethod
    def _cut_from_front(removed: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """How many of `removed` tokens come off the front when each side is a coin flip."""
        return tf.random.stateless_binomial(
            tf.shape(removed), seed, tf.cast(removed, tf.float64), tf.constant(0.5, tf.float64),
            output_dtype=tf.int64)

    def _pack(self, tokens, a_start, a_length, b_start, b_length) -> dict[str, tf.Tensor]:
        """`[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`, padded: the three int32 [N, T] features."""
        position = tf.range(self.seq_length, dtype=tf.int64)[None, :]  # [1, T]
        a_length, b_length = a_length[:, None], b_length[:, None]  # [N, 1]
        b_offset = a_length + 2  # where B starts
        in_a = (position >= 1) & (position <= a_length)  # [N, T]
        in_b = (position >= b_offset) & (position < b_offset + b_length)
        source = tf.where(in_a, a_start[:, None] + position - 1, 0)
        source = tf.where(in_b, b_start[:, None] + position - b_offset, source)
        word_ids = tf.where(in_a | in_b, tf.gather(tokens, source), self.pad)
        length = a_length + 2
        is_sep = position == a_length + 1
        if self.next_sentence:
            length += b_length + 1
            is_sep |= position == length - 1
        word_ids = tf.where(position == 0, self.cls, word_ids)
        word_ids = tf.where(is_sep, self.sep, word_ids)
        in_sequence = position < length
        type_ids = (position >= b_offset) & in_sequence  # all False for single segments
        return {
            "input_word_ids": tf.cast(word_ids, tf.int32),
            "input_mask": tf.cast(in_sequence, tf.int32),
            "input_type_ids": tf.cast(type_ids, tf.int32),
        }
