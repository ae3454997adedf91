"""`tfbert finetune --task qa` end to end on SQuAD v2.0-format data: contexts of several windows,
unanswerable questions, the no-answer threshold chosen on --eval and kept, scores equal to the
official evaluation (Model Garden's copy of evaluate-v2.0.py), `tfbert evaluate` and
`tfbert predict --model` with answers as spans of the original context."""
import json

import numpy as np
import pytest
from official.nlp.tools import squad_evaluate_v2_0 as official

import tfbert
from tests.helpers import write_vocab
from tfbert.cli import main

CITIES = [("paris",), ("new", "york"), ("zürich",), ("北", "京")]
FILLER = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "dog", "ran", "far", "away"]


def _squad(path, count, seed):
    """Questions "where?" about ~40-word contexts holding one city, or (a third) none."""
    rng = np.random.default_rng(seed)
    paragraphs = []
    for index in range(count):
        words = [str(word) for word in rng.choice(FILLER, 40)]
        answerable = index % 3 != 0
        answers = []
        if answerable:
            city = CITIES[rng.integers(len(CITIES))]
            at = int(rng.integers(len(words)))
            words[at:at] = list(city)
        context = " ".join(words)
        if answerable:
            text = " ".join(city)
            answers = [{"text": text, "answer_start": context.index(f" {text} ") + 1
                        if f" {text} " in context else context.index(text)}]
        paragraphs.append({"context": context, "qas": [{
            "id": f"q{index}", "question": "where ?", "answers": answers,
            "is_impossible": not answerable}]})
    dataset = {"version": "v2.0", "data": [{"title": "t", "paragraphs": paragraphs}]}
    path.write_text(json.dumps(dataset, ensure_ascii=False), encoding="utf-8")
    return dataset


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa_encoder")
    words = [w for city in CITIES for w in city] + FILLER + ["where", "?", "zurich"]
    vocab = write_vocab(folder / "vocab.txt", words)
    config = tfbert.BertConfig(vocab_size=5 + len(words), hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=32)
    return tfbert.save(tfbert.BertEncoder(config), folder / "model", vocab_file=vocab)


def test_qa_answers_across_windows_and_knows_when_not_to(encoder_dir, tmp_path, capsys):
    _squad(tmp_path / "train.json", 160, seed=0)
    dev = _squad(tmp_path / "dev.json", 48, seed=1)
    out = tmp_path / "squad"
    assert main(["finetune", "--task", "qa", "--model", str(encoder_dir), "--train",
                 str(tmp_path / "train.json"), "--eval", str(tmp_path / "dev.json"),
                 "--out", str(out), "--epochs", "6", "--batch-size", "16", "--seq-length", "24",
                 "--doc-stride", "8", "--max-query-length", "4", "--learning-rate", "5e-3",
                 "--no-jit-compile",
                 "--progress", "none"]) == 0
    capsys.readouterr()
    assert isinstance(tfbert.load(out), tfbert.BertSpanQA)
    settings = json.loads((out / "finetuning.json").read_text())["settings"]
    assert isinstance(settings["null_threshold"], float) and settings["doc_stride"] == 8

    assert main(["evaluate", "--model", str(out), "--data", str(tmp_path / "dev.json")]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["exact"] > 90, scores
    assert scores["HasAns_total"] == 32 and scores["NoAns_total"] == 16
    assert scores["null_threshold"] == settings["null_threshold"]

    predictions = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(out), "--input", str(tmp_path / "dev.json"),
                 "--output", str(predictions)]) == 0
    records = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    contexts = {qa["id"]: p["context"] for p in dev["data"][0]["paragraphs"] for qa in p["qas"]}
    for record in records:
        if record["answer"]:
            assert contexts[record["id"]][record["start"]:record["end"]] == record["answer"]
        else:
            assert record["start"] == record["end"] == -1
    # The official script, on the records' answers, gives the scores evaluate printed.
    answers = {record["id"]: record["answer"] for record in records}
    exact, f1 = official._get_raw_scores(dev["data"], answers)
    assert 100 * sum(exact.values()) / len(exact) == pytest.approx(scores["exact"])
    assert 100 * sum(f1.values()) / len(f1) == pytest.approx(scores["f1"])
    assert any(record["answer"] == "zürich" for record in records)  # the original characters


def test_answer_start_that_does_not_match_fails_before_training(encoder_dir, tmp_path, capsys):
    dataset = _squad(tmp_path / "train.json", 3, seed=0)
    dataset["data"][0]["paragraphs"][1]["qas"][0]["answers"][0]["answer_start"] += 1
    (tmp_path / "train.json").write_text(json.dumps(dataset), encoding="utf-8")
    assert main(["finetune", "--task", "qa", "--model", str(encoder_dir), "--train",
                 str(tmp_path / "train.json"), "--out", str(tmp_path / "out"),
                 "--seq-length", "24", "--max-query-length", "4"]) == 2
    error = capsys.readouterr().err
    assert "train.json" in error and "q1" in error
    assert not (tmp_path / "out").exists()
