import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import assert_round_trip
from tfbert.layers import BertEmbeddings


def make_layer(**kwargs):
    return BertEmbeddings(vocab_size=20, hidden_size=8, max_position_embeddings=6, **kwargs)


def test_round_trip():
    assert_round_trip(make_layer(layer_norm_eps=1e-6), tf.constant([[1, 2, 3]]),
                      tf.constant([[0, 1, 1]]))


def test_sums_word_position_and_type_embeddings_before_layer_norm():
    layer = make_layer()
    ids, types = np.array([[4, 7]]), np.array([[1, 0]])
    output = layer(ids, types).numpy()
    total = (layer.word_embeddings.numpy()[ids] + layer.position_embeddings.numpy()[:2]
             + layer.token_type_embeddings.numpy()[types])
    normalized = (total - total.mean(-1, keepdims=True)) / np.sqrt(
        total.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(output, normalized, atol=1e-5)


def test_variable_names_follow_the_original_checkpoint():
    layer = make_layer(name="embeddings")
    layer(tf.constant([[1]]))
    assert sorted(v.path for v in layer.weights) == [
        "embeddings/LayerNorm/beta", "embeddings/LayerNorm/gamma",
        "embeddings/position_embeddings", "embeddings/token_type_embeddings",
        "embeddings/word_embeddings"]


def test_too_long_sequence_is_an_error():
    layer = make_layer()
    with pytest.raises(ValueError, match="max_position_embeddings=6: got 7"):
        layer(tf.ones((1, 7), tf.int32))
    dynamic = tf.function(layer, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    with pytest.raises(tf.errors.InvalidArgumentError, match="max_position_embeddings=6"):
        dynamic(tf.ones((1, 7), tf.int32))


def test_mixed_precision_keeps_float32_tables_and_outputs_compute_dtype():
    layer = make_layer(dtype="mixed_bfloat16")
    output = layer(tf.constant([[1, 2]]))
    assert output.dtype == tf.bfloat16
    assert all(v.dtype == "float32" for v in layer.weights)
