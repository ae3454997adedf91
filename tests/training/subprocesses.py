"""Runs `run_training.py` in subprocesses (single process, or workers of a local cluster)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).with_name("run_training.py")


def command(work_dir: Path, result: Path, *args: str) -> list[str]:
    return [sys.executable, str(SCRIPT), "--work-dir", str(work_dir), "--result", str(result),
            *args]


def run(work_dir: Path, result: Path, *args: str, env: dict | None = None,
        timeout: float = 300) -> dict:
    """Runs one training process to completion; returns its `load_result` plus its "stdout"."""
    completed = subprocess.run(command(work_dir, result, *args), capture_output=True, text=True,
                               timeout=timeout, env={**os.environ, **(env or {})})
    if completed.returncode:
        raise AssertionError(f"training failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return {**load_result(result), "stdout": completed.stdout}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(tmp_path: Path, *args: str, count: int = 2) -> list[tuple[subprocess.Popen, Path]]:
    """Starts `count` workers of a MultiWorkerMirroredStrategy cluster on 127.0.0.1."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(count)]}
    workers = []
    for index in range(count):
        env = {**os.environ, "TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}})}
        result = tmp_path / f"worker_{index}.npz"
        process = subprocess.Popen(command(tmp_path / "work", result, "--strategy",
                                           "multi_worker", *args),
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        workers.append((process, result))
    return workers


def load_result(path: Path) -> dict:
    """{"history": [per-epoch dicts], "weights": {path: array}} from a result file."""
    with np.load(path) as data:
        return {"history": json.loads(str(data["history"])),
                "weights": {k[7:]: data[k] for k in data.files if k.startswith("weight:")}}


def assert_same_training(a: dict, b: dict, atol: float = 1e-5) -> None:
    """Same per-epoch losses and metrics, and the same final weights, within `atol`."""
    assert len(a["history"]) == len(b["history"])
    for first, second in zip(a["history"], b["history"]):
        for key in ("step", "loss", "mlm_logits_loss", "nsp_logits_loss", "mlm_logits_accuracy"):
            np.testing.assert_allclose(first[key], second[key], atol=atol, err_msg=key)
    assert a["weights"].keys() == b["weights"].keys()
    for name, value in a["weights"].items():
        np.testing.assert_allclose(value, b["weights"][name], atol=atol, err_msg=name)
