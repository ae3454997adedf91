"""The compiled training stretches compute what Keras' and TensorFlow's own ops compute, values
and gradients, and the layers' training path equals their inference path where dropout is off."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfbert.config import ACTIVATIONS
from tfbert.layers import EncoderBlock
from tfbert.layers.activations import get_activation
from tfbert.layers.fused_elementwise import (compiled_activation, dropout,
                                             dropout_add_layer_norm, masked_softmax,
                                             masked_softmax_dropout)

SEED = tf.constant([5, 8], tf.int64)
# Largest difference between a compiled stretch and TensorFlow's kernels, per dtype: XLA
# reorders float32 sums; bfloat16 carries ~3 significant digits.
TOLERANCE = {"float32": 2e-5, "bfloat16": 2e-2}


def _keras_layer_norm(dtype: str, width: int) -> keras.layers.LayerNormalization:
    """Keras' LayerNorm at `dtype` (bfloat16: the mixed policy), random gamma and beta."""
    policy = "mixed_bfloat16" if dtype == "bfloat16" else dtype
    layer = keras.layers.LayerNormalization(epsilon=1e-12, dtype=policy)
    layer.build((None, width))
    layer.gamma.assign(np.random.default_rng(0).uniform(0.5, 1.5, width))
    layer.beta.assign(np.random.default_rng(1).normal(size=width))
    return layer


def _weighted_sum(out: tf.Tensor) -> tf.Tensor:
    """A scalar whose gradient differs per element (a plain sum's would not test much)."""
    weights = tf.cos(tf.reshape(tf.range(tf.size(out), dtype=tf.float32), tf.shape(out)))
    return tf.reduce_sum(tf.cast(out, tf.float32) * weights)


def _values_and_gradients(fn, *inputs):
    """fn(*inputs) and the gradients of `_weighted_sum` of it w.r.t. every input."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = fn(*inputs)
        loss = _weighted_sum(out)
    return [out] + tape.gradient(loss, list(inputs))


def _assert_close(actual, expected, dtype):
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(tf.cast(a, tf.float32), tf.cast(e, tf.float32),
                                   atol=TOLERANCE[dtype], rtol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_dropout_add_layer_norm_without_dropout_is_keras_layer_norm(dtype):
    layer = _keras_layer_norm(dtype, 24)
    x, residual = (tf.cast(tf.random.stateless_normal([6, 24], [i, 1]), dtype) for i in (1, 2))

    gamma, beta = tf.convert_to_tensor(layer.gamma), tf.convert_to_tensor(layer.beta)
    actual = _values_and_gradients(
        lambda *args: dropout_add_layer_norm(*args, SEED, rate=0.0, epsilon=1e-12),
        x, residual, gamma, beta)
    with tf.GradientTape() as tape:
        tape.watch([x, residual])
        out = layer(x + residual)
        loss = _weighted_sum(out)
    expected = [out] + tape.gradient(loss, [x, residual, layer.gamma, layer.beta])
    assert actual[0].dtype == x.dtype
    _assert_close(actual, expected, dtype)


def test_dropout_add_layer_norm_drops_with_the_dropout_mask():
    layer = _keras_layer_norm("float32", 32)
    x, residual = tf.random.normal([50, 32]), tf.random.normal([50, 32])
    fused = dropout_add_layer_norm(x, residual, layer.gamma, layer.beta, SEED, rate=0.3,
                                   epsilon=1e-12)
    expected = layer(dropout(x, SEED, 0.3) + residual)
    np.testing.assert_allclose(fused, expected, atol=2e-5)
    assert not np.allclose(fused, layer(x + residual), atol=1e-3)


def test_masked_softmax_leaves_padded_keys_out():
    scores = tf.random.stateless_normal([2, 3, 4, 4], [3, 3])
    input_mask = tf.constant([[1, 1, 1, 0], [1, 0, 0, 0]])
    probs = masked_softmax(scores, input_mask).numpy()
    kept = scores.numpy()
    for row, length in enumerate((3, 1)):
        real = np.exp(kept[row, ..., :length])
        np.testing.assert_allclose(probs[row, ..., :length], real / real.sum(-1, keepdims=True),
                                   rtol=1e-6)
        assert np.all(probs[row, ..., length:] == 0)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_masked_softmax_dropout_without_dropout_is_the_softmax(dtype):
    scores = tf.cast(tf.random.stateless_normal([2, 2, 5, 5], [4, 4]), dtype)
    input_mask = tf.constant([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    actual = _values_and_gradients(
        lambda s: masked_softmax_dropout(s, input_mask, SEED, rate=0.0, dtype=dtype), scores)
    expected = _values_and_gradients(
        lambda s: tf.cast(masked_softmax(s, input_mask), dtype), scores)
    assert actual[0].dtype == dtype
    _assert_close(actual, expected, dtype)


def test_masked_softmax_dropout_drops_with_the_dropout_mask():
    scores = tf.random.stateless_normal([4, 2, 16, 16], [5, 5])
    input_mask = tf.ones([4, 16], tf.int32)
    actual = masked_softmax_dropout(scores, input_mask, SEED, rate=0.4, dtype="float32")
    expected = dropout(masked_softmax(scores, input_mask), SEED, 0.4)
    np.testing.assert_allclose(actual, expected, rtol=1e-6)
    assert 0.3 < float(tf.reduce_mean(tf.cast(actual == 0, tf.float32))) < 0.5


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_compiled_activation_is_the_activation(name, dtype):
    x = tf.cast(tf.linspace(-6.0, 6.0, 241), dtype)
    _assert_close(_values_and_gradients(compiled_activation(name), x),
                  _values_and_gradients(get_activation(name), x), dtype)


def _block_gradients(block, hidden, mask, training):
    """The block's output and the gradients w.r.t. `hidden` and every weight."""
    with tf.GradientTape() as tape:
        tape.watch(hidden)
        out = block(hidden, mask, training=training)
        loss = _weighted_sum(out)
    return [out] + tape.gradient(loss, [hidden] + block.trainable_weights)


def test_encoder_block_trains_on_its_inference_math():
    """With dropout off, the training path (compiled stretches) gives the inference path's
    outputs and every weight's gradient, eagerly and inside a compiled step."""
    block = EncoderBlock(num_heads=2, head_size=8, intermediate_size=32, hidden_act="gelu")
    hidden = tf.random.stateless_normal([3, 7, 16], [6, 6])
    mask = tf.constant([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6])
    block(hidden, mask)
    expected = _block_gradients(block, hidden, mask, training=False)
    _assert_close(_block_gradients(block, hidden, mask, training=True), expected, "float32")
    in_xla = tf.function(lambda h: _block_gradients(block, h, mask, training=True),
                         jit_compile=True)
    _assert_close(in_xla(hidden), expected, "float32")
