"""The task heads and pooling layers: round trips, shapes, float32 logits, tied weights."""
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import assert_round_trip
from tfbert.layers import (BertEmbeddings, ClassificationHead, MaskedLMHead, NextSentenceHead,
                           Pooler, ResidualOutput, SequencePooling, SpanHead)


def embedding_layer(dtype=None):
    layer = BertEmbeddings(vocab_size=11, hidden_size=4, max_position_embeddings=8, dtype=dtype)
    layer(tf.constant([[1]]))
    return layer


@pytest.mark.parametrize("layer, inputs", [
    (ResidualOutput(hidden_size=4, dropout_rate=0.1), (tf.ones((3, 6)), tf.ones((3, 4)))),
    (Pooler(hidden_size=4), (tf.random.normal((2, 3, 4)),)),
    (NextSentenceHead(initializer_range=0.5), (tf.random.normal((2, 4)),)),
    (ClassificationHead(num_labels=3, dropout_rate=0.2), (tf.random.normal((2, 4)),)),
    (SpanHead(), (tf.random.normal((2, 5, 4)),)),
    (SequencePooling(mode="mean", normalize=True),
     (tf.random.normal((2, 3, 4)), tf.constant([[1, 1, 0], [1, 0, 0]]))),
])
def test_round_trip(layer, inputs):
    assert_round_trip(layer, *inputs)


def test_masked_lm_head_round_trip_and_tied_output():
    embedding = embedding_layer()
    head = MaskedLMHead(embedding, hidden_act="gelu_new", layer_norm_eps=1e-6)
    sequence, positions = tf.random.normal((2, 5, 4)), tf.constant([[0, 3], [4, 4]])
    assert_round_trip(head, sequence, positions)
    logits = head(sequence, positions).numpy()
    hidden = tf.gather(sequence, positions, batch_dims=1)
    transformed = head.layer_norm(head.activation(head.dense(hidden))).numpy()
    expected = transformed @ embedding.word_embeddings.numpy().T + head.output_bias.numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-5)


def test_logits_are_float32_under_mixed_precision():
    policy = "mixed_bfloat16"
    head = MaskedLMHead(embedding_layer(policy), dtype=policy)
    sequence = tf.random.normal((2, 3, 4), dtype=tf.bfloat16)
    assert head(sequence, tf.constant([[0], [1]])).dtype == tf.float32
    assert NextSentenceHead(dtype=policy)(tf.ones((2, 4), tf.bfloat16)).dtype == tf.float32
    assert ClassificationHead(2, dtype=policy)(tf.ones((2, 4), tf.bfloat16)).dtype == tf.float32
    start, end = SpanHead(dtype=policy)(tf.ones((2, 3, 4), tf.bfloat16))
    assert start.dtype == end.dtype == tf.float32


def test_pooler_uses_the_first_token():
    pooler = Pooler(hidden_size=4)
    sequence = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    changed = sequence.copy()
    changed[:, 1:] = 7.0
    np.testing.assert_allclose(pooler(sequence), pooler(changed))


def test_cls_pooling_and_normalization():
    sequence = tf.constant([[[3.0, 4.0], [1.0, 1.0]]])
    mask = tf.constant([[1, 1]])
    assert SequencePooling("cls")(sequence, mask).numpy().tolist() == [[3.0, 4.0]]
    np.testing.assert_allclose(SequencePooling("cls", normalize=True)(sequence, mask),
                               [[0.6, 0.8]])


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_labels"):
        ClassificationHead(num_labels=0)
    with pytest.raises(ValueError, match="got 'max'"):
        SequencePooling(mode="max")
