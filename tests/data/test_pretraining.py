"""`pretraining_dataset` end to end: contract, determinism, sharding, bad input, model input."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfbert import BertConfig, BertPretrainer
from tfbert.data import CorpusStats, pretraining_dataset
from tfbert.text import load_vocab
from tests.data.test_masking import original_ids

SHUFFLE = 200  # a small shuffle buffer: the first batch comes without reading the corpus 13 times
FEATURES = {  # name: (dtype, last dimension)
    "input_word_ids": (tf.int32, "T"), "input_mask": (tf.int32, "T"),
    "input_type_ids": (tf.int32, "T"), "next_sentence_labels": (tf.int32, 1),
    "masked_lm_positions": (tf.int32, "P"), "masked_lm_ids": (tf.int32, "P"),
    "masked_lm_weights": (tf.float32, "P"),
}


def batches(dataset, count=None) -> list[dict[str, np.ndarray]]:
    dataset = dataset if count is None else dataset.take(count)
    return [{name: value.numpy() for name, value in batch.items()} for batch in dataset]


def unmasked_rows(dataset) -> set[tuple[int, ...]]:
    """Every example of a finite dataset as its unmasked ids."""
    return {tuple(row) for batch in batches(dataset) for row in original_ids(batch)}


def context(pipelines: int, index: int) -> tf.distribute.InputContext:
    return tf.distribute.InputContext(pipelines, index, num_replicas_in_sync=pipelines)


def make(corpus_files, vocab_file, seed, **kwargs):
    return pretraining_dataset(corpus_files, vocab_file, seq_length=64, max_predictions_per_seq=10,
                               batch_size=8, seed=seed, shuffle_buffer_size=SHUFFLE, **kwargs)


def test_feature_contract(corpus_files, vocab_file):
    dataset = make(corpus_files, vocab_file, seed=0)
    sizes = {"T": 64, "P": 10}
    assert set(dataset.element_spec) == set(FEATURES)
    for name, (dtype, last) in FEATURES.items():
        spec = dataset.element_spec[name]
        assert spec.dtype == dtype
        assert spec.shape.as_list() == [8, sizes.get(last, last)]  # static, for XLA / TPU


def test_same_seed_same_batches_other_seed_other_masks(corpus_files, vocab_file):
    first = batches(make(corpus_files, vocab_file, 5), 6)
    again = batches(make(corpus_files, vocab_file, 5), 6)
    other = batches(make(corpus_files, vocab_file, 6), 6)
    for a, b in zip(first, again):
        for name in FEATURES:
            np.testing.assert_array_equal(a[name], b[name])
    assert any((a["masked_lm_positions"] != c["masked_lm_positions"]).any()
               for a, c in zip(first, other))


def test_every_epoch_is_masked_afresh(tmp_path, vocab_file, documents):
    """Without randomness in the pairing (single segments, no short targets, no shuffling, one
    epoch per pool), two epochs hold the same examples in the same order (except where a
    chunk was cut: its cut is random), with different masks."""
    path = tmp_path / "corpus.txt"
    path.write_text("".join("\n".join(doc) + "\n\n" for doc in documents[:60]))
    kwargs = dict(seq_length=128, max_predictions_per_seq=10, batch_size=1, next_sentence=False,
                  short_seq_prob=0.0, seed=1, shuffle_buffer_size=1, documents_per_pool=60)
    size = len(batches(pretraining_dataset(str(path), vocab_file, repeat=False, **kwargs)))
    two_epochs = batches(pretraining_dataset(str(path), vocab_file, **kwargs), 2 * size)
    compared = 0
    for a, b in zip(two_epochs[:size], two_epochs[size:]):
        if a["input_mask"].sum() < 128 and b["input_mask"].sum() < 128:  # not cut
            np.testing.assert_array_equal(original_ids(a), original_ids(b))
            assert (a["masked_lm_positions"] != b["masked_lm_positions"]).any()
            compared += 1
    assert compared > size / 4


@pytest.mark.parametrize("num_files", [4, 1], ids=["by-file", "by-document"])
def test_two_workers_see_disjoint_data(corpus_files, vocab_file, num_files, tmp_path):
    if num_files == 1:
        merged = tmp_path / "all.txt"
        merged.write_bytes(b"".join(open(path, "rb").read() for path in corpus_files))
        files = [str(merged)]
    else:
        files = corpus_files
    workers = []
    for index in range(2):
        dataset = pretraining_dataset(
            files, vocab_file, seq_length=48, max_predictions_per_seq=6, batch_size=32,
            next_sentence=False, short_seq_prob=0.0, seed=2, repeat=False,
            shuffle_buffer_size=SHUFFLE, input_context=context(2, index))
        assert dataset.element_spec["input_word_ids"].shape.as_list() == [16, 48]  # global 32
        workers.append(unmasked_rows(dataset))
    assert len(workers[0]) > 200 and len(workers[1]) > 200
    assert not workers[0] & workers[1]


def test_bad_input_is_skipped_and_counted(tmp_path, vocab_file, caplog):
    long_line = " ".join(["function"] * 300)
    raw = (b"First document.\nIt has two sentences.\n\n"
           b"\n\n\n"  # no documents
           b"\x01\n\x02\n\n"  # a document whose lines have no tokens
           b"Only one sentence here.\n\n"
           b"Bad bytes \xff\xfe in here.\n\x01\x02\n" + long_line.encode() + b"\n\n"
           b"Last document.\nWith \xc3 a cut character.\n")
    path = tmp_path / "bad.txt"
    path.write_bytes(raw)
    stats = CorpusStats()
    dataset = pretraining_dataset(str(path), vocab_file, seq_length=32, max_predictions_per_seq=5,
                                  batch_size=1, seed=0, repeat=False, stats=stats)
    examples = batches(dataset)
    assert len(examples) >= 4
    assert all(example["input_mask"].sum() <= 32 for example in examples)
    assert stats.result() == {
        "documents": 4, "single_sentence_documents": 1, "empty_documents": 1, "sentences": 7,
        "skipped_lines": 3, "invalid_utf8_lines": 2, "long_sentences": 1,
        "examples": len(examples)}
    with caplog.at_level("INFO", logger="tfbert.data.stats"):
        stats.log()
    assert "1 documents whose lines have no tokens" in caplog.text
    assert caplog.records[-1].levelname == "WARNING"


def test_missing_files_and_bad_arguments_fail_before_training(corpus_files, vocab_file, tmp_path):
    kwargs = dict(seq_length=32, max_predictions_per_seq=5, batch_size=4)
    with pytest.raises(FileNotFoundError, match="missing"):
        pretraining_dataset([*corpus_files, str(tmp_path / "missing.txt")], vocab_file, **kwargs)
    with pytest.raises(FileNotFoundError, match="vocab_file"):
        pretraining_dataset(corpus_files, str(tmp_path / "none.txt"), **kwargs)
    for name, value, error in [("batch_size", 0, ValueError), ("seq_length", 4, ValueError),
                               ("max_predictions_per_seq", 40, ValueError),
                               ("masking_rate", 1.5, ValueError), ("seed", -1, TypeError),
                               ("documents_per_pool", 1, ValueError),
                               ("stats", {}, TypeError)]:
        with pytest.raises(error, match=name):
            pretraining_dataset(corpus_files, vocab_file, **{**kwargs, name: value})


def test_batches_train_a_bert_pretrainer(corpus_files, vocab_file):
    """The dict feeds BertPretrainer in `model.fit` as (x, y, sample_weight)."""
    import keras

    config = BertConfig(vocab_size=len(load_vocab(vocab_file)), hidden_size=32,
                        num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=64)
    model = BertPretrainer(config)
    dataset = make(corpus_files, vocab_file, seed=0)

    def split(features):
        inputs = {name: features[name] for name in ("input_word_ids", "input_mask",
                                                     "input_type_ids", "masked_lm_positions")}
        labels = {"mlm_logits": features["masked_lm_ids"],
                  "nsp_logits": features["next_sentence_labels"]}
        weights = {"mlm_logits": features["masked_lm_weights"],
                   "nsp_logits": tf.ones_like(features["next_sentence_labels"], tf.float32)}
        return inputs, labels, weights

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss={"mlm_logits": loss, "nsp_logits": loss},
                  jit_compile=False)
    history = model.fit(dataset.map(split), steps_per_epoch=3, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
