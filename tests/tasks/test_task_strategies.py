"""Tagging and QA train under MirroredStrategy (2 logical CPUs) and with mixed_bfloat16 under XLA:
the same command line, a fresh process per run (a strategy's devices are fixed per process)."""
import json
import subprocess
import sys

import pytest

import tfbert
from tests.helpers import write_vocab
from tests.tasks import test_qa_task, test_tag_task

RUNS = {
    "mirrored": ["--strategy", "mirrored", "--num-cpu-devices", "2"],
    "bf16-xla": ["--dtype", "mixed_bfloat16", "--jit-compile"],
}
# CI keeps the mirrored runs; bf16 under XLA is also covered by the pretraining step tests.
SLOW = {"bf16-xla"}


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("encoder")
    words = sorted({*test_tag_task.PEOPLE, *test_tag_task.FILLER, "where", "?",
                    *(w for place in test_tag_task.PLACES for w in place),
                    *(w for city in test_qa_task.CITIES for w in city), *test_qa_task.FILLER})
    vocab = write_vocab(folder / "vocab.txt", words)
    config = tfbert.BertConfig(vocab_size=5 + len(words), hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=32)
    return tfbert.save(tfbert.BertEncoder(config), folder / "model", vocab_file=vocab)


@pytest.mark.parametrize("run", [pytest.param(run, marks=pytest.mark.slow) if run in SLOW
                                 else run for run in sorted(RUNS)])
@pytest.mark.parametrize("task", ["tag", "qa"])
def test_task_trains_under(task, run, encoder_dir, tmp_path):
    if task == "tag":
        test_tag_task._conll(tmp_path / "train", 64, seed=0)
        test_tag_task._conll(tmp_path / "dev", 16, seed=1)
        extra = []
    else:
        test_qa_task._squad(tmp_path / "train", 64, seed=0)
        test_qa_task._squad(tmp_path / "dev", 16, seed=1)
        extra = ["--max-query-length", "4"]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tfbert", "finetune", "--task", task, "--model",
               str(encoder_dir), "--train", str(tmp_path / "train"), "--eval",
               str(tmp_path / "dev"), "--out", str(out), "--epochs", "2", "--batch-size", "16",
               "--seq-length", "24", "--learning-rate", "5e-3", "--progress", "none", *extra,
               *RUNS[run]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    assert len(history) == 2 and history[-1]["loss"] < history[0]["loss"]
    assert 0 <= history[-1]["val_f1"] <= (1 if task == "tag" else 100)
    assert isinstance(tfbert.load(out), tfbert.BertTokenClassifier if task == "tag"
                      else tfbert.BertSpanQA)
