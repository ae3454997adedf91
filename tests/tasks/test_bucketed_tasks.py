"""Bucketed fine-tuning and prediction end to end, on texts of mixed lengths: classify and tag
models train (the loss falls) on bucketed batches; bucketed prediction gives the fixed-length
outputs (logits within 1e-5) and the same records, in input order, for classify, tag and qa;
`--no-bucketing` runs the full-length pipeline; the run prints the dtype it chose."""
import dataclasses
import json

import numpy as np
import pytest

import tfbert
from tests.helpers import write_vocab
from tfbert.cli import main
from tfbert.tasks import bucketing
from tfbert.tasks.inference import Predictor, evaluate
from tfbert.training import finetuning
from tfbert.training.finetuning import finetune
from tfbert.training.options import TrainingOptions

FILLER = ["the", "cat", "sat", "on", "a", "mat", "and", "then", "dog", "ran", "far", "away"]
PEOPLE = ["alice", "bob", "chloé"]
CITIES = [("paris",), ("new", "york"), ("北", "京")]
WORDS = FILLER + PEOPLE + [w for city in CITIES for w in city] + ["alpha", "omega", "where",
                                                                  "?", "chloe"]
SEQ_LENGTH = 32
OPTIONS = TrainingOptions(jit_compile=False, progress="none", learning_rate=5e-3)


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bucketed_encoder")
    vocab = write_vocab(folder / "vocab.txt", WORDS)
    config = tfbert.BertConfig(vocab_size=5 + len(WORDS), hidden_size=32, num_hidden_layers=1,
                               num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=SEQ_LENGTH)
    return tfbert.save(tfbert.BertEncoder(config), folder / "model", vocab_file=vocab)


def _keyword_texts(count, seed):
    """Texts of 1 to 27 words with "alpha" or "omega" somewhere: the label says which."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        words = [str(w) for w in rng.choice(FILLER, int(rng.integers(0, 27)))]
        label = "alpha" if rng.integers(2) else "omega"
        words.insert(int(rng.integers(len(words) + 1)), label)
        rows.append({"text": " ".join(words), "label": label})
    return rows


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows),
                    encoding="utf-8")
    return path


def _tag_sentences(count, seed):
    """Sentences of 1 to 45 words (the longest take two windows) with people and cities."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(count):
        words, tags = [], []
        for _ in range(int(rng.integers(1, 46))):
            kind = rng.integers(5)
            if kind == 0:
                words.append(str(rng.choice(PEOPLE)))
                tags.append("B-PER")
            elif kind == 1:
                city = CITIES[rng.integers(len(CITIES))]
                words.extend(city)
                tags.extend(["B-LOC"] + ["I-LOC"] * (len(city) - 1))
            else:
                words.append(str(rng.choice(FILLER)))
                tags.append("O")
        sentences.append((words, tags))
    return sentences


def _write_conll(path, sentences):
    path.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(*sentence))
                                for sentence in sentences) + "\n", encoding="utf-8")
    return path


def _squad(path, count, seed):
    rng = np.random.default_rng(seed)
    paragraphs = []
    for index in range(count):
        words = [str(w) for w in rng.choice(FILLER, int(rng.integers(3, 50)))]
        city = CITIES[rng.integers(len(CITIES))]
        at = int(rng.integers(len(words)))
        words[at:at] = list(city)
        context = " ".join(words)
        text = " ".join(city)
        start = context.index(f" {text} ") + 1 if f" {text} " in context else context.index(text)
        paragraphs.append({"context": context, "qas": [{
            "id": f"q{index}", "question": "where ?",
            "answers": [{"text": text, "answer_start": start}]}]})
    path.write_text(json.dumps({"version": "1.1", "data": [
        {"title": "t", "paragraphs": paragraphs}]}, ensure_ascii=False), encoding="utf-8")
    return [(p["qas"][0]["question"], p["context"]) for p in paragraphs]


def _same_outputs_and_records(model_dir, texts, pairs=None):
    """Bucketed and fixed-length predictions of `texts`: outputs within 1e-5, same records."""
    bucketed, fixed = Predictor(model_dir), Predictor(model_dir, bucketing=False)
    examples = bucketed.task.read_texts(texts, pairs)
    encoded, outputs = bucketed.outputs(examples)
    widths = set(bucketing.row_lengths(encoded).tolist())
    assert len({np.searchsorted(bucketing.bucket_lengths(SEQ_LENGTH), w) for w in widths}) >= 3
    _, expected = fixed.outputs(examples)
    assert outputs.keys() == expected.keys()
    for name in outputs:
        assert outputs[name].shape == expected[name].shape
        # Compare where the decoders look: every position of a row up to its real length.
        valid = (np.arange(SEQ_LENGTH)[None, :] < bucketing.row_lengths(encoded)[:, None])
        got, want = outputs[name], expected[name]
        if got.ndim >= 2 and got.shape[1] == SEQ_LENGTH:
            got, want = got[valid], want[valid]
        np.testing.assert_allclose(got, want, atol=1e-5)
    records = bucketed.predict(texts, pairs)
    _assert_same_records(records, fixed.predict(texts, pairs))
    return records


def _assert_same_records(got, want):
    """Equal records: the same labels, entities, spans and answers; floats within 1e-5."""
    if isinstance(want, float):
        assert got == pytest.approx(want, abs=1e-5)
    elif isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            _assert_same_records(got[key], want[key])
    elif isinstance(want, list):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            _assert_same_records(a, b)
    else:
        assert got == want


