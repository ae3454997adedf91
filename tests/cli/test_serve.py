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
from tfbert.serving.rest_client import RestClient


def _free_ports(count: int) -> list[int]:
    """`count` different free ports (all held open while they are picked)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture()
def served(classifier_export):
    """`tfbert serve` on the export's base path with gRPC and REST; yields ("127.0.0.1:PORT",
    "http://127.0.0.1:REST_PORT", output lines) once it listens."""
    port, rest_port = _free_ports(2)
    process = subprocess.Popen(
        [sys.executable, "-m", "tfbert", "serve", "--model-base-path",
         str(classifier_export.parent), "--model-name", "clf", "--host", "127.0.0.1",
         "--port", str(port), "--rest-api-port", str(rest_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    lines = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving model"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for _ in range(360):  # up to 180 s, unless the process ends first
            if ready.wait(0.5) or process.poll() is not None:
                break
        if not ready.is_set():
            reader.join(5)
            raise RuntimeError("tfbert serve did not start:\n" + "".join(lines))
        yield f"127.0.0.1:{port}", f"http://127.0.0.1:{rest_port}", lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_export_serve_predict_end_to_end(served, classifier_dir):
    address, rest_url, lines = served
    assert any("loaded version 1" in line for line in lines)
    assert any(f"REST on 127.0.0.1:{rest_url.rsplit(':', 1)[1]}" in line for line in lines)
    with PredictionClient(address, "clf", timeout=60) as client:
        outputs = client.predict(builders.TEXTS)
        metadata = client.metadata()
    with RestClient(rest_url, "clf", timeout=60) as rest_client:
        assert rest_client.metadata() == metadata
        for name, value in rest_client.predict(builders.TEXTS).items():
            np.testing.assert_array_equal(value, outputs[name])
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
    assert main(["serve", "--model-base-path", str(tmp_path), "--model-name", "m",
                 "--rest-api-port", "-1"]) == 2
    assert "--rest-api-port must be a port number, or 0 for no REST API; got -1" in \
        capsys.readouterr().err
