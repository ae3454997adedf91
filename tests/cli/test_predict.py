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
def address(classifier_export):
    server = ModelServer(classifier_export.parent, "clf", port=0, host="127.0.0.1",
                         poll_seconds=0, log=lambda line: None)
    yield f"127.0.0.1:{server.port}"
    server.stop()


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
