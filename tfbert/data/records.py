"""The TFRecord format of original BERT's `create_pretraining_data.py`, read and written.

Each record is a `tf.train.Example` with `input_ids`, `input_mask`, `segment_ids`,
`masked_lm_positions`, `masked_lm_ids`, `next_sentence_labels` (int64 lists) and
`masked_lm_weights` (float list). tfbert's feature names map onto them one to one
(`input_word_ids` ↔ `input_ids`, `input_type_ids` ↔ `segment_ids`, the rest unchanged), so
pre-made datasets train as they are, and records written here feed the original code.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "data.tfrecord")
>>> example = {"input_word_ids": [2, 4, 3, 0], "input_mask": [1, 1, 1, 0],
...            "input_type_ids": [0, 0, 0, 0], "masked_lm_positions": [1, 0],
...            "masked_lm_ids": [7, 0], "masked_lm_weights": [1.0, 0.0],
...            "next_sentence_labels": [0]}
>>> write_pretraining_records([example], path)
1
>>> batch = next(iter(read_pretraining_records(path, seq_length=4, max_predictions_per_seq=2,
...                                            batch_size=1, repeat=False)))
>>> batch["input_word_ids"].numpy().tolist(), batch["masked_lm_weights"].numpy().tolist()
([[2, 4, 3, 0]], [[1.0, 0.0]])
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from tfbert.data.corpus import FILES_READ_AT_ONCE, resolve_files, shard_files
from tfbert.data.pretraining import check_batching, per_replica_batch, pipeline_seed

# tfbert name -> original record name
RECORD_NAMES = {
    "input_word_ids": "input_ids",
    "input_mask": "input_mask",
    "input_type_ids": "segment_ids",
    "masked_lm_positions": "masked_lm_positions",
    "masked_lm_ids": "masked_lm_ids",
    "masked_lm_weights": "masked_lm_weights",
    "next_sentence_labels": "next_sentence_labels",
}
FLOAT_FEATURES = ("masked_lm_weights",)


def _record_spec(seq_length: int, max_predictions_per_seq: int) -> dict[str, tf.io.FixedLenFeature]:
    lengths = {"input_word_ids": seq_length, "input_mask": seq_length,
               "input_type_ids": seq_length, "masked_lm_positions": max_predictions_per_seq,
               "masked_lm_ids": max_predictions_per_seq,
               "masked_lm_weights": max_predictions_per_seq, "next_sentence_labels": 1}
    return {
        RECORD_NAMES[name]: tf.io.FixedLenFeature(
            [length], tf.float32 if name in FLOAT_FEATURES else tf.int64)
        for name, length in lengths.items()
    }


def _check_first_record(files: list[str], seq_length: int, max_predictions_per_seq: int) -> None:
    """Raises a ValueError, before training, if the first record does not fit the shapes."""
    for record in tf.data.TFRecordDataset(files[:1]).take(1):
        example = tf.train.Example.FromString(record.numpy())
        spec = _record_spec(seq_length, max_predictions_per_seq)
        for name, feature in spec.items():
            if name not in example.features.feature:
                raise ValueError(
                    f"{files[0]!r} is not in the original BERT pretraining format: its first "
                    f"record lacks {name!r}; expected the features {sorted(spec)}")
            kind = example.features.feature[name]
            values = kind.float_list.value if feature.dtype == tf.float32 else kind.int64_list.value
            if len(values) != feature.shape[0]:
                raise ValueError(
                    f"{files[0]!r}: feature {name!r} has {len(values)} values; expected "
                    f"{feature.shape[0]} for seq_length={seq_length}, "
                    f"max_predictions_per_seq={max_predictions_per_seq}")


def read_pretraining_records(
    files: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    seq_length: int,
    max_predictions_per_seq: int,
    batch_size: int,
    seed: int | None = None,
    input_context: tf.distribute.InputContext | None = None,
    repeat: bool = True,
    shuffle_buffer_size: int = 10_000,
) -> tf.data.Dataset:
    """Batches of the original records as the dict `pretraining_dataset` gives.

    Files are shuffled (every pass), read in parallel and sharded between input pipelines as in
    `pretraining_dataset`; records are shuffled in a buffer; the last partial batch is dropped.
    The first record is checked against `seq_length` and `max_predictions_per_seq` here, so a
    mismatch fails before training starts.
    """
    check_batching(batch_size, shuffle_buffer_size, seed)
    for name, value in (("seq_length", seq_length),
                        ("max_predictions_per_seq", max_predictions_per_seq)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}")
    files = resolve_files(files)
    _check_first_record(files, seq_length, max_predictions_per_seq)
    files, shard = shard_files(files, input_context)
    stream_seed = pipeline_seed(seed, input_context)
    file_seed = stream_seed[0] if shard else sum(stream_seed)
    deterministic = seed is not None

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shard is None or seed is not None:  # document sharding needs one file order for all
        dataset = dataset.shuffle(len(files), seed=file_seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), FILES_READ_AT_ONCE),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    if shard is not None:
        dataset = dataset.shard(*shard)
    dataset = dataset.shuffle(shuffle_buffer_size, seed=sum(stream_seed))
    dataset = dataset.batch(per_replica_batch(batch_size, input_context), drop_remainder=True)
    spec = _record_spec(seq_length, max_predictions_per_seq)

    @tf.autograph.experimental.do_not_convert
    def parse(records):
        parsed = tf.io.parse_example(records, spec)
        return {
            name: tf.cast(parsed[record_name], tf.float32 if name in FLOAT_FEATURES else tf.int32)
            for name, record_name in RECORD_NAMES.items()
        }

    dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _examples(examples) -> Iterable[dict[str, np.ndarray]]:
    """Single examples from a dataset (batched or not) or an iterable of feature dicts."""
    if isinstance(examples, tf.data.Dataset):
        spec = examples.element_spec
        if not isinstance(spec, Mapping) or "input_word_ids" not in spec:
            raise TypeError(f"`examples` must yield feature dicts; got elements {spec}")
        if spec["input_word_ids"].shape.rank == 2:
            examples = examples.unbatch()
        return examples.as_numpy_iterator()
    return examples


def write_pretraining_records(
    examples: tf.data.Dataset | Iterable[Mapping[str, object]],
    path: str | os.PathLike,
) -> int:
    """Writes `examples` to the TFRecord file `path` in the original format; returns the count.

    `examples`: a finite `tf.data.Dataset` of feature dicts (batched, like `pretraining_dataset`'s
    with `repeat=False`, or single examples) or an iterable of such dicts of lists/arrays. Every
    example needs all seven features.
    """
    path = os.fspath(path)
    count = 0
    with tf.io.TFRecordWriter(path) as writer:
        for example in _examples(examples):
            missing = sorted(set(RECORD_NAMES) - set(example))
            if missing:
                raise ValueError(
                    f"example {count} lacks the features {missing}; expected {list(RECORD_NAMES)}")
            features = {}
            for name, record_name in RECORD_NAMES.items():
                values = np.asarray(example[name]).reshape(-1)
                if name in FLOAT_FEATURES:
                    feature = tf.train.Feature(float_list=tf.train.FloatList(value=values))
                else:
                    feature = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
                features[record_name] = feature
            writer.write(tf.train.Example(
                features=tf.train.Features(feature=features)).SerializeToString())
            count += 1
    return count
