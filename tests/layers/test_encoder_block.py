import numpy as np
import tensorflow as tf

from tests.helpers import assert_round_trip
from tfbert.layers import EncoderBlock


def test_round_trip():
    block = EncoderBlock(num_heads=2, head_size=4, intermediate_size=16, hidden_act="gelu_new",
                         layer_norm_eps=1e-7, hidden_dropout_prob=0.2,
                         attention_probs_dropout_prob=0.3)
    assert_round_trip(block, tf.random.normal((2, 5, 8)), tf.constant([[1] * 5, [1, 1, 0, 0, 0]]))


def test_variable_paths_follow_the_original_checkpoint():
    block = EncoderBlock(num_heads=2, head_size=4, intermediate_size=16, name="layer_0")
    block(tf.ones((1, 2, 8)), tf.ones((1, 2), tf.int32))
    assert sorted(v.path for v in block.weights) == sorted(
        [f"layer_0/attention/self/{p}/{v}" for p in ("query", "key", "value")
         for v in ("kernel", "bias")]
        + [f"layer_0/{scope}/dense/{v}" for scope in ("attention/output", "intermediate",
                                                       "output") for v in ("kernel", "bias")]
        + [f"layer_0/{scope}/LayerNorm/{v}" for scope in ("attention/output", "output")
           for v in ("gamma", "beta")])


def test_dropout_only_in_training():
    block = EncoderBlock(num_heads=2, head_size=4, intermediate_size=16, hidden_dropout_prob=0.5)
    hidden, mask = tf.random.normal((2, 4, 8)), tf.ones((2, 4), tf.int32)
    np.testing.assert_array_equal(block(hidden, mask), block(hidden, mask))
    assert not np.allclose(block(hidden, mask, training=True), block(hidden, mask))
