"""A classifier that learns: a real `model.fit` on a toy task it can only solve by reading."""
import dataclasses

import keras
import numpy as np

from tfbert import BertClassifier, BertConfig

CONFIG = dataclasses.replace(BertConfig.preset("bert_tiny"), vocab_size=100,
                             max_position_embeddings=32)


def toy_task(count, seed, seq_length=16):
    """Label 1 when token 7 occurs before token 8, 0 when after; filler tokens elsewhere."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(10, CONFIG.vocab_size, (count, seq_length))
    labels = rng.integers(0, 2, count)
    for row, label in enumerate(labels):
        first, second = sorted(rng.choice(np.arange(1, seq_length - 1), 2, replace=False))
        ids[row, first], ids[row, second] = (7, 8) if label else (8, 7)
    ids[:, 0], ids[:, -1] = 1, 2  # [CLS], [SEP] stand-ins
    features = {"input_word_ids": ids.astype("int32"),
                "input_mask": np.ones_like(ids, "int32"),
                "input_type_ids": np.zeros_like(ids, "int32")}
    return features, labels.astype("int32")


def test_classifier_learns_an_order_dependent_task():
    keras.utils.set_random_seed(0)
    model = BertClassifier(CONFIG, num_labels=2, labels=["after", "before"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  metrics={"logits": ["accuracy"]})
    features, labels = toy_task(2000, seed=1)
    model.fit(features, {"logits": labels}, batch_size=32, epochs=6, verbose=0)
    test_features, test_labels = toy_task(500, seed=2)
    predictions = model.predict(test_features, verbose=0)["logits"].argmax(-1)
    # Chance is 0.5; word order is the only signal, so this needs attention + positions.
    assert (predictions == test_labels).mean() >= 0.95
