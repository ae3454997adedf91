"""Every task through the command line: finetune -> evaluate -> predict --model -> export ->
`tfbert serve` -> raw-text requests over gRPC (accents, emoji, CJK), with the served answers equal
to the in-process predictions and spans indexing the original strings."""
import json

import numpy as np
import pytest

import tfbert
from tests.cli.test_finetune import _regression_file
from tests.helpers import write_vocab
from tests.tasks import test_qa_task, test_tag_task
from tests.training.text_data import write_order_task
from tfbert.cli import main
from tfbert.serving import ModelServer, PredictionClient
from tfbert.tasks.inference import Predictor

TAG_TEXTS = ["alice went to zürich 🙂 then left", "", "北 京 and paris, new york. " * 6,
             "Chloé saw bob"]
QUESTIONS = ["where ?", "where ?", "where ?"]
CONTEXTS = ["the cat sat on a mat in zürich and then ran far away " * 3, "the dog ran 🙂",
            "a cat sat in 北 京 , then new york"]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lifecycle")
    words = sorted({*test_tag_task.PEOPLE, *test_tag_task.FILLER, "where", "?", "alpha", "omega",
                    "file", "object", "returns", "value", "string", "list", "module", "is", "not",
                    *(w for place in test_tag_task.PLACES for w in place),
                    *(w for city in test_qa_task.CITIES for w in city), *test_qa_task.FILLER})
    vocab = write_vocab(folder / "vocab.txt", words)
    config = tfbert.BertConfig(vocab_size=5 + len(words), hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=32)
    return tfbert.save(tfbert.BertEncoder(config), folder / "model", vocab_file=vocab)


def _train_files(task, folder):
    if task == "tag":
        test_tag_task._conll(folder / "train.conll", 32, seed=0)
        test_tag_task._conll(folder / "dev.conll", 8, seed=1)
        return folder / "train.conll", folder / "dev.conll", []
    if task == "qa":
        test_qa_task._squad(folder / "train.json", 32, seed=0)
        test_qa_task._squad(folder / "dev.json", 12, seed=1)
        return folder / "train.json", folder / "dev.json", ["--max-query-length", "4",
                                                            "--doc-stride", "8"]
    if task == "regress":
        return (_regression_file(folder / "train.tsv", 32, seed=0),
                _regression_file(folder / "dev.tsv", 8, seed=1), ["--label-column", "score"])
    return (write_order_task(folder / "train.jsonl", 32, seed=0),
            write_order_task(folder / "dev.jsonl", 8, seed=1), [])


def _served(address, task):
    with PredictionClient(address, task) as client:
        if task == "qa":
            return client.predict(QUESTIONS, text_pair=CONTEXTS)
        return client.predict(TAG_TEXTS)


# regress is slow-only: its export, Regress API and predict are covered in CI by
# tests/export/test_regress_export.py and tests/cli/test_finetune.py.
@pytest.mark.parametrize("task", ["classify", pytest.param("regress", marks=pytest.mark.slow),
                                  "tag", "qa"])
def test_finetune_evaluate_predict_export_serve(task, encoder_dir, tmp_path, capsys):
    train, dev, extra = _train_files(task, tmp_path)
    model_dir = tmp_path / "model"
    assert main(["finetune", "--task", task, "--model", str(encoder_dir), "--train", str(train),
                 "--eval", str(dev), "--out", str(model_dir), "--epochs", "1", "--batch-size",
                 "8", "--seq-length", "24", "--no-jit-compile", "--progress", "none",
                 *extra]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model_dir), "--data", str(dev)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {"classify": "macro_f1", "regress": "pearson", "tag": "f1", "qa": "exact"}[task] in \
        scores
    predictions = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(model_dir), "--input", str(dev), "--output",
                 str(predictions)]) == 0
    assert predictions.read_text(encoding="utf-8").count("\n") >= 8
    export = tmp_path / "saved_models" / task / "1"
    assert main(["export", "--model", str(model_dir), "--task", task, "--out", str(export)]) == 0
    server = ModelServer(export.parent, task, port=0, host="127.0.0.1", poll_seconds=0,
                         log=lambda line: None)
    try:
        served = _served(f"127.0.0.1:{server.port}", task)
    finally:
        server.stop()
    predictor = Predictor(model_dir)
    if task == "qa":
        expected = predictor.predict(QUESTIONS, CONTEXTS)
        assert list(served["answer"]) == [record["answer"] for record in expected]
        assert served["start"].tolist() == [record["start"] for record in expected]
        for context, start, end, answer in zip(CONTEXTS, served["start"], served["end"],
                                               served["answer"]):
            assert (context[start:end] if start >= 0 else "") == answer
        np.testing.assert_allclose(served["score"], [r["score"] for r in expected], atol=1e-4)
        return
    expected = predictor.predict(TAG_TEXTS)
    if task == "tag":
        for row, (text, record) in enumerate(zip(TAG_TEXTS, expected)):
            count = int(served["num_entities"][row])
            assert [e["text"] for e in record["entities"]] == list(served["entity_texts"][row,
                                                                                          :count])
            for start, end, entity_text in zip(served["entity_starts"][row, :count],
                                               served["entity_ends"][row, :count],
                                               served["entity_texts"][row, :count]):
                assert text[start:end] == entity_text
        assert any(record["entities"] for record in expected)
    elif task == "regress":
        np.testing.assert_allclose(served["value"], [r["value"] for r in expected], atol=1e-5)
    else:
        assert list(served["label"]) == [record["label"] for record in expected]
        labels = list(tfbert.load(model_dir).labels)
        np.testing.assert_allclose(served["probabilities"], [
            [record["probabilities"][label] for label in labels] for record in expected],
            atol=1e-5)
