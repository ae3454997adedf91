"""Optimizers: AdamW and LAMB against the published update rules, decay exclusions, schedule."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import tfbert
from tests.training.synthetic import tiny_config
from tfbert.training import WarmupPolynomialDecay, create_optimizer
from tfbert.training.lamb import Lamb
from tfbert.training.optimizers import AdamW, no_decay_variables


def test_weight_decay_skips_layer_norm_and_biases():
    model = tfbert.BertClassifier(tiny_config(), num_labels=2)
    excluded = {v.path for v in no_decay_variables(model)}
    assert "bert/embeddings/LayerNorm/gamma" in excluded
    assert "bert/encoder/layer_0/attention/self/query/bias" in excluded
    assert "classifier/bias" in excluded
    assert "bert/encoder/layer_0/attention/self/query/kernel" not in excluded
    optimizer = create_optimizer(model, learning_rate=0.1, total_steps=10, warmup_steps=0,
                                 weight_decay=0.5, clipnorm=None)
    before = {v.path: v.numpy() for v in model.trainable_variables}
    # Zero gradients: Adam's step is 0, so only weight decay moves a variable.
    optimizer.apply([np.zeros(v.shape, "float32") for v in model.trainable_variables],
                    model.trainable_variables)
    for variable in model.trainable_variables:
        moved = not np.allclose(variable.numpy(), before[variable.path])
        nonzero = np.any(before[variable.path] != 0)
        assert moved == (variable.path not in excluded and nonzero), variable.path


def adamw_reference(start, grads, lr, wd, beta_1=0.9, beta_2=0.999, eps=1e-6, decay=True):
    """AdamW (Loshchilov & Hutter 2019) in numpy, decoupled decay first, as Keras orders it."""
    w, m, v = start, np.zeros_like(start), np.zeros_like(start)
    for t, g in enumerate(grads, 1):
        w = w - lr * wd * w if decay else w
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        w = w - lr * (m / (1 - beta_1**t)) / (np.sqrt(v / (1 - beta_2**t)) + eps)
    return w


def _embedding_steps(optimizer, ids, steps=4, compiled=False):
    """`steps` updates of a table looked up with tf.gather (its gradient: IndexedSlices whose
    indices repeat where `ids` do) and of a bias excluded from decay. Returns the start, the
    end and the dense gradient of each step."""
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(7, 3)).astype("float32"), rng.normal(size=(3,)).astype("float32")]
    table, bias = keras.Variable(start[0]), keras.Variable(start[1])
    targets = tf.constant(rng.normal(size=ids.shape + (3,)).astype("float32"))
    optimizer.exclude_from_weight_decay(var_list=[bias])

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((tf.gather(table, ids) + bias - targets) ** 2)
        grads = tape.gradient(loss, [table, bias])
        assert isinstance(grads[0], tf.IndexedSlices)
        optimizer.apply(grads, [table, bias])
        return [tf.convert_to_tensor(g) for g in grads]

    step = tf.function(step, jit_compile=True) if compiled else step
    seen = [[g.numpy() for g in step()] for _ in range(steps)]
    return start, [table.numpy(), bias.numpy()], seen


def test_adamw_follows_the_paper_when_a_batch_repeats_a_token():
    # Keras' own AdamW squares each slice of an IndexedSlices gradient before the repeats are
    # summed, so a token seen twice in a batch gets a wrong second moment; tfbert's must not.
    ids = tf.constant([[1, 4, 4], [0, 6, 4]])
    start, end, seen = _embedding_steps(AdamW(learning_rate=0.05, weight_decay=0.1), ids)
    for index, decay in ((0, True), (1, False)):
        expected = adamw_reference(start[index], [g[index] for g in seen], 0.05, 0.1,
                                   decay=decay)
        np.testing.assert_allclose(end[index], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True])
def test_adamw_matches_keras_adamw_on_distinct_tokens(compiled):
    # Where Keras' update is right (no repeated index) the two agree, eagerly and under XLA.
    ids = tf.constant([[1, 4, 2], [0, 6, 3]])
    _, ours, _ = _embedding_steps(AdamW(learning_rate=0.05, weight_decay=0.1), ids,
                                  compiled=compiled)
    _, theirs, _ = _embedding_steps(keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.1),
                                    ids, compiled=compiled)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-5)


def lamb_reference(w, grads, lr, wd, beta_1=0.9, beta_2=0.999, eps=1e-6, decay=True):
    """LAMB (You et al. 2019, Algorithm 2) in numpy."""
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        update = (m / (1 - beta_1**t)) / (np.sqrt(v / (1 - beta_2**t)) + eps)
        ratio = 1.0
        if decay:
            update = update + wd * w
            ratio = np.linalg.norm(w) / np.linalg.norm(update)
        w = w - lr * ratio * update
    return w


def test_lamb_follows_the_paper_when_a_batch_repeats_a_token():
    ids = tf.constant([[1, 4, 4], [0, 6, 4]])
    start, end, seen = _embedding_steps(Lamb(learning_rate=0.05, weight_decay=0.1), ids)
    for index, decay in ((0, True), (1, False)):
        expected = lamb_reference(start[index], [g[index] for g in seen], 0.05, 0.1, decay=decay)
        np.testing.assert_allclose(end[index], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("excluded", [False, True])
def test_lamb_matches_the_paper(excluded):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 4)).astype("float32")
    grads = [rng.normal(size=(3, 4)).astype("float32") for _ in range(3)]
    variable = keras.Variable(start)
    optimizer = Lamb(learning_rate=0.01, weight_decay=0.1)
    if excluded:
        optimizer.exclude_from_weight_decay(var_list=[variable])
    for grad in grads:
        optimizer.apply([keras.ops.convert_to_tensor(grad)], [variable])
    np.testing.assert_allclose(variable.numpy(),
                               lamb_reference(start, grads, 0.01, 0.1, decay=not excluded),
                               rtol=1e-5, atol=1e-6)


def test_global_norm_clipping_on_one_device():
    # (Across replicas, tests/training/test_distributed.py trains with clipping active.)
    optimizer = create_optimizer(keras.Sequential(), learning_rate=1.0, total_steps=1,
                                 clipnorm=1.0)
    clipped = optimizer._clip_gradients([np.array([3.0, 4.0], "float32"),
                                         np.array([0.0], "float32")])
    np.testing.assert_allclose(clipped[0], [0.6, 0.8], rtol=1e-6)


def test_schedule_warms_up_then_decays_polynomially():
    schedule = WarmupPolynomialDecay(2.0, warmup_steps=4, decay_steps=14, end_learning_rate=0.5,
                                     power=2.0)
    values = [float(schedule(step)) for step in (0, 2, 4, 9, 14, 20)]
    # After warmup: 0.5 + 1.5 · (1 - (step - 4) / 10)².
    np.testing.assert_allclose(values, [0.0, 1.0, 2.0, 0.5 + 1.5 * 0.25, 0.5, 0.5], rtol=1e-6)
    assert WarmupPolynomialDecay.from_config(schedule.get_config()).get_config() == \
        schedule.get_config()


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "sgd"}, "`optimizer` must be one of adamw, lamb; got 'sgd'"),
    ({"clipnorm": -1.0}, "`clipnorm` must be > 0 or None; got -1.0"),
    ({"warmup_steps": 20}, "`warmup_steps` must be in [0, decay_steps]"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError) as error:
        create_optimizer(keras.Sequential(), total_steps=10, **kwargs)
    assert message in str(error.value)
