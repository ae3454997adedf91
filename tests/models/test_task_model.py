"""Every tfbert model round-trips through get_config/from_config and `.keras` files."""
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import random_features, to_numpy
from tfbert import (BertClassifier, BertConfig, BertEmbedder, BertEncoder, BertPretrainer,
                    BertSpanQA, BertTokenClassifier)

CONFIG = dataclasses.replace(BertConfig.preset("bert_tiny"), vocab_size=90,
                             max_position_embeddings=32, hidden_act="gelu_new")

MODELS = {
    "encoder": lambda: BertEncoder(CONFIG),
    "pretrainer": lambda: BertPretrainer(CONFIG),
    "mlm_only": lambda: BertPretrainer(CONFIG, next_sentence=False),
    "classifier": lambda: BertClassifier(CONFIG, num_labels=3, labels=["a", "b", "c"],
                                         dropout=0.2),
    "token_classifier": lambda: BertTokenClassifier(CONFIG, num_labels=4),
    "span_qa": lambda: BertSpanQA(CONFIG),
    "embedder": lambda: BertEmbedder(CONFIG, pooling="mean", normalize=True),
}


def inputs_for(model):
    features = random_features(2, 10, CONFIG.vocab_size)
    if "masked_lm_positions" in model.input:
        features["masked_lm_positions"] = np.array([[1, 2, 3], [0, 4, 4]], "int32")
    return features


@pytest.mark.parametrize("name", sorted(MODELS))
def test_config_round_trip(name):
    model = MODELS[name]()
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.get_config() == model.get_config()
    features = inputs_for(model)
    tf.nest.map_structure(np.testing.assert_array_equal, to_numpy(clone(features)),
                          to_numpy(model(features)))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_file_round_trip(name, tmp_path):
    model = MODELS[name]()
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    features = inputs_for(model)
    tf.nest.map_structure(np.testing.assert_array_equal, to_numpy(loaded(features)),
                          to_numpy(model(features)))


def test_pretrainer_heads_and_tied_embedding():
    model = BertPretrainer(CONFIG)
    paths = {v.path for v in model.weights}
    assert {"cls/predictions/output_bias", "cls/predictions/transform/dense/kernel",
            "cls/seq_relationship/output_weights"} <= paths
    assert not any("decoder" in path for path in paths)  # the output layer is the embedding
    assert "nsp_logits" not in BertPretrainer(CONFIG, next_sentence=False).output


def test_task_outputs():
    features = random_features(2, 10, CONFIG.vocab_size)
    assert MODELS["classifier"]()(features)["logits"].shape == (2, 3)
    assert MODELS["token_classifier"]()(features)["logits"].shape == (2, 10, 4)
    spans = MODELS["span_qa"]()(features)
    assert spans["start_logits"].shape == spans["end_logits"].shape == (2, 10)
    embedding = MODELS["embedder"]()(features)["embedding"].numpy()
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=-1), 1.0, atol=1e-5)


def test_label_names_must_match_num_labels():
    with pytest.raises(ValueError, match="3 distinct names"):
        BertClassifier(CONFIG, num_labels=3, labels=["a", "b"])
    with pytest.raises(ValueError, match="distinct"):
        BertTokenClassifier(CONFIG, num_labels=2, labels=["a", "a"])
