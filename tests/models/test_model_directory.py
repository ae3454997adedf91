import json

import numpy as np
import pytest

from tests.helpers import random_features, write_vocab
from tfbert import BertClassifier, BertConfig, BertEncoder, BertPretrainer, load
from tfbert import save as save_with_vocab
from tfbert.models.checkpoint import assign_weights, read_checkpoint
from tfbert.models.model_directory import ModelDirectory

CONFIG = BertConfig.preset("bert_tiny")


def save(model, directory, **kwargs):
    """`tfbert.save` with a small vocabulary beside `directory` unless one is given."""
    if "vocab_file" not in kwargs:
        kwargs["vocab_file"] = write_vocab(directory.parent / f"{directory.name}_vocab.txt")
    return save_with_vocab(model, directory, **kwargs)


def test_save_and_load_rebuild_the_same_model(tmp_path):
    model = BertClassifier(CONFIG, num_labels=2, labels=["no", "yes"])
    vocab = write_vocab(tmp_path / "vocab.txt")
    directory = save(model, tmp_path / "model", vocab_file=vocab, do_lower_case=True)
    assert sorted(p.name for p in directory.iterdir()) == [
        "bert_model.ckpt.data-00000-of-00001", "bert_model.ckpt.index", "config.json",
        "vocab.txt"]
    config = json.loads((directory / "config.json").read_text())
    assert config["hidden_size"] == 128 and config["do_lower_case"] is True
    assert config["task"] == {"class": "BertClassifier", "num_labels": 2,
                              "labels": ["no", "yes"], "dropout": 0.1}
    loaded = load(directory)
    assert isinstance(loaded, BertClassifier) and loaded.labels == ("no", "yes")
    features = random_features(2, 8, CONFIG.vocab_size)
    np.testing.assert_array_equal(loaded(features)["logits"], model(features)["logits"])


def test_checkpoint_uses_original_bert_names(tmp_path):
    directory = save(BertPretrainer(CONFIG), tmp_path / "model")
    names = set(read_checkpoint(directory / "bert_model.ckpt"))
    assert {"bert/embeddings/word_embeddings", "cls/predictions/output_bias",
            "bert/encoder/layer_0/attention/self/query/kernel",
            "cls/seq_relationship/output_weights"} <= names


def test_encoder_warm_starts_a_classifier_from_a_pretrainer(tmp_path):
    pretrainer = BertPretrainer(CONFIG)
    directory = save(pretrainer, tmp_path / "pretrained")
    classifier = BertClassifier(CONFIG, num_labels=3)
    result = assign_weights(classifier, read_checkpoint(directory / "bert_model.ckpt"),
                            allow_missing=("classifier/",))
    assert result.missing == ("classifier/kernel", "classifier/bias")
    assert "cls/predictions/output_bias" in result.unused
    features = random_features(2, 8, CONFIG.vocab_size)
    np.testing.assert_allclose(classifier.encoder(features)["pooled_output"],
                               pretrainer.encoder(features)["pooled_output"])


def test_missing_head_without_permission_is_an_error(tmp_path):
    directory = save(BertEncoder(CONFIG), tmp_path / "encoder")
    with pytest.raises(ValueError, match="classifier/kernel"):
        assign_weights(BertClassifier(CONFIG, num_labels=2),
                       read_checkpoint(directory / "bert_model.ckpt"))


def test_shape_mismatch_names_both_shapes(tmp_path):
    directory = save(BertEncoder(CONFIG), tmp_path / "encoder")
    weights = read_checkpoint(directory / "bert_model.ckpt")
    weights["bert/pooler/dense/bias"] = np.zeros(7, "float32")
    with pytest.raises(ValueError, match=r"bert/pooler/dense/bias: model \(128,\), weights \(7,\)"):
        assign_weights(BertEncoder(CONFIG), weights)


def test_existing_directory_is_kept_unless_overwrite(tmp_path):
    target = tmp_path / "model"
    save(BertEncoder(CONFIG), target)
    with pytest.raises(FileExistsError, match="overwrite"):
        save(BertEncoder(CONFIG), target)
    save(BertClassifier(CONFIG, num_labels=2), target, overwrite=True)
    assert ModelDirectory(target).model_class == "BertClassifier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "model_vocab.txt"]


def test_failed_save_leaves_no_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="Vocabulary"):
        save(BertEncoder(CONFIG), tmp_path / "model", vocab_file=tmp_path / "missing.txt")
    assert list(tmp_path.iterdir()) == []


def test_not_a_model_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        load(tmp_path)


@pytest.mark.parametrize("tokens, recorded, lower_case", [
    (["[CLS]", "[unused0]", "hello"], None, True),  # not recorded: an uncased vocabulary
    (["[CLS]", "Hello", "hello"], None, False),  # not recorded: a cased vocabulary
    (["[CLS]", "hello"], False, False),  # recorded wins
])
def test_vocabulary_casing(tmp_path, tokens, recorded, lower_case):
    vocab = write_vocab(tmp_path / "vocab.txt", tokens)
    directory = save(BertEncoder(CONFIG), tmp_path / "model", vocab_file=vocab)
    config_file = directory / "config.json"
    values = json.loads(config_file.read_text())
    values["do_lower_case"] = recorded  # as a directory written by hand or an older tfbert
    config_file.write_text(json.dumps(values))
    source = ModelDirectory(directory)
    assert (source.vocab_file, source.lower_case) == (directory / "vocab.txt", lower_case)


def test_save_records_the_vocabulary_casing(tmp_path):
    cased = save(BertEncoder(CONFIG), tmp_path / "cased",
                 vocab_file=write_vocab(tmp_path / "v.txt", ["Hello", "hello"]))
    assert json.loads((cased / "config.json").read_text())["do_lower_case"] is False


def test_a_model_directory_is_complete_or_not_written(tmp_path, capsys):
    with pytest.raises(ValueError, match="`vocab_file` is required: a model directory holds"):
        save_with_vocab(BertEncoder(CONFIG), tmp_path / "bare")
    assert list(tmp_path.iterdir()) == []
    small = BertConfig(vocab_size=6, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=8)
    with pytest.raises(ValueError, match="has 8 tokens but the model's vocab_size is 6"):
        save(BertEncoder(small), tmp_path / "small",
             vocab_file=write_vocab(tmp_path / "v.txt", ["a", "b", "c"]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.txt"]
    with pytest.raises(ValueError, match=r"lacks the special tokens \['\[MASK\]'\]"):
        save(BertEncoder(CONFIG), tmp_path / "x", vocab_file=_write(tmp_path / "w.txt",
                                                                   "[PAD]\n[UNK]\n[CLS]\n[SEP]\n"))
    # A directory without its vocabulary (hand-made, older tfbert) is refused when read.
    directory = save(BertEncoder(CONFIG), tmp_path / "model")
    (directory / "vocab.txt").unlink()
    with pytest.raises(FileNotFoundError, match="has no vocab.txt: a model directory holds"):
        load(directory)


def _write(path, text):
    path.write_text(text)
    return path
