import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import random_features
from tfbert import BertConfig, BertPretrainer

CONFIG = dataclasses.replace(BertConfig.preset("bert_tiny"), vocab_size=200,
                             max_position_embeddings=32)


def pretraining_batches(batch_size=8, seq_length=32, predictions=5):
    features = random_features(batch_size, seq_length, CONFIG.vocab_size,
                               lengths=[seq_length] * batch_size)
    rng = np.random.default_rng(1)
    positions = np.sort(rng.choice(np.arange(1, seq_length), (batch_size, predictions)), -1)
    features["masked_lm_positions"] = positions.astype("int32")
    labels = {"mlm_logits": np.take_along_axis(features["input_word_ids"], positions, 1),
              "nsp_logits": rng.integers(0, 2, (batch_size, 1)).astype("int32")}
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).repeat()
    return dataset.batch(batch_size, drop_remainder=True)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_xla_training_step_learns_at_static_shapes(policy):
    model = BertPretrainer(CONFIG, dtype=policy)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss={"mlm_logits": loss, "nsp_logits": loss}, jit_compile=True)
    dataset = pretraining_batches().take(40)
    element = dataset.element_spec[0]
    assert all(spec.shape.is_fully_defined() for spec in element.values())
    history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    first = model.evaluate(pretraining_batches().take(1), verbose=0, return_dict=True)
    assert np.isfinite(history.history["loss"][-1])
    # One fixed batch is memorised: the MLM loss falls far below its start, ln(200) ~ 5.3.
    assert first["mlm_logits_loss"] < 1.5


def test_mixed_float16_training_gets_loss_scaling():
    model = BertPretrainer(CONFIG, dtype="mixed_float16")
    model.compile(optimizer="adam", loss={"mlm_logits": "sparse_categorical_crossentropy"})
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
