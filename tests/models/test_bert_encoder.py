import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import random_features
from tfbert import BertConfig, BertEncoder
from tfbert.models.checkpoint import model_weights

CONFIG = dataclasses.replace(BertConfig.preset("bert_tiny"), vocab_size=120,
                             max_position_embeddings=64)


def test_outputs_and_shapes():
    features = random_features(3, 12, CONFIG.vocab_size)
    outputs = BertEncoder(CONFIG)(features)
    assert set(outputs) == {"sequence_output", "pooled_output"}
    assert outputs["sequence_output"].shape == (3, 12, 128)
    assert outputs["pooled_output"].shape == (3, 128)


def test_padding_does_not_change_real_tokens():
    encoder = BertEncoder(CONFIG)
    short = random_features(1, 5, CONFIG.vocab_size, lengths=[5])
    padded = {name: np.pad(value, [(0, 0), (0, 7)]) for name, value in short.items()}
    padded["input_word_ids"][:, 5:] = 17  # garbage under the mask
    np.testing.assert_allclose(encoder(padded)["sequence_output"][:, :5],
                               encoder(short)["sequence_output"], atol=1e-5)


def test_variable_paths_are_the_original_checkpoint_names():
    paths = set(model_weights(BertEncoder(CONFIG)))
    assert "bert/embeddings/word_embeddings" in paths
    assert "bert/encoder/layer_1/attention/self/value/kernel" in paths
    assert "bert/pooler/dense/kernel" in paths
    assert len(paths) == 5 + 16 * CONFIG.num_hidden_layers + 2


def copy_of(encoder, dtype):
    clone = BertEncoder(encoder.config, dtype=dtype)
    clone.set_weights(encoder.get_weights())
    return clone


@pytest.mark.parametrize("policy, atol", [("mixed_bfloat16", 0.1), ("mixed_float16", 0.02)])
def test_mixed_precision_stays_close_to_float32(policy, atol):
    encoder = BertEncoder(CONFIG)
    features = random_features(2, 16, CONFIG.vocab_size)
    expected = encoder(features)["sequence_output"].numpy()
    mixed = copy_of(encoder, policy)
    actual = mixed(features)["sequence_output"]
    assert actual.dtype == keras.DTypePolicy(policy).compute_dtype == mixed.compute_dtype
    assert all(v.dtype == "float32" for v in mixed.weights)
    np.testing.assert_allclose(actual.numpy().astype("float32"), expected, atol=atol)


def test_xla_forward_matches_eager():
    encoder = BertEncoder(CONFIG)
    features = random_features(2, 16, CONFIG.vocab_size)
    compiled = tf.function(lambda f: encoder(f), jit_compile=True)
    np.testing.assert_allclose(compiled(features)["sequence_output"],
                               encoder(features)["sequence_output"], atol=1e-5)


def test_sequence_longer_than_positions_is_an_error():
    features = random_features(1, CONFIG.max_position_embeddings + 1, CONFIG.vocab_size)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        BertEncoder(CONFIG)(features)
