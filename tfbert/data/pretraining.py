"""`pretraining_dataset`: plain text files to masked BERT pretraining batches, all in tf.data.

    files ─► documents (read in parallel) ─► pools of documents ─► tokens (tfbert.text)
          ─► sentence pairs, truncated and packed (ExampleSampler) ─► shuffle ─► batch
          ─► dynamic masking (DynamicMasker) ─► prefetch

Every stage is TensorFlow ops (no Python functions), so the maps run in parallel on all cores
and the pipeline runs wherever tf.data does (TPU hosts included). Masks are drawn afresh for
every batch, so each epoch sees new masks (original BERT's `dupe_factor` is not needed).

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> vocab = os.path.join(folder, "vocab.txt")
>>> _ = open(vocab, "w").write("\\n".join(
...     ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "dog", "ran", "."]))
>>> corpus = os.path.join(folder, "corpus.txt")
>>> _ = open(corpus, "w").write("The cat sat.\\nThe dog ran.\\n\\nThe dog sat.\\nThe cat ran.\\n")
>>> dataset = pretraining_dataset(corpus, vocab, seq_length=16, max_predictions_per_seq=3,
...                               batch_size=2, seed=0, shuffle_buffer_size=8)
>>> batch = next(iter(dataset))
>>> {name: value.shape.as_list() for name, value in batch.items()}
{'input_word_ids': [2, 16], 'input_mask': [2, 16], 'input_type_ids': [2, 16], \
'next_sentence_labels': [2, 1], 'masked_lm_positions': [2, 3], 'masked_lm_ids': [2, 3], \
'masked_lm_weights': [2, 3]}
"""
from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence

import tensorflow as tf

from tfbert.data.corpus import check_has_tokens, document_dataset, resolve_files, shard_files
from tfbert.data.masking import DynamicMasker
from tfbert.data.pairs import FLAGS, ExampleSampler
from tfbert.data.seeds import fold
from tfbert.data.stats import CorpusStats
from tfbert.data.word_boundaries import continues_chinese_word
from tfbert.text.tokenizer import BertTokenizer

logger = logging.getLogger(__name__)


def check_batching(batch_size: int, shuffle_buffer_size: int, seed: int | None) -> None:
    """Raises a ValueError/TypeError naming the first bad batching argument."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int; got {batch_size!r}")
    if not isinstance(shuffle_buffer_size, int) or shuffle_buffer_size < 1:
        raise ValueError(
            f"`shuffle_buffer_size` must be a positive int; got {shuffle_buffer_size!r}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise TypeError(f"`seed` must be None or a non-negative int; got {seed!r}")


def per_replica_batch(batch_size: int, input_context: tf.distribute.InputContext | None) -> int:
    """The batch size of one replica: `batch_size` is the global batch."""
    if input_context is None:
        return batch_size
    return input_context.get_per_replica_batch_size(batch_size)


def pipeline_seed(seed: int | None, input_context: tf.distribute.InputContext | None) -> list[int]:
    """The stateless seed of this input pipeline: `seed` (random if None) and the pipeline id."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    return [seed, input_context.input_pipeline_id if input_context else 0]


