"""`tfbert pretrain` end to end on a small corpus: model directory, history, checkpoints,
TensorBoard logs; continued pretraining with --init; clear errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.training.text_data import write_corpus, write_vocab
from tfbert import BertPretrainer, load
from tfbert.cli import main


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrain")
    corpus = write_corpus(folder / "corpus.txt")
    vocab = write_vocab(corpus, folder / "vocab.txt")
    config = {"vocab_size": len(vocab.read_text().split("\n")) - 1, "hidden_size": 32,
              "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
              "max_position_embeddings": 32}
    (folder / "bert_config.json").write_text(json.dumps(config))
    return folder


COMMON = ["--steps", "4", "--steps-per-epoch", "2", "--batch-size", "4", "--seq-length", "32",
          "--max-predictions-per-seq", "5", "--no-jit-compile", "--progress", "none"]


def test_pretrain_writes_a_model_directory_with_history(data, tmp_path, capsys):
    out = tmp_path / "model"
    assert main(["pretrain", "--config", str(data / "bert_config.json"),
                 "--corpus", str(data / "corpus.txt"), "--vocab", str(data / "vocab.txt"),
                 "--out", str(out), *COMMON]) == 0
    assert "after 4 steps" in capsys.readouterr().out
    model = load(out)
    assert isinstance(model, BertPretrainer) and model.config.hidden_size == 32
    history = json.loads((out / "history.json").read_text())
    assert [entry["step"] for entry in history] == [2, 4]
    assert {"loss", "mlm_logits_loss", "mlm_logits_accuracy", "nsp_logits_accuracy",
            "learning_rate", "examples_per_second"} <= history[0].keys()
    work = tmp_path / "model.work"
    assert sorted(p.name for p in (work / "checkpoints").iterdir()) == ["step_2", "step_4"]
    assert list((work / "logs").rglob("events.out.tfevents.*"))
    assert not (work / "backup").exists()  # done: a rerun would start afresh

    # Continued pretraining from the directory: same config and vocabulary, weights move on.
    again = tmp_path / "continued"
    assert main(["pretrain", "--init", str(out), "--corpus", str(data / "corpus.txt"),
                 "--out", str(again), *COMMON]) == 0
    before = model.get_layer("bert").get_weights()
    after = load(again).get_layer("bert").get_weights()
    assert len(before) == len(after)
    assert any(not np.allclose(a, b) for a, b in zip(before, after))

    # An existing output is never clobbered without --overwrite.
    assert main(["pretrain", "--init", str(out), "--corpus", str(data / "corpus.txt"),
                 "--out", str(again), *COMMON]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_a_redirected_log_gets_one_line_per_epoch_and_no_tensorflow_lines(data, tmp_path):
    # As a user runs it with output to a file: no TF_CPP_MIN_LOG_LEVEL from the test set-up.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "tfbert", "pretrain", "--config", str(data / "bert_config.json"),
         "--corpus", str(data / "corpus.txt"), "--vocab", str(data / "vocab.txt"), "--out",
         str(tmp_path / "m"), "--steps", "4", "--steps-per-epoch", "2", "--batch-size", "4",
         "--seq-length", "32", "--max-predictions-per-seq", "5", "--no-jit-compile"],
        env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "\x1b" not in output and "\r" not in output  # no progress-bar escapes
    assert output.count("Epoch 1/2") == output.count("Epoch 2/2") == 1
    assert "2/2 - " in output  # Keras' one line per epoch
    assert not any(marker in output for marker in ("cuInit", "oneDNN", "I0000", "absl::"))


def test_a_preset_takes_the_vocabulary_size(data, tmp_path, capsys):
    out = tmp_path / "tiny"
    small = ["--steps", "1", "--batch-size", "2", "--seq-length", "16",
             "--max-predictions-per-seq", "2", "--no-jit-compile", "--progress", "none"]
    assert main(["pretrain", "--config", "bert_tiny", "--corpus", str(data / "corpus.txt"),
                 "--vocab", str(data / "vocab.txt"), "--out", str(out), *small]) == 0
    vocab_size = len((data / "vocab.txt").read_text().splitlines())
    assert json.loads((out / "config.json").read_text())["vocab_size"] == vocab_size < 30522
    assert load(out).get_layer("bert").get_weights()[0].shape[0] == vocab_size


def test_a_config_smaller_than_the_vocabulary_names_both(data, tmp_path, capsys):
    config = json.loads((data / "bert_config.json").read_text())
    (tmp_path / "small.json").write_text(json.dumps({**config, "vocab_size": 100}))
    assert main(["pretrain", "--config", str(tmp_path / "small.json"), "--corpus",
                 str(data / "corpus.txt"), "--vocab", str(data / "vocab.txt"), "--out",
                 str(tmp_path / "m"), *COMMON]) == 2
    vocab_size = len((data / "vocab.txt").read_text().splitlines())
    assert f"has {vocab_size:,} tokens but the model's vocab_size is 100" in \
        capsys.readouterr().err


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\u200b\n\x01\n"])
def test_a_corpus_without_tokens_fails_naming_its_files(data, tmp_path, capsys, content):
    corpus = tmp_path / "empty.txt"
    corpus.write_text(content)
    assert main(["pretrain", "--config", str(data / "bert_config.json"), "--corpus", str(corpus),
                 "--vocab", str(data / "vocab.txt"), "--out", str(tmp_path / "m"), *COMMON]) == 2
    error = capsys.readouterr().err
    assert "The corpus has no text to train on" in error and str(corpus) in error
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("args, message", [
    (["--config", "bert_huge"], "Unknown preset 'bert_huge'"),
    (["--config", "bert_tiny", "--strategy", "multi_worker"], "TF_CONFIG"),
    (["--config", "bert_tiny", "--seq-length", "1024"], "`seq_length` must be <= "),
])
def test_bad_arguments_fail_before_training(data, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code = main(["pretrain", "--corpus", str(data / "corpus.txt"), "--vocab",
                 str(data / "vocab.txt"), "--out", str(tmp_path / "m"), "--steps", "2",
                 "--batch-size", "2", *args])
    assert code == 2
    assert message in capsys.readouterr().err
