"""Model Garden TF2 checkpoints: models built by tf-models-official itself (BertEncoder and
BertEncoderV2, alone or inside BertPretrainerV2 / BertClassifier / BertSpanLabeler), saved the
ways its converter and its training runs save them, convert to tfbert models that compute what
the Model Garden models compute."""
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from official.modeling import tf_utils
from official.nlp.modeling import layers, models, networks

from tests.convert.test_google import VOCAB, write_google_folder
from tests.helpers import random_features, write_vocab
from tfbert import BertConfig, BertEncoder, BertPretrainer, load
from tfbert.cli import main
from tfbert.convert import read_garden

CONFIG = dataclasses.replace(BertConfig.preset("bert_tiny"), vocab_size=150,
                             max_position_embeddings=40, hidden_act="gelu_new")
FEATURES = random_features(2, 12, CONFIG.vocab_size)


def garden_encoder(v2: bool = False, **overrides):
    """A Model Garden encoder of CONFIG's shape, as its own `bert_config.json` reader builds it."""
    kind, extra = ((networks.BertEncoderV2, {}) if v2 else
                   (networks.BertEncoder, {"dict_outputs": True}))
    return kind(**extra, **dict(
        vocab_size=CONFIG.vocab_size, hidden_size=CONFIG.hidden_size,
        num_layers=CONFIG.num_hidden_layers, num_attention_heads=CONFIG.num_attention_heads,
        intermediate_size=CONFIG.intermediate_size, activation=tf_utils.get_activation("gelu"),
        max_sequence_length=CONFIG.max_position_embeddings,
        type_vocab_size=CONFIG.type_vocab_size), **overrides)


def randomize(model, seed=0):
    """Every weight random (biases and LayerNorm too), so a misplaced tensor shows."""
    rng = np.random.default_rng(seed)
    for variable in model.variables:
        variable.assign(rng.normal(0.0, 0.2, variable.shape).astype("float32"))


def write_folder(directory, **objects):
    """A released-style folder: a tf.train.Checkpoint of `objects`, bert_config.json, vocab."""
    directory.mkdir(parents=True)
    tf.train.Checkpoint(**objects).save(str(directory / "bert_model.ckpt"))
    (directory / "bert_config.json").write_text(
        json.dumps(dict(CONFIG.to_dict(), hidden_act="gelu")))
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return directory


def assert_close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=1e-5, rtol=0)


def test_released_encoder_folder_matches_model_garden(tmp_path, capsys):
    encoder = garden_encoder()
    encoder(FEATURES)  # creates the weights
    randomize(encoder)
    reference = encoder(FEATURES)
    folder = write_folder(tmp_path / "released", encoder=encoder)
    assert main(["convert", "--from", "garden", str(folder), "--out", str(tmp_path / "out")]) == 0
    assert "BertEncoder, 2 layers" in capsys.readouterr().out

    model = load(tmp_path / "out")
    assert isinstance(model, BertEncoder) and model.config == CONFIG
    outputs = model(FEATURES)
    assert_close(outputs["sequence_output"], reference["sequence_output"])
    assert_close(outputs["pooled_output"], reference["pooled_output"])
    assert json.loads((tmp_path / "out" / "config.json").read_text())["do_lower_case"] is True