def pretraining_dataset(
    files: str | os.PathLike | Sequence[str | os.PathLike],
    vocab_file: str | os.PathLike,
    *,
    seq_length: int,
    max_predictions_per_seq: int,
    batch_size: int,
    masking_rate: float = 0.15,
    whole_word_masking: bool = False,
    next_sentence: bool = True,
    short_seq_prob: float = 0.1,
    lower_case: bool = True,
    tokenizer_compat: str = "google",
    seed: int | None = None,
    input_context: tf.distribute.InputContext | None = None,
    repeat: bool = True,
    shuffle_buffer_size: int = 10_000,
    documents_per_pool: int = 256,
    stats: CorpusStats | None = None,
) -> tf.data.Dataset:
    """Batches of masked BERT pretraining examples streamed from text files.

    The corpus format is original BERT's: UTF-8 text, one sentence per line, a blank line
    between documents. Examples are built as `create_pretraining_data.py` builds them (see
    `tfbert.data.pairs` and `tfbert.data.masking`), tokenized by `tfbert.text.BertTokenizer`.

    Each element is a dict of `input_word_ids`, `input_mask`, `input_type_ids` (int32 [B, T]),
    `next_sentence_labels` (int32 [B, 1]; 1 = B is a random sentence; all 0 when
    `next_sentence=False`, so the dict is the same either way), `masked_lm_positions`,
    `masked_lm_ids` (int32 [B, P]) and `masked_lm_weights` (float32 [B, P]), with static shapes
    (the last partial batch is dropped).

    Bad input never stops an epoch: invalid UTF-8 bytes are dropped (as original BERT), lines
    without tokens and empty documents are skipped, over-long sentences are truncated; pass
    `stats` to count these. Missing files raise FileNotFoundError here, before training, and
    (when called eagerly, as `pretrain` does) a corpus without a single token a ValueError.

    Args:
        files: text files: paths or glob patterns, one or a list.
        vocab_file: the WordPiece vocabulary; `lower_case` as the model's `do_lower_case`,
            `tokenizer_compat` as its tokenizer rules ("google" or "hf", `BertTokenizer`'s
            `compat`).
        seq_length: T, the packed length.
        max_predictions_per_seq: P, masked-LM slots per sequence.
        batch_size: the global batch; with `input_context`, each replica gets its share.
        masking_rate: share of tokens to predict; `whole_word_masking` masks whole words:
            a token and its "##" pieces, and Chinese words, which need a corpus segmented by
            `tfbert.data.segmentation.segment_file` (`tfbert segment`): adjacent CJK tokens
            with no space between them form one word.
        next_sentence: sentence pairs with random Bs half the time (True), or single segments
            filled from consecutive sentences, for masked-LM-only training (False).
        short_seq_prob: how often a document aims at a shorter random length.
        seed: makes the data reproducible (file order, pairs, shuffling, masks); None draws one.
        input_context: from `strategy.distribute_datasets_from_function`. Pipeline i of n
            reads files i, i + n, ...; with fewer files than pipelines, each reads all files
            and keeps every n-th document (files are then shuffled only if `seed` is set, so
            that all pipelines agree on their order). Pipelines always see disjoint data.
        repeat: cycle through the files forever (reshuffled each pass); False for one pass.
        shuffle_buffer_size: examples in the shuffle buffer. The first batch waits until it is
            full: for a corpus of a few hundred examples, make it small.
        documents_per_pool: documents tokenized and paired together; a random B comes from
            another document of the same pool.
        stats: a `CorpusStats` to count documents, examples and skipped or cut input.
    """
    check_batching(batch_size, shuffle_buffer_size, seed)
    if not isinstance(documents_per_pool, int) or documents_per_pool < 2:
        raise ValueError(
            f"`documents_per_pool` must be an int of at least 2; got {documents_per_pool!r}")
    if stats is not None and not isinstance(stats, CorpusStats):
        raise TypeError(f"`stats` must be a CorpusStats or None; got {type(stats).__name__}")
    files = resolve_files(files)
    tokenizer = BertTokenizer(vocab_file, lower_case=lower_case, compat=tokenizer_compat)
    sampler = ExampleSampler(seq_length, tokenizer.special_ids, short_seq_prob, next_sentence)
    masker = DynamicMasker(
        tokenizer.vocabulary,
        max_predictions_per_seq=max_predictions_per_seq,
        masking_rate=masking_rate,
        whole_word_masking=whole_word_masking,
    )
    if max_predictions_per_seq > seq_length:
        raise ValueError(
            "`max_predictions_per_seq` must be at most `seq_length`; "
            f"got max_predictions_per_seq={max_predictions_per_seq}, seq_length={seq_length}")
    if tf.executing_eagerly():
        check_has_tokens(files, tokenizer)
    files, shard = shard_files(files, input_context)
    stream_seed = pipeline_seed(seed, input_context)
    # Sharding documents needs every pipeline to read the files in the same order.
    file_seed = stream_seed[0] if shard else sum(stream_seed)
    shuffle_files = shard is None or seed is not None
    base_seed = tf.constant(stream_seed, tf.int64)  # pools fold in 0, masks 1, then their index
    documents = document_dataset(
        files, seed=file_seed, shuffle_files=shuffle_files, repeat=repeat, shard=shard,
        stats=stats)

    @tf.autograph.experimental.do_not_convert
    def make_examples(index, lines):  # lines: tf.string [D, (sentences)]
        tokens = tokenizer(lines.flat_values)  # [S, (tokens)]
        flags = None
        if whole_word_masking:  # Chinese words: see tfbert.data.segmentation
            joins = continues_chinese_word(tokenizer, lines.flat_values)
            flags = tf.RaggedTensor.from_row_splits(joins, lines.row_splits)
        if stats is not None:
            with tf.control_dependencies([_count(stats, lines, tokens, sampler.max_num_tokens)]):
                tokens = tf.identity(tokens)
        documents = tf.RaggedTensor.from_row_splits(tokens, lines.row_splits)
        examples = sampler(documents, fold(fold(base_seed, 0), index), flags)
        if stats is not None:
            examples_count = tf.shape(examples["input_word_ids"], out_type=tf.int64)[0]
            with tf.control_dependencies([stats.add(examples=examples_count)]):
                examples = {name: tf.identity(value) for name, value in examples.items()}
        return examples

    @tf.autograph.experimental.do_not_convert
    def mask(index, batch):
        features = {name: value for name, value in batch.items() if name != FLAGS}
        return masker(features, fold(fold(base_seed, 1), index), batch.get(FLAGS))

    deterministic = seed is not None
    dataset = documents.ragged_batch(documents_per_pool).enumerate()
    dataset = dataset.map(
        make_examples, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    dataset = dataset.unbatch().shuffle(shuffle_buffer_size, seed=sum(stream_seed))
    dataset = dataset.batch(per_replica_batch(batch_size, input_context), drop_remainder=True)
    dataset = dataset.enumerate().map(
        mask, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _count(stats: CorpusStats, lines: tf.RaggedTensor, tokens: tf.RaggedTensor,
           max_num_tokens: int) -> tf.Operation:
    """Adds a pool's documents, sentences, skipped lines and long sentences to `stats`."""
    lengths = tokens.row_lengths()  # [S]
    has_tokens = lengths > 0
    sentences = tf.RaggedTensor.from_row_splits(tf.cast(has_tokens, tf.int64), lines.row_splits)
    per_document = tf.reduce_sum(sentences, axis=1)  # [D]

    def count(condition):
        return tf.reduce_sum(tf.cast(condition, tf.int64))

    return stats.add(
        documents=count(per_document > 0),
        single_sentence_documents=count(per_document == 1),
        empty_documents=count(per_document == 0),
        sentences=count(has_tokens),
        skipped_lines=count(~has_tokens),
        long_sentences=count(lengths > max_num_tokens),
    )
