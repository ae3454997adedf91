"""`make demo`: the main tfbert job on an embedded default, end to end on 2 CPU cores.

Today: build a bert_tiny classifier, train it with `model.fit` on a generated task that only
word order solves (does marker token A come before marker token B?), save it as a model
directory, rebuild it with `tfbert.load` offline and check it predicts the same.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import keras
import numpy as np

import tfbert

SEQ_LENGTH = 16
VOCAB_SIZE = 100
CLS, SEP, FIRST, SECOND = 1, 2, 7, 8  # token ids; filler tokens are 10..VOCAB_SIZE-1


def order_task(count: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """[CLS] filler [SEP] with FIRST and SECOND placed at random; label 1 when FIRST comes
    first. The two classes contain the same tokens, so a bag of words cannot solve it."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(10, VOCAB_SIZE, (count, SEQ_LENGTH))
    labels = rng.integers(0, 2, count)
    for row, label in enumerate(labels):
        early, late = np.sort(rng.choice(np.arange(1, SEQ_LENGTH - 1), 2, replace=False))
        ids[row, early], ids[row, late] = (FIRST, SECOND) if label else (SECOND, FIRST)
    ids[:, 0], ids[:, -1] = CLS, SEP
    features = {"input_word_ids": ids.astype("int32"),
                "input_mask": np.ones_like(ids, dtype="int32"),
                "input_type_ids": np.zeros_like(ids, dtype="int32")}
    return features, labels.astype("int32")


def main(out: Path, epochs: int) -> None:
    keras.utils.set_random_seed(0)
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=VOCAB_SIZE,
                                 max_position_embeddings=SEQ_LENGTH)
    print(f"[1/4] bert_tiny classifier: {config.num_hidden_layers} layers, hidden "
          f"{config.hidden_size}")
    model = tfbert.BertClassifier(config, num_labels=2, labels=["second-first", "first-second"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  metrics={"logits": ["accuracy"]}, jit_compile=True)

    print(f"[2/4] model.fit on 4,000 generated sequences, {epochs} epochs")
    features, labels = order_task(4000, seed=1)
    started = time.perf_counter()
    model.fit(features, {"logits": labels}, batch_size=64, epochs=epochs, verbose=2)
    test_features, test_labels = order_task(1000, seed=2)
    predictions = model.predict(test_features, verbose=0)["logits"].argmax(-1)
    accuracy = float((predictions == test_labels).mean())
    print(f"      held-out accuracy {accuracy:.3f} (chance 0.5) after "
          f"{time.perf_counter() - started:.0f} s")

    print(f"[3/4] saving the model directory {out}")
    tfbert.save(model, out, overwrite=True)
    for path in sorted(out.iterdir()):
        print(f"      {path.name:40s} {path.stat().st_size:>10,d} bytes")

    print("[4/4] rebuilding it offline with tfbert.load")
    reloaded = tfbert.load(out)
    same = np.array_equal(reloaded.predict(test_features, verbose=0)["logits"].argmax(-1),
                          predictions)
    print(f"      {type(reloaded).__name__} with labels {list(reloaded.labels)}; "
          f"identical predictions: {same}")
    if not same or accuracy < 0.9:
        raise SystemExit("demo failed: the model did not learn or did not reload identically")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo_output/classifier"),
                        help="model directory to write (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs (default: 4)")
    args = parser.parse_args()
    main(args.out, args.epochs)