def test_training_checkpoint_without_config_matches_model_garden(tmp_path):
    # A Model Garden pretraining run: BertEncoderV2 in BertPretrainerV2 with its next-sentence
    # head, saved with the optimizer's slots as `model`; no bert_config.json.
    pretrainer = models.BertPretrainerV2(
        encoder_network=garden_encoder(v2=True),
        mlm_activation=tf_utils.get_activation("gelu"),
        classification_heads=[layers.ClassificationHead(
            inner_dim=CONFIG.hidden_size, num_classes=2, name="next_sentence")])
    features = dict(FEATURES, masked_lm_positions=np.array([[1, 2, 5], [0, 3, 3]], "int32"))
    pretrainer(features)
    randomize(pretrainer)
    optimizer = tf_keras.optimizers.Adam(1e-3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(pretrainer(features, training=True)["mlm_logits"] ** 2)
    optimizer.apply_gradients(zip(tape.gradient(loss, pretrainer.trainable_variables),
                                  pretrainer.trainable_variables))
    reference = pretrainer(features)
    run = tmp_path / "run"
    prefix = tf.train.Checkpoint(model=pretrainer, optimizer=optimizer).save(str(run / "ckpt"))

    converted = read_garden(prefix)
    assert converted.config == CONFIG  # inferred from the weights
    assert converted.task == {"class": "BertPretrainer", "next_sentence": False}
    assert converted.vocab_file is None
    assert any("1 classification head" in note for note in converted.notes)
    converted.save(tmp_path / "out", vocab_file=write_vocab(tmp_path / "vocab.txt"))
    model = load(tmp_path / "out")
    assert isinstance(model, BertPretrainer)
    assert_close(model(features)["mlm_logits"], reference["mlm_logits"])
    assert_close(model.encoder(FEATURES)["sequence_output"], reference["sequence_output"])


def test_fine_tuned_classifier_and_span_labeler_match_model_garden(tmp_path):
    classifier = models.BertClassifier(network=garden_encoder(), num_classes=3)
    span_labeler = models.BertSpanLabeler(network=garden_encoder(v2=True))
    for name, garden in (("classifier", classifier), ("span", span_labeler)):
        garden(FEATURES)
        randomize(garden, seed=len(name))
        write_folder(tmp_path / name, model=garden)
        main(["convert", "--from", "garden", str(tmp_path / name), "--out",
              str(tmp_path / f"{name}_out")])

    ours = load(tmp_path / "classifier_out")
    assert type(ours).__name__ == "BertClassifier" and ours.num_labels == 3
    assert_close(ours(FEATURES)["logits"], classifier(FEATURES))
    ours, (start, end) = load(tmp_path / "span_out"), span_labeler(FEATURES)
    assert type(ours).__name__ == "BertSpanQA"
    outputs = ours(FEATURES)
    assert_close(outputs["start_logits"], start)
    assert_close(outputs["end_logits"], end)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a folder nor a checkpoint prefix"):
        read_garden(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no checkpoint"):
        read_garden(tmp_path / "empty")

    tensors = {"bert/embeddings/word_embeddings": np.ones((150, 128), "float32")}
    google = write_google_folder(tmp_path / "google", tensors, step_name="bert_model.ckpt")
    with pytest.raises(ValueError, match=r"name-based \(TF1\) checkpoint.*--from google"):
        read_garden(google)

    unrelated = tmp_path / "unrelated"
    dense = tf_keras.layers.Dense(2)
    dense.build((None, 3))
    tf.train.Checkpoint(dense=dense).save(str(unrelated / "ckpt"))
    with pytest.raises(ValueError, match="holds no Model Garden BERT encoder"):
        read_garden(unrelated)

    narrow = garden_encoder(embedding_width=64)
    write_folder(tmp_path / "narrow", encoder=narrow)
    with pytest.raises(ValueError, match="embedding_width != hidden_size"):
        read_garden(tmp_path / "narrow")

    folder = write_folder(tmp_path / "pre_norm", encoder=garden_encoder(v2=True, norm_first=True))
    (folder / "params.yaml").write_text("task:\n  model:\n    encoder:\n      bert:\n"
                                        "        norm_first: true\n")
    with pytest.raises(ValueError, match="norm_first: true"):
        read_garden(folder)

    folder = write_folder(tmp_path / "mismatch", encoder=garden_encoder())
    (folder / "bert_config.json").write_text(json.dumps(dict(CONFIG.to_dict(),
                                                             intermediate_size=256)))
    with pytest.raises(ValueError, match=r"intermediate/dense/kernel has shape \(128, 512\)"):
        read_garden(folder)