def test_classify_trains_on_buckets_and_predicts_the_same(encoder_dir, tmp_path, capsys):
    train = _write_jsonl(tmp_path / "train.jsonl", _keyword_texts(256, seed=0))
    dev_rows = _keyword_texts(40, seed=1)
    dev = _write_jsonl(tmp_path / "dev.jsonl", dev_rows)
    out = tmp_path / "classifier"
    history = finetune(model_dir=encoder_dir, train_file=train, eval_file=dev, out=out,
                       epochs=8, batch_size=16, seq_length=SEQ_LENGTH, options=OPTIONS)
    dtype, reason = OPTIONS.resolved_dtype()  # auto: this machine's choice
    assert f"dtype {dtype}: {reason}\n" in capsys.readouterr().out
    assert history[-1]["loss"] < 0.5 * history[0]["loss"], history
    assert history[-1]["val_accuracy"] > 0.9, history
    texts = [row["text"] for row in dev_rows]
    records = _same_outputs_and_records(out, texts)
    # In input order: each text alone gets the record it got in the batch.
    for index in (0, 17, 39):
        _assert_same_records(Predictor(out).predict([texts[index]]), [records[index]])
    _assert_same_records(evaluate(out, dev), evaluate(out, dev, bucketing=False))


def test_tag_trains_on_buckets_and_predicts_the_same(encoder_dir, tmp_path):
    train = _write_conll(tmp_path / "train.conll", _tag_sentences(96, seed=0))
    dev = _tag_sentences(30, seed=1)
    out = tmp_path / "ner"
    history = finetune(model_dir=encoder_dir, train_file=train, out=out, task="tag",
                       epochs=4, batch_size=16, seq_length=SEQ_LENGTH, options=OPTIONS)
    assert history[-1]["loss"] < 0.5 * history[0]["loss"], history
    records = _same_outputs_and_records(out, [" ".join(words) for words, _ in dev])
    assert any(record["entities"] for record in records)
    scores = evaluate(out, _write_conll(tmp_path / "dev.conll", dev))
    _assert_same_records(scores, evaluate(out, tmp_path / "dev.conll", bucketing=False))


@pytest.mark.slow  # XLA compiles each bucket; classify and tag cover bucketed prediction in CI
def test_qa_predicts_the_same_on_buckets(encoder_dir, tmp_path):
    _squad(tmp_path / "train.json", 64, seed=0)
    pairs = _squad(tmp_path / "dev.json", 30, seed=1)
    out = tmp_path / "squad"
    finetune(model_dir=encoder_dir, train_file=tmp_path / "train.json", out=out, task="qa",
             epochs=2, batch_size=16, seq_length=SEQ_LENGTH,
             settings={"doc_stride": 8, "max_query_length": 4},
             options=dataclasses.replace(OPTIONS, jit_compile=True))  # a compile per bucket
    records = _same_outputs_and_records(out, [q for q, _ in pairs], [c for _, c in pairs])
    assert [record["id"] for record in records] == [str(i) for i in range(len(pairs))]


def test_no_bucketing_runs_the_full_length_pipeline(encoder_dir, tmp_path, monkeypatch, capsys):
    widths = {"fixed": [], "bucketed": []}

    def spy(name, function):
        def wrapped(encoded, *args, **kwargs):
            widths[name].append(encoded.x["input_mask"].shape[1])
            return function(encoded, *args, **kwargs)
        return wrapped

    monkeypatch.setattr(finetuning, "training_dataset",
                        spy("fixed", finetuning.training_dataset))
    monkeypatch.setattr(bucketing, "training_dataset",
                        spy("bucketed", bucketing.training_dataset))
    predicted = []
    original_predict = bucketing.predict
    monkeypatch.setattr("tfbert.tasks.task.bucketing_predict", lambda *args: (
        predicted.append(args[3]), original_predict(*args))[1])
    train = _write_jsonl(tmp_path / "train.jsonl", _keyword_texts(32, seed=0))
    out = tmp_path / "classifier"
    assert main(["finetune", "--model", str(encoder_dir), "--train", str(train), "--out",
                 str(out), "--epochs", "1", "--batch-size", "16", "--seq-length", "32",
                 "--no-jit-compile", "--progress", "none", "--no-bucketing"]) == 0
    assert widths == {"fixed": [SEQ_LENGTH], "bucketed": []}
    texts = tmp_path / "texts.txt"
    texts.write_text("alpha the cat omega\nomega alpha\n", encoding="utf-8")
    for flag in ("--no-bucketing", None):
        assert main(["predict", "--model", str(out), "--input", str(texts), "--output",
                     str(tmp_path / "p.jsonl"), *([flag] if flag else [])]) == 0
        assert main(["evaluate", "--model", str(out), "--data", str(train),
                     *([flag] if flag else [])]) == 0
        assert predicted[-2:] == [(SEQ_LENGTH,) if flag else bucketing.batch_lengths(
            SEQ_LENGTH, compiled=False)] * 2
    capsys.readouterr()
    assert main(["finetune", "--model", str(encoder_dir), "--train", str(train), "--out",
                 str(out), "--epochs", "1", "--batch-size", "16", "--seq-length", "32",
                 "--no-jit-compile", "--progress", "none", "--overwrite"]) == 0
    assert widths == {"fixed": [SEQ_LENGTH], "bucketed": [SEQ_LENGTH]}
