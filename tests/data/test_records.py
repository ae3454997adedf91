"""The original TFRecord format: read what original BERT's code wrote, and write what its
readers take (checked with Model Garden's copies of `create_pretraining_data.py` and of the
BERT pretraining data loader)."""
from __future__ import annotations

import random

import numpy as np
import pytest
import tensorflow as tf
from official.nlp.data import create_pretraining_data as original
from official.nlp.data import pretrain_dataloader
from official.nlp.tools import tokenization

from tfbert.data import pretraining_dataset, read_pretraining_records, write_pretraining_records

SEQ_LENGTH, PREDICTIONS = 64, 10
NAMES = ("input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions",
         "masked_lm_ids", "masked_lm_weights", "next_sentence_labels")


def reference_batches(path: str, batch_size: int) -> list[dict[str, np.ndarray]]:
    """`path` read by Model Garden's BERT pretraining data loader (in file order)."""
    config = pretrain_dataloader.BertPretrainDataConfig(
        input_path=path, global_batch_size=batch_size, is_training=False,
        seq_length=SEQ_LENGTH, max_predictions_per_seq=PREDICTIONS, drop_remainder=True)
    dataset = pretrain_dataloader.BertPretrainDataLoader(config).load()
    return [{name: value.numpy() for name, value in batch.items()} for batch in dataset]


def our_batches(path: str, batch_size: int) -> list[dict[str, np.ndarray]]:
    dataset = read_pretraining_records(path, seq_length=SEQ_LENGTH,
                                       max_predictions_per_seq=PREDICTIONS, batch_size=batch_size,
                                       seed=0, repeat=False, shuffle_buffer_size=1)
    return [{name: value.numpy() for name, value in batch.items()} for batch in dataset]


def assert_same(ours, reference):
    assert len(ours) == len(reference) > 0
    for mine, theirs in zip(ours, reference):
        for name in NAMES:
            assert mine[name].dtype == theirs[name].dtype, name
            np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)


@pytest.fixture(scope="module")
def original_records(corpus_files, vocab_file, tmp_path_factory) -> str:
    """Records written by original BERT's `create_pretraining_data` code from the corpus."""
    tokenizer = tokenization.FullTokenizer(vocab_file, do_lower_case=True)
    instances = original.create_training_instances(
        corpus_files[:1], tokenizer, original.get_processor_text_fn(False, True), SEQ_LENGTH,
        dupe_factor=1, short_seq_prob=0.1, masked_lm_prob=0.15,
        max_predictions_per_seq=PREDICTIONS, rng=random.Random(1))
    path = str(tmp_path_factory.mktemp("records") / "original.tfrecord")
    original.write_instance_to_example_files(instances, tokenizer, SEQ_LENGTH, PREDICTIONS,
                                             [path], gzip_compress=False,
                                             use_v2_feature_names=False)
    return path


def test_reading_original_records(original_records):
    assert_same(our_batches(original_records, 8), reference_batches(original_records, 8))


def test_written_records_read_back_the_same(corpus_files, vocab_file, tmp_path):
    dataset = pretraining_dataset(corpus_files[:1], vocab_file, seq_length=SEQ_LENGTH,
                                  max_predictions_per_seq=PREDICTIONS, batch_size=4, seed=0,
                                  repeat=False, shuffle_buffer_size=50)
    written = [{name: value.numpy() for name, value in batch.items()} for batch in dataset]
    path = str(tmp_path / "ours.tfrecord")
    examples = [{name: batch[name][i] for name in NAMES} for batch in written for i in range(4)]
    assert write_pretraining_records(examples, path) == 4 * len(written)
    assert_same(our_batches(path, 4), written)
    assert_same(reference_batches(path, 4), written)
    # A batched dataset is written the same way.
    again = str(tmp_path / "from_dataset.tfrecord")
    batched = tf.data.Dataset.from_tensor_slices(
        {name: np.concatenate([b[name] for b in written]) for name in NAMES}).batch(3)
    assert write_pretraining_records(batched, again) == 4 * len(written)
    assert_same(our_batches(again, 4), written)


def test_record_shapes_are_checked_before_training(original_records):
    with pytest.raises(ValueError, match="input_ids.*expected 128"):
        read_pretraining_records(original_records, seq_length=128,
                                 max_predictions_per_seq=PREDICTIONS, batch_size=2)
    with pytest.raises(FileNotFoundError, match="missing"):
        read_pretraining_records(original_records + ".missing", seq_length=SEQ_LENGTH,
                                 max_predictions_per_seq=PREDICTIONS, batch_size=2)


def test_sharded_reading_is_disjoint(original_records, tmp_path):
    paths = []
    for index, batch in enumerate(our_batches(original_records, 8)[:4]):
        path = str(tmp_path / f"part-{index}.tfrecord")
        write_pretraining_records([{n: batch[n][i] for n in NAMES} for i in range(8)], path)
        paths.append(path)
    seen = []
    for index in range(2):
        context = tf.distribute.InputContext(2, index, num_replicas_in_sync=2)
        dataset = read_pretraining_records(paths, seq_length=SEQ_LENGTH,
                                           max_predictions_per_seq=PREDICTIONS, batch_size=4,
                                           seed=0, input_context=context, repeat=False)
        seen.append({tuple(row) for batch in dataset for row in batch["input_word_ids"].numpy()})
    assert len(seen[0]) == len(seen[1]) == 16 and not seen[0] & seen[1]


def test_examples_need_every_feature(tmp_path):
    with pytest.raises(ValueError, match="masked_lm_weights"):
        write_pretraining_records([{name: [0] for name in NAMES if name != "masked_lm_weights"}],
                                  tmp_path / "x.tfrecord")
