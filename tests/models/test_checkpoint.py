"""A tfbert checkpoint is an original BERT checkpoint: Model Garden's own converter for
Google's TF1 checkpoints reads it into its BertPretrainerV2, which then computes the same."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from official.legacy.bert import configs as garden_configs
from official.nlp.tools import tf2_bert_encoder_checkpoint_converter as garden_converter

from tests.helpers import random_features, write_vocab
from tfbert import BertConfig, BertPretrainer, save
from tfbert.models.checkpoint import read_checkpoint, write_checkpoint

# Model Garden's "gelu" is the tanh approximation (as in the original BERT code): tfbert's
# "gelu_new".
CONFIG = dataclasses.replace(BertConfig.preset("bert_tiny"), vocab_size=150,
                             max_position_embeddings=40, hidden_act="gelu_new")


def test_model_garden_reads_a_tfbert_checkpoint(tmp_path):
    model = BertPretrainer(CONFIG)
    rng = np.random.default_rng(0)
    for variable in model.weights:
        variable.assign(rng.normal(0.0, 0.2, variable.shape).astype("float32"))
    directory = save(model, tmp_path / "tfbert", vocab_file=write_vocab(tmp_path / "vocab.txt"))

    garden_config = garden_configs.BertConfig.from_dict(
        dict(CONFIG.to_dict(), hidden_act="gelu"))
    garden_converter.convert_checkpoint(
        garden_config, str(tmp_path / "garden" / "ckpt"), str(directory / "bert_model.ckpt"),
        checkpoint_model_name="model", converted_model="pretrainer")
    garden = garden_converter._create_bert_pretrainer_model(garden_config)
    checkpoint = tf.train.Checkpoint(model=garden)
    checkpoint.restore(tf.train.latest_checkpoint(tmp_path / "garden")).assert_consumed()

    features = random_features(2, 12, CONFIG.vocab_size)
    encoded = model.encoder(features)
    features["masked_lm_positions"] = np.array([[1, 2, 5], [0, 3, 3]], "int32")
    reference = garden(features)
    outputs = model(features)
    np.testing.assert_allclose(encoded["sequence_output"], reference["sequence_output"],
                               atol=1e-5, rtol=0)
    np.testing.assert_allclose(encoded["pooled_output"], reference["pooled_output"], atol=1e-5,
                               rtol=0)
    np.testing.assert_allclose(outputs["mlm_logits"], reference["mlm_logits"], atol=1e-5, rtol=0)


def test_round_trip_and_errors(tmp_path):
    tensors = {"a/b": np.arange(6, dtype="float32").reshape(2, 3), "c": np.array([1], "int32")}
    write_checkpoint(tmp_path / "ckpt", tensors)
    read = read_checkpoint(tmp_path / "ckpt")
    assert sorted(read) == ["a/b", "c"]
    np.testing.assert_array_equal(read["a/b"], tensors["a/b"])
    with pytest.raises(ValueError, match="empty"):
        write_checkpoint(tmp_path / "other", {})
    with pytest.raises(FileNotFoundError, match="No TF checkpoint"):
        read_checkpoint(tmp_path / "missing")
