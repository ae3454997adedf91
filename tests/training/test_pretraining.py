"""Pretraining compile + fit in-process: XLA at static shapes (float32, bf16), loss scaling for
fp16, and a run interrupted mid-way that resumes on the same trajectory."""
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfbert
from tests.training.synthetic import (MAX_PREDICTIONS, SEQ_LENGTH, dataset_fn,
                                      pretraining_batches, tiny_config)
from tfbert.training import (compile_pretrainer, create_optimizer, fit_model, make_strategy,
                             split_pretraining_features)


def build(config, dtype="float32", jit_compile=False, steps=4):
    keras.utils.set_random_seed(0)
    model = tfbert.BertPretrainer(config, dtype=dtype)
    optimizer = create_optimizer(model, learning_rate=1e-3, total_steps=steps, warmup_steps=1)
    compile_pretrainer(model, optimizer, jit_compile=jit_compile)
    return model


def batches(count, batch=4):
    features = pretraining_batches(count, batch)
    return (tf.data.Dataset.from_tensor_slices(features).batch(batch, drop_remainder=True)
            .map(split_pretraining_features))


@pytest.mark.parametrize("dtype, vocab_size", [
    ("float32", 30522),
    # bf16 trains without XLA on CPUs by default; bf16 under XLA stays covered in CI by
    # tests/models/test_bert_pretrainer.py.
    pytest.param("mixed_bfloat16", 64, marks=pytest.mark.slow),
    pytest.param("mixed_bfloat16", 30522, marks=pytest.mark.slow),
])
def test_bert_tiny_step_compiles_with_xla_at_static_shapes(dtype, vocab_size):
    # bert_tiny (with its 30,522-token vocabulary and tied MLM output, as TPUs would run it).
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=vocab_size,
                                 max_position_embeddings=SEQ_LENGTH)
    model = build(config, dtype=dtype, jit_compile=True)
    data = batches(2)
    x, _, _ = data.element_spec
    assert all(spec.shape.is_fully_defined() for spec in x.values())
    assert x["masked_lm_positions"].shape.as_list() == [4, MAX_PREDICTIONS]
    history = model.fit(data, epochs=1, verbose=0).history
    assert model.jit_compile  # Keras keeps XLA only when the step compiles
    assert np.isfinite(history["loss"][0]) and history["loss"][0] > 0
    assert model.get_layer("bert").compute_dtype == ("bfloat16" if dtype != "float32" else "float32")


def test_mixed_float16_adds_loss_scaling_around_adamw():
    model = build(tiny_config(), dtype="mixed_float16")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert type(model.optimizer.inner_optimizer).__name__ == "AdamW"
    history = model.fit(batches(2), epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_missing_features_are_named():
    with pytest.raises(ValueError, match="next_sentence_labels"):
        split_pretraining_features({name: np.zeros((1, 1)) for name in (
            "input_word_ids", "input_mask", "input_type_ids", "masked_lm_positions",
            "masked_lm_ids", "masked_lm_weights")})


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt  # after epoch 1's backup


def test_interrupted_fit_resumes_where_it_stopped(tmp_path):
    """In-process version of test_resume.py (which SIGKILLs a subprocess; slow). Dropout is
    on: the resumed run must also restore the dropout random state."""
    strategy = make_strategy("default")
    features = pretraining_batches(6, 8)

    def train(work_dir, interrupt=False):
        model = build(tiny_config(hidden_dropout_prob=0.1), steps=6)
        if interrupt:
            original = model.fit
            model.fit = lambda *a, callbacks, **k: original(*a, callbacks=callbacks + [Interrupt()], **k)
        history = fit_model(model, dataset_fn(features, 8), strategy=strategy, total_steps=6,
                            steps_per_epoch=2, global_batch_size=8, work_dir=work_dir,
                            save_checkpoint=None, verbose=0)
        return model, history

    reference, expected = train(tmp_path / "reference")
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "resumed", interrupt=True)
    model, history = train(tmp_path / "resumed")
    assert [entry["step"] for entry in history] == [2, 4, 6]
    for ours, theirs in zip(history, expected):
        np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-6)
    for ours, theirs in zip(model.weights, reference.weights):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-6)
