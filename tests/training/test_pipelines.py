"""pipelines/: every config is a valid `tfbert pretrain` flag set for its preset; the launch
scripts are valid bash, and the multi-worker one trains two local workers (slow)."""
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.training.subprocesses import free_ports
from tests.training.text_data import write_corpus, write_vocab
from tfbert import BertConfig, BertPretrainer, load
from tfbert.cli import build_parser

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
CONFIGS = sorted((PIPELINES / "configs").glob("*.args"))


def config_args(path: Path) -> list[str]:
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    return shlex.split(" ".join(lines))


def test_there_is_a_config_for_every_preset():
    names = {path.stem for path in CONFIGS}
    assert {"bert_tiny", "bert_mini", "bert_small", "bert_medium", "bert_base",
            "bert_large"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_parses_and_its_epochs_divide_the_steps(path):
    args = build_parser().parse_args(["pretrain", *config_args(path), "--corpus", "c.txt",
                                      "--vocab", "v.txt", "--out", "m"])
    BertConfig.preset(args.config)
    assert args.steps % args.steps_per_epoch == 0
    assert args.warmup_steps < args.steps


@pytest.mark.parametrize("script", ["launch_multi_worker.sh", "launch_tpu.sh"])
def test_launch_scripts_are_valid_bash(script):
    subprocess.run(["bash", "-n", str(PIPELINES / script)], check=True)


@pytest.mark.slow
def test_local_multi_worker_launch_trains(tmp_path):
    corpus = write_corpus(tmp_path / "corpus.txt")
    vocab = write_vocab(corpus, tmp_path / "vocab.txt")
    config = BertConfig(vocab_size=len(vocab.read_text().splitlines()), hidden_size=32,
                        num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=32)
    (tmp_path / "bert_config.json").write_text(json.dumps(config.to_dict()))
    args = tmp_path / "tiny.args"
    args.write_text(f"--config {tmp_path / 'bert_config.json'}\n--steps 4\n--batch-size 4\n"
                    "--seq-length 32\n--max-predictions-per-seq 5\n--steps-per-epoch 2\n")
    port = free_ports(1)[0]  # the workers take port and port + 1
    env = {**os.environ, "LOCAL_WORKERS": "2", "PORT": str(port),
           "WORKDIR_LOGS": str(tmp_path / "logs")}
    completed = subprocess.run(
        ["bash", str(PIPELINES / "launch_multi_worker.sh"), str(args), "--", "--corpus",
         str(corpus), "--vocab", str(vocab), "--out", str(tmp_path / "model")],
        env=env, capture_output=True, text=True, timeout=600)
    logs = "".join(p.read_text() for p in sorted((tmp_path / "logs").glob("*.log")))
    assert completed.returncode == 0, logs[-3000:]
    assert isinstance(load(tmp_path / "model"), BertPretrainer)
