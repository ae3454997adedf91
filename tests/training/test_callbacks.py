"""The resumable history log, periodic model-directory checkpoints and their file writes."""
import json

import keras
import numpy as np
import pytest

import tfbert
from tests.helpers import write_vocab
from tests.training.synthetic import tiny_config
from tfbert.training.callbacks import HistoryLog, PeriodicCheckpoint, ThroughputLogger


def small_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_history_log_keeps_one_entry_per_epoch_across_a_restart(tmp_path):
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    path = tmp_path / "history.json"
    small_model().fit(x, y, batch_size=4, epochs=3, verbose=0,
                      callbacks=[ThroughputLogger(4), HistoryLog(path)])
    first = json.loads(path.read_text())
    assert [e["epoch"] for e in first] == [0, 1, 2]
    assert [e["step"] for e in first] == [2, 4, 6]
    assert first[0]["learning_rate"] == pytest.approx(0.1)
    assert first[0]["examples_per_second"] > 0
    # A restart that resumes at epoch 1 replaces epochs 1 and 2, keeps epoch 0.
    small_model().fit(x, y, batch_size=4, epochs=3, initial_epoch=1, verbose=0,
                      callbacks=[HistoryLog(path)])
    second = json.loads(path.read_text())
    assert [e["epoch"] for e in second] == [0, 1, 2]
    assert second[0] == first[0]


def test_periodic_checkpoints_are_model_directories_and_the_newest_are_kept(tmp_path):
    model = tfbert.BertClassifier(tiny_config(), num_labels=2)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss={
        "logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)})
    features = {"input_word_ids": np.ones((4, 6), "int32"), "input_mask": np.ones((4, 6), "int32"),
                "input_type_ids": np.zeros((4, 6), "int32")}
    saved = []
    vocab = write_vocab(tmp_path.parent / f"{tmp_path.name}_vocab.txt")
    checkpoint = PeriodicCheckpoint(
        tmp_path, lambda m, p: saved.append(tfbert.save(m, p, vocab_file=vocab)), every=2, keep=2)
    model.fit(features, {"logits": np.zeros(4, "int32")}, batch_size=2, epochs=6, verbose=0,
              callbacks=[checkpoint])
    assert [p.name for p in saved] == ["step_4", "step_8", "step_12"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_12", "step_8"]
    assert isinstance(tfbert.load(tmp_path / "step_12"), tfbert.BertClassifier)


@pytest.mark.parametrize("name", ["config.json", "vocab.txt", "bert_model.ckpt.index", "a/b.json"])
def test_extra_files_cannot_replace_the_model_files(tmp_path, name):
    model = tfbert.BertClassifier(tiny_config(), num_labels=2)
    with pytest.raises(ValueError, match="`extra_files` names must be plain file names"):
        tfbert.save(model, tmp_path / "m", vocab_file=write_vocab(tmp_path / "v.txt"),
                    extra_files={name: "{}"})
