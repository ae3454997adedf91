"""`tfbert finetune`: from a model directory to a classifier or a regressor; input files in every
format; `tfbert evaluate` and `tfbert predict --model`; errors that name the file and line."""
import json

import numpy as np
import pytest
import tensorflow as tf

import tfbert
from tests.training.text_data import write_order_task
from tfbert.cli import main
from tfbert.models.checkpoint import model_weights, read_checkpoint
from tfbert.tasks.labelled_text import read_labelled_text

WORDS = ["the", "file", "object", "returns", "value", "string", "list", "module", "alpha",
         "omega", "is", "not", "a"]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    """A tiny model directory holding a bare encoder, as `tfbert convert` writes one."""
    folder = tmp_path_factory.mktemp("encoder")
    vocab = folder / "vocab.txt"
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab.write_text("\n".join(special + WORDS) + "\n")
    config = tfbert.BertConfig(vocab_size=len(special) + len(WORDS), hidden_size=32,
                               num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                               max_position_embeddings=24)
    return tfbert.save(tfbert.BertEncoder(config), folder / "model", vocab_file=vocab,
                       do_lower_case=True)


def test_finetune_writes_a_classifier_with_sorted_labels(encoder_dir, tmp_path, capsys):
    train = write_order_task(tmp_path / "train.jsonl", 64, seed=0)
    dev = write_order_task(tmp_path / "dev.jsonl", 16, seed=1)
    out = tmp_path / "classifier"
    assert main(["finetune", "--task", "classify", "--model", str(encoder_dir), "--train",
                 str(train), "--eval", str(dev), "--out", str(out), "--epochs", "2",
                 "--batch-size", "16", "--seq-length", "24", "--no-jit-compile",
                 "--progress", "none"]) == 0
    assert "after 8 steps" in capsys.readouterr().out
    model = tfbert.load(out)
    assert isinstance(model, tfbert.BertClassifier)
    assert list(model.labels) == ["alpha-first", "omega-first"]
    history = json.loads((out / "history.json").read_text())
    assert [entry["step"] for entry in history] == [4, 8]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "val_macro_f1"} <= history[-1].keys()
    # Training started from the encoder's weights (a fresh init, std 0.02, would be far off)
    # and moved them.
    start = read_checkpoint(encoder_dir / "bert_model.ckpt")
    trained = model_weights(model)
    assert set(trained) - set(start) == {"classifier/kernel", "classifier/bias"}
    for name, value in start.items():
        np.testing.assert_allclose(trained[name], value, atol=0.01, err_msg=name)
    assert any(not np.array_equal(trained[name], value) for name, value in start.items())


def test_labelled_text_formats_agree(tmp_path):
    rows = [("a day", "fine", "pos"), ("b, night", "bad \"x\"", "neg")]
    (tmp_path / "d.csv").write_text("text,text_pair,label\n" + "".join(
        f'"{t}","{p.replace(chr(34), 2 * chr(34))}",{label}\n' for t, p, label in rows))
    (tmp_path / "d.tsv").write_text("label\ttext\ttext_pair\n" + "".join(
        f"{label}\t{t}\t{p}\n" for t, p, label in rows))
    (tmp_path / "d.jsonl").write_text("".join(
        json.dumps({"text": t, "text_pair": p, "label": label}) + "\n" for t, p, label in rows))
    for name in ("d.csv", "d.tsv", "d.jsonl"):
        examples = read_labelled_text(tmp_path / name)
        assert examples.texts == ["a day", "b, night"], name
        assert examples.pairs == ["fine", 'bad "x"'], name
        assert examples.labels == ["pos", "neg"], name


@pytest.mark.parametrize("content, extra, message", [
    ("", [], "has no examples"),
    ("text,label\nfine,pos\n", [], "at least 2 distinct labels"),
    ("text,label\nfine,pos\n,neg\n", [], "train.csv:3: missing 'text'"),
    ("words,label\nfine,pos\n", [], "missing 'text'"),
    ("text,label\nfine,pos\nbad,neg\n", ["--eval", "EVAL"], "dev.csv:3: label 'meh' is not one"),
])
def test_bad_files_are_named_with_their_line(encoder_dir, tmp_path, capsys, content, extra, message):
    train = tmp_path / "train.csv"
    train.write_text(content)
    (tmp_path / "dev.csv").write_text("text,label\nok,pos\nhmm,meh\n")
    extra = [str(tmp_path / "dev.csv") if arg == "EVAL" else arg for arg in extra]
    assert main(["finetune", "--model", str(encoder_dir), "--train", str(train), "--out",
                 str(tmp_path / "out"), "--seq-length", "24", *extra]) == 2
    assert message in capsys.readouterr().err


def test_unknown_file_type_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"one of \.csv, \.tsv, \.jsonl; got '\.xlsx'"):
        read_labelled_text(tmp_path / "data.xlsx")


