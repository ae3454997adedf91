import json

import numpy as np
import pytest

import tfbert

from tests.export import builders
from tests.export.conftest import (  # noqa: F401 (fixtures)
    _shared, classifier_dir, classifier_export, vocab_file)
from tfbert.cli import main
from tfbert.serving import ModelServer


@pytest.fixture(scope="module")
def server(classifier_export):
    server = ModelServer(classifier_export.parent, "clf", port=0, host="127.0.0.1",
                         poll_seconds=0, log=lambda line: None, rest_api_port=0)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def address(server):
    return f"127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def rest_url(server):
    return f"http://127.0.0.1:{server.rest_port}"


def test_predict_prints_json(address, classifier_dir, capsys):
    texts = ["a sorted list", "the fox"]
    assert main(["predict", "--server", address, "--model-name", "clf", *texts]) == 0
    outputs = json.loads(capsys.readouterr().out)
    expected = builders.keras_classify(classifier_dir, texts)
    assert outputs["label"] == list(expected["label"])
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-5)


def test_predict_pairs_and_metadata(address, classifier_dir, capsys):
    assert main(["predict", "--server", address, "--model-name", "clf", "--pair",
                 "is it sorted?", "a sorted list"]) == 0
    outputs = json.loads(capsys.readouterr().out)
    expected = builders.keras_classify(classifier_dir, ["is it sorted?"], ["a sorted list"])
    np.testing.assert_allclose(outputs["logits"], expected["logits"], atol=1e-5)
    assert main(["predict", "--server", address, "--model-name", "clf", "--metadata"]) == 0
    assert "text_pair" in json.loads(capsys.readouterr().out)


def test_predict_calls_classify_for_a_tf_example_signature(address, classifier_dir, capsys):
    texts = ["a sorted list", "the fox"]
    assert main(["predict", "--server", address, "--model-name", "clf", "--signature",
                 "classify", *texts]) == 0
    scores = json.loads(capsys.readouterr().out)
    expected = builders.keras_classify(classifier_dir, texts)["probabilities"]
    labels = list(tfbert.load(classifier_dir).labels)
    assert len(scores) == 2 and all(sorted(row) == sorted(labels) for row in scores)
    np.testing.assert_allclose([[row[label] for label in labels] for row in scores], expected,
                               atol=1e-5)
    assert main(["predict", "--server", address, "--model-name", "clf", "--signature",
                 "classify_pair", "--pair", "is it sorted?", "a sorted list"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


@pytest.mark.parametrize("args, code, message", [
    (["--model-name", "nope", "x"], 1, "NOT_FOUND: model 'nope' not found"),
    (["--model-name", "clf", "--signature", "nope", "x"], 1, "signature 'nope' not found"),
    (["--model-name", "clf", "--pair", "x"], 2, "--pair needs an even number of TEXTs"),
    (["--model-name", "clf"], 2, "give at least one TEXT"),
])
def test_predict_errors(address, capsys, args, code, message):
    assert main(["predict", "--server", address, *args]) == code
    assert message in capsys.readouterr().err


def test_unreachable_server(capsys):
    assert main(["predict", "--server", "127.0.0.1:1", "--model-name", "clf", "--timeout", "5",
                 "x"]) == 1
    assert "cannot reach 127.0.0.1:1, model 'clf'" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["a sorted list", "the fox", "中文 🙂"],
    ["--pair", "is it sorted?", "a sorted list"],
    ["--signature", "preprocess", "a list"],
    ["--signature", "classify", "a sorted list", "the fox"],
    ["--signature", "classify_pair", "--pair", "is it sorted?", "a sorted list"],
    ["--metadata"],
    ["--version", "1", "x"],
])
def test_rest_prints_what_grpc_prints(address, rest_url, capsys, args):
    assert main(["predict", "--server", address, "--model-name", "clf", *args]) == 0
    printed = capsys.readouterr().out
    assert main(["predict", "--rest", rest_url, "--model-name", "clf", *args]) == 0
    assert capsys.readouterr().out == printed


@pytest.mark.parametrize("args, code, message", [
    (["--model-name", "nope", "x"], 1, "NOT_FOUND: model 'nope' not found"),
    (["--model-name", "clf", "--signature", "nope", "x"], 1, "signature 'nope' not found"),
    (["--model-name", "clf", "--version", "3", "x"], 1, "version 3 is not loaded"),
    (["x"], 2, "--rest needs --model-name NAME"),
])
def test_rest_errors(rest_url, capsys, args, code, message):
    assert main(["predict", "--rest", rest_url, *args]) == code
    assert message in capsys.readouterr().err


def test_unreachable_or_malformed_rest_url(capsys):
    assert main(["predict", "--rest", "http://127.0.0.1:1", "--model-name", "clf",
                 "--timeout", "5", "x"]) == 1
    assert "cannot reach http://127.0.0.1:1, model 'clf'" in capsys.readouterr().err
    assert main(["predict", "--rest", "127.0.0.1:8501", "--model-name", "clf", "x"]) == 2
    assert "`url` must be 'http://host:port'; got '127.0.0.1:8501'" in capsys.readouterr().err
