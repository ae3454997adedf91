"""HashedDropout: the dropout contract, the statistics of its masks, and XLA == eager."""
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import assert_round_trip
from tfbert.layers import HashedDropout
from tfbert.layers.fused_elementwise import random_bits

N = 1_000_000


def sigma(rate: float, n: int) -> float:
    return (rate * (1 - rate) / n) ** 0.5


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_drop_fraction_and_scaling(rate):
    out = HashedDropout(rate, seed=7)(tf.fill([1000, 1000], 3.0), training=True).numpy()
    dropped = (out == 0).mean()
    assert abs(dropped - rate) < 5 * sigma(rate, N)
    np.testing.assert_allclose(out[out != 0], 3.0 / (1 - rate), rtol=1e-6)


def test_masks_are_fresh_per_call_and_per_seed_and_uncorrelated():
    x = tf.ones([N])
    first = HashedDropout(0.5, seed=1)
    mask_a = first(x, training=True).numpy() > 0
    mask_b = first(x, training=True).numpy() > 0
    mask_c = HashedDropout(0.5, seed=2)(x, training=True).numpy() > 0
    bound = 5 / N ** 0.5  # 5 standard errors of a correlation of independent masks
    for left, right in [(mask_a, mask_b), (mask_a, mask_c), (mask_a[:-1], mask_a[1:])]:
        assert abs(np.corrcoef(left, right)[0, 1]) < bound


def test_same_seed_same_masks():
    x = tf.ones([4, 64])
    masks = [HashedDropout(0.3, seed=5)(x, training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(*masks)


def test_every_bit_position_is_balanced():
    bits = random_bits(tf.constant([N]), tf.constant([3, 9])).numpy()
    ones = np.unpackbits(bits.view(np.uint8)).reshape(N, 32).mean(axis=0)
    assert np.all(np.abs(ones - 0.5) < 5 * sigma(0.5, N))


def test_xla_gives_the_eager_bits():
    seed = tf.constant([11, 4], tf.int64)
    compiled = tf.function(lambda s: random_bits(tf.constant([3, 50]), s), jit_compile=True)
    np.testing.assert_array_equal(compiled(seed), random_bits(tf.constant([3, 50]), seed))


def test_inference_and_zero_rate_pass_through():
    x = tf.random.normal([5, 7])
    np.testing.assert_array_equal(HashedDropout(0.4)(x, training=False), x)
    np.testing.assert_array_equal(HashedDropout(0.0)(x, training=True), x)


def test_keeps_dtype():
    out = HashedDropout(0.2, dtype="mixed_bfloat16")(tf.ones([8], tf.bfloat16), training=True)
    assert out.dtype == tf.bfloat16


@pytest.mark.parametrize("rate", [-0.1, 1.0, "0.1"])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="`rate` must be a number in"):
        HashedDropout(rate)


def test_round_trip():
    assert_round_trip(HashedDropout(0.25, seed=3), tf.ones([2, 3]))