def test_encoding_matches_the_preprocessor(encoder_dir, tmp_path):
    from tfbert.tasks.sequence_tasks import ClassifyTask

    examples = read_labelled_text(write_order_task(tmp_path / "t.jsonl", 4, seed=2))
    tokenizer = tfbert.BertTokenizer(str(encoder_dir / "vocab.txt"))
    task = ClassifyTask(tokenizer, 24, {})
    task.configure(examples)
    encoded = task.encode(examples, training=True)
    expected = tfbert.BertPreprocessor(tokenizer, seq_length=24)(tf.constant(examples.texts))
    np.testing.assert_array_equal(encoded.x["input_word_ids"], expected["input_word_ids"])
    assert encoded.y["logits"].tolist() == [
        ["alpha-first", "omega-first"].index(label) for label in examples.labels]


def test_seq_length_is_checked_before_the_model_is_built(encoder_dir, tmp_path, capsys):
    train = write_order_task(tmp_path / "train.jsonl", 8, seed=0)
    assert main(["finetune", "--model", str(encoder_dir), "--train", str(train), "--out",
                 str(tmp_path / "out"), "--seq-length", "512"]) == 2
    assert ("`seq_length` must be an int in [3, 24] (the model's max_position_embeddings); "
            "got 512") in capsys.readouterr().err


def test_unterminated_quote_names_its_line(encoder_dir, tmp_path, capsys):
    train = tmp_path / "train.csv"
    train.write_text('text,label\nfine,pos\n"awful film,neg\nok,pos\n')
    assert main(["finetune", "--model", str(encoder_dir), "--train", str(train), "--out",
                 str(tmp_path / "out"), "--seq-length", "24"]) == 2
    assert "train.csv:3: a quoted field opened on this line is never closed" in \
        capsys.readouterr().err


def _regression_file(path, count, seed):
    """Pairs scored by how many of their 8 words are "alpha" (0 to 1): learnable from words."""
    rng = np.random.default_rng(seed)
    lines = ["text\ttext_pair\tscore"]
    for _ in range(count):
        words = [str(w) for w in rng.choice(WORDS, 8)]
        for i in rng.choice(8, rng.integers(0, 5), replace=False):
            words[i] = "alpha"
        score = sum(w == "alpha" for w in words) / 8
        lines.append(f"{' '.join(words[:4])}\t{' '.join(words[4:])}\t{score:.3f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_regress_evaluate_and_predict(encoder_dir, tmp_path, capsys):
    import scipy.stats

    train = _regression_file(tmp_path / "train.tsv", 256, seed=0)
    dev = _regression_file(tmp_path / "dev.tsv", 32, seed=1)
    out = tmp_path / "regressor"
    assert main(["finetune", "--task", "regress", "--model", str(encoder_dir), "--train",
                 str(train), "--eval", str(dev), "--label-column", "score", "--out", str(out),
                 "--epochs", "6", "--batch-size", "16", "--seq-length", "24",
                 "--learning-rate", "3e-3", "--no-jit-compile", "--progress", "none",
                 "--dtype", "float32"]) == 0  # as `evaluate` runs: val_pearson must equal it
    capsys.readouterr()
    assert isinstance(tfbert.load(out), tfbert.BertRegressor)
    history = json.loads((out / "history.json").read_text())
    assert {"val_pearson", "val_spearman", "val_mse"} <= history[-1].keys()
    assert main(["evaluate", "--model", str(out), "--data", str(dev)]) == 0
    scores = json.loads(capsys.readouterr().out)
    predictions = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(out), "--input", str(dev), "--output",
                 str(predictions)]) == 0
    values = [json.loads(line)["value"] for line in predictions.read_text().splitlines()]
    truth = [float(line.split("\t")[2]) for line in dev.read_text().splitlines()[1:]]
    assert len(values) == 32
    assert scores["pearson"] == pytest.approx(scipy.stats.pearsonr(truth, values)[0], abs=1e-6)
    assert scores["spearman"] == pytest.approx(scipy.stats.spearmanr(truth, values)[0], abs=1e-6)
    assert history[-1]["val_pearson"] == pytest.approx(scores["pearson"], abs=1e-5)
    assert scores["pearson"] > 0.9, scores


def test_classifier_evaluate_and_predict_agree(encoder_dir, tmp_path, capsys):
    import sklearn.metrics

    train = write_order_task(tmp_path / "train.jsonl", 64, seed=0)
    dev = write_order_task(tmp_path / "dev.jsonl", 16, seed=1)
    out = tmp_path / "classifier"
    assert main(["finetune", "--model", str(encoder_dir), "--train", str(train), "--out",
                 str(out), "--epochs", "1", "--batch-size", "16", "--seq-length", "24",
                 "--no-jit-compile", "--progress", "none"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out), "--data", str(dev)]) == 0
    scores = json.loads(capsys.readouterr().out)
    texts = tmp_path / "texts.txt"
    truth = [json.loads(line)["label"] for line in dev.read_text().splitlines()]
    texts.write_text("".join(json.loads(line)["text"] + "\n" for line in dev.read_text().splitlines()))
    predictions = tmp_path / "predictions.jsonl"
    assert main(["predict", "--model", str(out), "--input", str(texts), "--output",
                 str(predictions)]) == 0
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    predicted = [record["label"] for record in records]
    assert scores["accuracy"] == sklearn.metrics.accuracy_score(truth, predicted)
    assert scores["macro_f1"] == pytest.approx(
        sklearn.metrics.f1_score(truth, predicted, average="macro"))
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in records)
