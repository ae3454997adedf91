"""MaskedLMLoss is original BERT's sum(w·CE)/(sum(w)+1e-5). (That it stays the global-batch
loss over 2 replicas with unequal masked counts: tests/training/test_distributed.py.)"""
import numpy as np
import tensorflow as tf

from tfbert.training import MaskedLMLoss


def reference_loss(ids, logits, weights):
    """Original BERT (run_pretraining.get_masked_lm_output), in numpy."""
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    per_example = -np.take_along_axis(log_probs, ids[..., None], -1)[..., 0]
    return (weights * per_example).sum() / (weights.sum() + 1e-5)


def test_matches_the_original_formula_not_keras_mean():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 5, 11)).astype("float32")
    ids = rng.integers(0, 11, (4, 5)).astype("int32")
    weights = np.array([[1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]],
                       "float32")
    loss = float(MaskedLMLoss()(ids, logits, weights))
    np.testing.assert_allclose(loss, reference_loss(ids, logits, weights), rtol=1e-5)
    # Keras' weighted mean divides by B·P = 20, not by the 8 real predictions.
    keras_mean = float(tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        ids, logits, weights))
    assert abs(loss - keras_mean) > 0.5


def test_float16_logits_are_computed_in_float32():
    logits = np.log(np.array([[[0.25, 0.75]]], "float16"))
    loss = MaskedLMLoss()(np.array([[1]]), logits, np.array([[1.0]]))
    assert loss.dtype == tf.float32
    np.testing.assert_allclose(float(loss), -np.log(0.75), rtol=1e-3)
