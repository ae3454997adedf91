"""Length buckets (`tfbert.tasks.bucketing`): the training plan sees every example once per
epoch in batches of one bucket length each, shuffled across buckets, the same for the same seed;
batches hold the original rows cut to their bucket; per replica and per pipeline the global
batch is split without changing the plan; evaluation batches hold every row once."""
import collections
import types

import keras
import numpy as np
import pytest

from tfbert.tasks import bucketing
from tfbert.tasks.task import Encoded

SEQ_LENGTH = 32


def _encoded(count: int, seed: int = 0, tagged: bool = True) -> Encoded:
    """Rows of 3..32 real tokens (ids = row number, so a batch names its rows), a label per row
    and, for `tagged`, per-position labels and weights as the tag task makes them."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, SEQ_LENGTH + 1, count)
    positions = np.arange(SEQ_LENGTH)[None, :]
    mask = (positions < lengths[:, None]).astype(np.int32)
    ids = np.where(mask, np.arange(count)[:, None] + 1000, 0).astype(np.int32)
    x = {"input_word_ids": ids, "input_mask": mask, "input_type_ids": np.zeros_like(mask)}
    if not tagged:
        return Encoded(x, {"logits": np.arange(count, dtype=np.int32)})
    labels = np.where(mask, positions % 3, 0).astype(np.int32)
    weights = (mask * (positions > 0)).astype(np.float32)
    return Encoded(x, {"logits": labels}, {"logits": weights})


def _batches(dataset):
    return [tuple(part for part in batch) for batch in dataset.as_numpy_iterator()]


def _rows(batch) -> list[int]:
    return (batch[0]["input_word_ids"][:, 0] - 1000).tolist()


def test_bucket_lengths_cover_every_length_up_to_seq_length():
    for seq_length in range(3, 600):
        buckets = bucketing.bucket_lengths(seq_length)
        assert buckets[-1] == seq_length and len(buckets) <= bucketing.BUCKETS
        assert list(buckets) == sorted(set(buckets))
        assert all(b % bucketing.MULTIPLE == 0 for b in buckets[:-1])
    assert bucketing.bucket_lengths(512) == (128, 256, 384, 512)
    with pytest.raises(ValueError, match="seq_length"):
        bucketing.bucket_lengths(0)


def test_every_example_once_per_epoch_in_batches_of_one_bucket_length():
    encoded = _encoded(96)
    lengths = bucketing.row_lengths(encoded)
    buckets = bucketing.bucket_lengths(SEQ_LENGTH)
    batch_size, epochs = 8, 3
    batches = _batches(bucketing.training_dataset(encoded, batch_size, seed=5, epochs=epochs))
    assert len(batches) == epochs * 96 // batch_size
    widths = []
    for epoch in range(epochs):
        seen = collections.Counter()
        for batch in batches[epoch * 12:(epoch + 1) * 12]:
            x, y, weights = batch
            width = x["input_word_ids"].shape[1]
            widths.append(width)
            assert width in buckets
            rows = _rows(batch)
            seen.update(rows)
            # The original rows, cut to the batch's bucket: the cut holds every real token and
            # the bucket below would not have held them all.
            assert max(lengths[rows]) <= width
            assert width == buckets[np.searchsorted(buckets, max(lengths[rows]))]
            for name in x:
                np.testing.assert_array_equal(x[name], encoded.x[name][rows, :width])
            np.testing.assert_array_equal(y["logits"], encoded.y["logits"][rows, :width])
            np.testing.assert_array_equal(weights["logits"],
                                          encoded.sample_weight["logits"][rows, :width])
            assert weights["logits"].sum() == encoded.sample_weight["logits"][rows].sum()
        assert seen == collections.Counter(range(96))  # each example exactly once
    # Shuffled across buckets: lengths alternate, not one bucket after another.
    changes = sum(a != b for a, b in zip(widths, widths[1:]))
    assert len(set(widths)) == len(buckets) and changes > len(buckets)


def test_a_plain_graph_plan_cuts_batches_to_every_multiple_of_8():
    short = _encoded(96)  # 3..32 real tokens, padded to 64 positions here
    encoded = Encoded(*(None if part is None else {name: np.pad(array, [(0, 0), (0, 32)])
                                                   for name, array in part.items()}
                        for part in (short.x, short.y, short.sample_weight)))
    lengths = bucketing.row_lengths(encoded)
    widths = {}
    for compiled in (True, False):
        batches = _batches(bucketing.training_dataset(encoded, 8, seed=5, epochs=1,
                                                      compiled=compiled))
        assert sorted(row for batch in batches for row in _rows(batch)) == list(range(96))
        widths[compiled] = [batch[0]["input_word_ids"].shape[1] for batch in batches]
        for batch, width in zip(batches, widths[compiled]):
            longest = max(lengths[_rows(batch)])
            step = 16 if compiled else 8
            assert width == -(-longest // step) * step  # the shortest length that holds it
    assert set(widths[True]) == {16, 32} and set(widths[False]) == {8, 16, 24, 32}
    assert sum(widths[False]) < sum(widths[True])  # less padding
    evaluation = _batches(bucketing.evaluation_dataset(encoded, 8, compiled=False))
    assert {batch[0]["input_word_ids"].shape[1] for batch in evaluation} == {8, 16, 24, 32}


def test_the_remainder_sits_out_a_different_random_subset_each_epoch():
    encoded = _encoded(30, tagged=False)
    batches = _batches(bucketing.training_dataset(encoded, 8, seed=1, epochs=4))
    assert len(batches) == 4 * 3
    per_epoch = [sorted(row for batch in batches[e * 3:(e + 1) * 3] for row in _rows(batch))
                 for e in range(4)]
    assert all(len(rows) == len(set(rows)) == 24 for rows in per_epoch)
    left_out = [frozenset(range(30)) - set(rows) for rows in per_epoch]
    assert len(set(left_out)) > 1
    # Targets without a sequence axis are kept whole.
    assert all(batch[1]["logits"].tolist() == _rows(batch) for batch in batches)


def test_same_seed_same_batches_other_seed_other_order():
    encoded = _encoded(64)

    def order(seed):
        dataset = bucketing.training_dataset(encoded, 8, seed=seed, epochs=2)
        return [_rows(batch) for batch in _batches(dataset)]

    assert order(3) == order(3)
    assert order(3) != order(4)
    first, second = order(3)[:8], order(3)[8:]
    assert first != second  # reshuffled every epoch


def test_replicas_and_pipelines_split_one_global_plan():
    encoded = _encoded(64)
    single = _batches(bucketing.training_dataset(encoded, 8, seed=2, epochs=1))
    # 2 pipelines x 2 replicas each, 2 rows per replica: the global batch of 8 is unchanged.
    pipelines = [_batches(bucketing.training_dataset(encoded, 2, seed=2, epochs=1,
                                                     num_replicas=4, num_pipelines=2,
                                                     pipeline=p)) for p in range(2)]
    assert all(len(batches) == 2 * len(single) for batches in pipelines)
    for step, batch in enumerate(single):
        parts = [pipelines[p][2 * step + r] for p in range(2) for r in range(2)]
        assert sum((_rows(part) for part in parts), []) == _rows(batch)
        assert {part[0]["input_word_ids"].shape for part in parts} == {(2, batch[0][
            "input_word_ids"].shape[1])}
    with pytest.raises(ValueError, match="num_replicas"):
        bucketing.training_dataset(encoded, 2, seed=0, epochs=1, num_replicas=3, num_pipelines=2)


def test_evaluation_batches_hold_every_row_once():
    encoded = _encoded(50)
    batches = _batches(bucketing.evaluation_dataset(encoded, 8))
    rows = [row for batch in batches for row in _rows(batch)]
    assert sorted(rows) == list(range(50))
    lengths = bucketing.row_lengths(encoded)
    buckets = bucketing.bucket_lengths(SEQ_LENGTH)
    for batch in batches:
        width = batch[0]["input_word_ids"].shape[1]
        assert width in buckets and max(lengths[_rows(batch)]) <= width
        assert len(_rows(batch)) <= 8


def test_row_lengths_read_the_mask():
    encoded = _encoded(20)
    np.testing.assert_array_equal(bucketing.row_lengths(encoded),
                                  encoded.x["input_mask"].sum(axis=1))
    empty = Encoded({"input_mask": np.zeros((2, 8), np.int32)})
    assert bucketing.row_lengths(empty).tolist() == [0, 0]


@pytest.mark.parametrize("compiled", [False, True])
def test_prediction_sorts_rows_into_few_widths_and_returns_them_in_order(compiled, monkeypatch):
    short = _encoded(70, tagged=False)  # 3..32 real tokens, padded to 64 positions here
    encoded = Encoded({name: np.pad(array, [(0, 0), (0, 32)]) for name, array in short.x.items()})
    seen = []

    def call(x):  # per row: its id; per position: the ids (a sequence output)
        seen.append(x["input_word_ids"].shape.as_list())
        ids = x["input_word_ids"].numpy()
        return {"row": ids[:, 0] - 1000, "tokens": ids}

    model = types.SimpleNamespace(jit_compile=compiled, output={
        "row": keras.KerasTensor((None,)), "tokens": keras.KerasTensor((None, None))})
    monkeypatch.setattr(bucketing, "forward", lambda _: call)
    lengths = bucketing.batch_lengths(64, compiled)
    assert lengths == ((16, 32, 48, 64) if compiled else (8, 16, 24, 32, 40, 48, 56, 64))
    outputs = bucketing.predict(model, encoded, 16, lengths)
    np.testing.assert_array_equal(outputs["row"], np.arange(70))
    np.testing.assert_array_equal(outputs["tokens"], encoded.x["input_word_ids"])
    # Batches of the sorted rows, each as wide as the shortest length that holds its longest.
    ordered = np.sort(bucketing.row_lengths(encoded))
    longest = [*ordered[15::16], ordered[-1]]
    assert [width for _, width in seen] == [min(w for w in lengths if w >= n) for n in longest]
    # A plain graph takes the short last batch; under XLA it is filled to a whole batch.
    assert [rows for rows, _ in seen] == [16] * 4 + [16 if compiled else 6]


def test_fine_tuning_pipelines_run_without_autotuning():
    # An autotuned pipeline's iterator takes until the autotuning thread wakes to delete.
    from tfbert.training.finetuning import training_dataset as fixed_length

    encoded = _encoded(16)
    for dataset in (bucketing.training_dataset(encoded, 8, seed=0, epochs=1),
                    bucketing.evaluation_dataset(encoded, 8), fixed_length(encoded, 8, seed=0)):
        assert dataset.repeat().skip(1).options().autotune.enabled is False
