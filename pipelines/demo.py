"""`make demo`: the main tfbert job on an embedded default, end to end on 2 CPU cores.

Today: learn a WordPiece vocabulary from the docstrings of Python's standard library and
tokenize with it in the graph; build a bert_tiny classifier, train it with `model.fit` on a
generated task that only word order solves (does marker token A come before marker token B?),
save it as a model directory, rebuild it with `tfbert.load` offline and check it predicts the
same.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import tfbert
from tfbert.text import learn_vocab, write_vocab

# Standard-library modules whose docstrings make the demo corpus (on every machine).
CORPUS_MODULES = ("argparse", "collections", "datetime", "email", "functools", "http.client",
                  "inspect", "json", "logging", "pathlib", "re", "shutil", "subprocess",
                  "tarfile", "threading", "unittest", "urllib.parse", "zipfile")

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


def write_corpus(path: Path) -> int:
    """Docstring paragraphs of CORPUS_MODULES, one per line; returns the line count."""
    lines = []
    for name in CORPUS_MODULES:
        module = importlib.import_module(name)
        for _, member in inspect.getmembers(module):
            doc = inspect.getdoc(member) if callable(member) or inspect.ismodule(member) else None
            lines += [" ".join(p.split()) for p in (doc or "").split("\n\n") if p.strip()]
    lines = list(dict.fromkeys(lines))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main(out: Path, epochs: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    corpus, vocab = out / "corpus.txt", out / "vocab.txt"
    print(f"[1/5] learning a 4,000-token WordPiece vocabulary from "
          f"{write_corpus(corpus):,} standard-library docstring paragraphs")
    write_vocab(learn_vocab([str(corpus)], 4000, lower_case=True), vocab)
    tokenizer = tfbert.BertTokenizer(str(vocab), lower_case=True)
    text = tf.constant(["Return a new ZipFile object, opened for reading."])
    ids, starts, ends = tokenizer.tokenize_with_offsets(text)
    pieces = [tokenizer.vocabulary[i] for i in ids[0].numpy()]
    print(f"      {text[0].numpy().decode()!r} -> {pieces}")
    print(f"      offsets {list(zip(starts[0].numpy().tolist(), ends[0].numpy().tolist()))}")
    features = tfbert.BertPreprocessor(tokenizer, seq_length=16)(
        tf.constant(["How do I read JSON?"]), tf.constant(["json.load reads a file."]))
    print(f"      pair packed: input_word_ids {features['input_word_ids'][0].numpy().tolist()}")
    print(f"                   input_type_ids {features['input_type_ids'][0].numpy().tolist()}")

    keras.utils.set_random_seed(0)
    config = dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=VOCAB_SIZE,
                                 max_position_embeddings=SEQ_LENGTH)
    print(f"[2/5] bert_tiny classifier: {config.num_hidden_layers} layers, hidden "
          f"{config.hidden_size}")
    model = tfbert.BertClassifier(config, num_labels=2, labels=["second-first", "first-second"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"logits": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  metrics={"logits": ["accuracy"]}, jit_compile=True)

    print(f"[3/5] model.fit on 4,000 generated sequences, {epochs} epochs")
    features, labels = order_task(4000, seed=1)
    started = time.perf_counter()
    model.fit(features, {"logits": labels}, batch_size=64, epochs=epochs, verbose=2)
    test_features, test_labels = order_task(1000, seed=2)
    predictions = model.predict(test_features, verbose=0)["logits"].argmax(-1)
    accuracy = float((predictions == test_labels).mean())
    print(f"      held-out accuracy {accuracy:.3f} (chance 0.5) after "
          f"{time.perf_counter() - started:.0f} s")

    model_dir = out / "classifier"
    print(f"[4/5] saving the model directory {model_dir}")
    tfbert.save(model, model_dir, overwrite=True)
    for path in sorted(model_dir.iterdir()):
        print(f"      {path.name:40s} {path.stat().st_size:>10,d} bytes")

    print("[5/5] rebuilding it offline with tfbert.load")
    reloaded = tfbert.load(model_dir)
    same = np.array_equal(reloaded.predict(test_features, verbose=0)["logits"].argmax(-1),
                          predictions)
    print(f"      {type(reloaded).__name__} with labels {list(reloaded.labels)}; "
          f"identical predictions: {same}")
    if not same or accuracy < 0.9:
        raise SystemExit("demo failed: the model did not learn or did not reload identically")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo_output"),
                        help="folder for the demo's outputs (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs (default: 4)")
    args = parser.parse_args()
    main(args.out, args.epochs)
