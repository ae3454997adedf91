"""`tfbert finetune --task classify`: from a model directory to a labelled classifier; input
files in every format; errors that name the file and line."""
import json

import numpy as np
import pytest
import tensorflow as tf

import tfbert
from tests.training.text_data import write_order_task
from tfbert.cli import main
from tfbert.models.checkpoint import model_weights, read_checkpoint
from tfbert.training.classification_data import read_labelled_text

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
                 "--verbose", "0"]) == 0
    assert "after 8 steps" in capsys.readouterr().out
    model = tfbert.load(out)
    assert isinstance(model, tfbert.BertClassifier)
    assert list(model.labels) == ["alpha-first", "omega-first"]
    history = json.loads((out / "history.json").read_text())
    assert [entry["step"] for entry in history] == [4, 8]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= history[-1].keys()
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
                 str(tmp_path / "out"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_unknown_file_type_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"one of \.csv, \.tsv, \.jsonl; got '\.xlsx'"):
        read_labelled_text(tmp_path / "data.xlsx")


def test_preprocessing_matches_the_tokenizer(encoder_dir, tmp_path):
    from tfbert.training.finetuning import classification_dataset

    examples = read_labelled_text(write_order_task(tmp_path / "t.jsonl", 4, seed=2))
    preprocessor = tfbert.BertPreprocessor(tfbert.BertTokenizer(str(encoder_dir / "vocab.txt")),
                                           seq_length=24)
    features, targets = next(iter(classification_dataset(
        examples, ["alpha-first", "omega-first"], preprocessor, batch_size=4)))
    expected = preprocessor(tf.constant(examples.texts))
    np.testing.assert_array_equal(features["input_word_ids"], expected["input_word_ids"])
    assert targets["logits"].numpy().tolist() == [
        ["alpha-first", "omega-first"].index(label) for label in examples.labels]
