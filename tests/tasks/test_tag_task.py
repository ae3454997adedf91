"""`tfbert finetune --task tag` end to end: CoNLL sentences longer than one window, entity F1
equal to seqeval's on the same tags, `tfbert evaluate`, and `tfbert predict --model` giving
entities with code-point spans into raw text (accents, CJK)."""
import json

import numpy as np
import pytest
import seqeval.metrics

import tfbert
from tests.helpers import write_vocab
from tfbert.cli import main

PEOPLE = ["alice", "bob", "chloé"]
PLACES = [("paris",), ("new", "york"), ("北", "京")]
FILLER = ["the", "went", "to", "and", "saw", "a", "cat", "then", "left", "home"]


def _sentence(rng):
    words, tags = [], []
    while len(words) < 40:  # about 3 windows of 16 pieces
        kind = rng.integers(4)
        if kind == 0:
            words.append(str(rng.choice(PEOPLE)))
            tags.append("B-PER")
        elif kind == 1:
            place = PLACES[rng.integers(len(PLACES))]
            words.extend(place)
            tags.extend(["B-LOC"] + ["I-LOC"] * (len(place) - 1))
        else:
            words.append(str(rng.choice(FILLER)))
            tags.append("O")
    return words, tags


def _conll(path, count, seed):
    rng = np.random.default_rng(seed)
    sentences = [_sentence(rng) for _ in range(count)]
    path.write_text("-DOCSTART- -X- O O\n\n" + "\n\n".join(
        "\n".join(f"{word} NN {tag}" for word, tag in zip(*sentence))
        for sentence in sentences) + "\n", encoding="utf-8")
    return sentences


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tag_encoder")
    words = PEOPLE + [w for place in PLACES for w in place] + FILLER + ["chloe"]
    vocab = write_vocab(folder / "vocab.txt", words)
    config = tfbert.BertConfig(vocab_size=5 + len(words), hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=32)
    return tfbert.save(tfbert.BertEncoder(config), folder / "model", vocab_file=vocab)


def test_tagging_learns_entities_across_windows(encoder_dir, tmp_path, capsys):
    _conll(tmp_path / "train.conll", 96, seed=0)
    dev = _conll(tmp_path / "dev.conll", 24, seed=1)
    out = tmp_path / "ner"
    assert main(["finetune", "--task", "tag", "--model", str(encoder_dir), "--train",
                 str(tmp_path / "train.conll"), "--eval", str(tmp_path / "dev.conll"),
                 "--out", str(out), "--epochs", "6", "--batch-size", "16", "--seq-length", "16",
                 "--learning-rate", "5e-3", "--no-jit-compile", "--progress", "none",
                 "--dtype", "float32"]) == 0  # as `evaluate` runs: val_f1 must equal its f1
    capsys.readouterr()
    model = tfbert.load(out)
    assert isinstance(model, tfbert.BertTokenClassifier)
    assert list(model.labels) == ["O", "B-LOC", "B-PER", "I-LOC"]
    assert main(["evaluate", "--model", str(out), "--data", str(tmp_path / "dev.conll")]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] > 0.9, scores
    assert set(scores["per_type"]) == {"LOC", "PER"}
    history = json.loads((out / "history.json").read_text())
    assert history[-1]["val_f1"] == pytest.approx(scores["f1"])

    # Predicted word tags, read back from the records, score as seqeval scores them.
    texts = tmp_path / "dev.txt"
    texts.write_text("".join(" ".join(words) + "\n" for words, _ in dev), encoding="utf-8")
    predictions = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(out), "--input", str(texts), "--output",
                 str(predictions)]) == 0
    records = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(dev)
    predicted_tags = []
    for (words, _), record in zip(dev, records):
        starts = np.cumsum([0] + [len(word) + 1 for word in words])[:-1].tolist()
        tags = ["O"] * len(words)
        for entity in record["entities"]:
            assert record["text"][entity["start"]:entity["end"]] == entity["text"]
            first = starts.index(entity["start"])
            last = max(i for i, start in enumerate(starts) if start < entity["end"])
            tags[first:last + 1] = [f"I-{entity['label']}"] * (last + 1 - first)
            tags[first] = f"B-{entity['label']}"
            assert 0 < entity["score"] <= 1
        predicted_tags.append(tags)
    gold = [tags for _, tags in dev]
    assert seqeval.metrics.f1_score(gold, predicted_tags) == pytest.approx(scores["f1"])


def test_unknown_eval_tags_fail_before_training(encoder_dir, tmp_path, capsys):
    _conll(tmp_path / "train.conll", 4, seed=0)
    (tmp_path / "dev.conll").write_text("alice B-PER\nparis B-ORG\n", encoding="utf-8")
    assert main(["finetune", "--task", "tag", "--model", str(encoder_dir), "--train",
                 str(tmp_path / "train.conll"), "--eval", str(tmp_path / "dev.conll"),
                 "--out", str(tmp_path / "out"), "--seq-length", "16"]) == 2
    error = capsys.readouterr().err
    assert "dev.conll:1: word 2 'paris' has tag 'B-ORG'" in error
    assert not (tmp_path / "out").exists()
