"""End to end: export -> `tfbert serve` (a real process on 127.0.0.1) -> gRPC with raw text."""
import os
import signal
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from tests.export import builders
from tests.export.conftest import (  # noqa: F401 (fixtures)
    _shared, classifier_dir, classifier_export, vocab_file)
from tfbert.serving import PredictionClient


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def served(classifier_export):
    """`tfbert serve` on the export's base path; yields "127.0.0.1:PORT" once it listens."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tfbert", "serve", "--model-base-path",
         str(classifier_export.parent), "--model-name", "clf", "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    lines = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving model"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(180):
            raise RuntimeError("tfbert serve did not start:\n" + "".join(lines))
        yield f"127.0.0.1:{port}", lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_export_serve_predict_end_to_end(served, classifier_dir):
    address, lines = served
    assert any("loaded version 1" in line for line in lines)
    with PredictionClient(address, "clf", timeout=60) as client:
        outputs = client.predict(builders.TEXTS)
        metadata = client.metadata()
    expected = builders.keras_classify(classifier_dir, builders.TEXTS)
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-5)
    np.testing.assert_allclose(outputs["logits"], expected["logits"], atol=1e-5)
    assert list(outputs["label"]) == list(expected["label"])
    assert sorted(metadata) == ["classify", "classify_pair", "preprocess", "serving_default",
                              "text_pair"]


def test_a_bad_version_policy_is_refused_before_serving(tmp_path, capsys):
    from tfbert.cli import main

    assert main(["serve", "--model-base-path", str(tmp_path), "--model-name", "m",
                 "--version-policy", "newest"]) == 2
    assert "bad version policy 'newest'" in capsys.readouterr().err
