import numpy as np
import tensorflow as tf

from tests.helpers import assert_round_trip
from tfbert.layers import SelfAttention


def test_round_trip():
    assert_round_trip(SelfAttention(num_heads=2, head_size=3, dropout_rate=0.1),
                      tf.random.normal((8, 6)), tf.constant([[1, 1, 1, 0], [1, 1, 0, 0]]))


def test_padded_keys_do_not_change_real_tokens():
    layer = SelfAttention(num_heads=2, head_size=4)
    mask = tf.constant([[1, 1, 1, 0, 0]])
    hidden = np.random.default_rng(0).normal(size=(5, 8)).astype("float32")
    changed = hidden.copy()
    changed[3:] = 100.0  # different content in the padded positions
    np.testing.assert_allclose(layer(hidden, mask)[:3], layer(changed, mask)[:3], atol=1e-6)


def test_all_padding_row_gives_finite_output():
    output = SelfAttention(num_heads=1, head_size=4)(tf.ones((3, 4)), tf.zeros((1, 3), tf.int32))
    assert np.isfinite(output.numpy()).all()


def test_matches_explicit_softmax_attention():
    layer = SelfAttention(num_heads=2, head_size=2)
    hidden = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    output = layer(hidden, tf.ones((1, 3), tf.int32)).numpy()
    project = lambda dense: (hidden @ dense.kernel.numpy() + dense.bias.numpy()).reshape(3, 2, 2)
    q, k, v = project(layer.query), project(layer.key), project(layer.value)
    scores = np.einsum("qnd,knd->nqk", q, k) / np.sqrt(2)
    probs = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(output, np.einsum("nqk,knd->qnd", probs, v).reshape(3, 4),
                               atol=1e-5)


def test_mixed_precision_softmax_in_float32():
    layer = SelfAttention(num_heads=2, head_size=4, dtype="mixed_float16")
    hidden = tf.random.normal((6, 8)) * 30  # scores that would overflow a float16 softmax
    output = layer(hidden, tf.ones((2, 3), tf.int32))
    assert output.dtype == tf.float16 and np.isfinite(output.numpy()).all()
