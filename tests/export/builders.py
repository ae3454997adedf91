"""Small models, vocabularies and exports for the export, serving and CLI tests."""
from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import json
import os
import pathlib
import re
import shutil
import textwrap

import numpy as np
import tensorflow as tf

import tfbert
from tfbert.text import learn_vocab, write_vocab

SEQ_LENGTH = 64
LABELS = ["negative", "neutral", "positive"]
TEXTS = ["The quick brown fox jumps over the lazy dog.", "", "  \t ", "Héllo, WÖRLD! 中文 🙂",
         "Return a new list containing all items from the iterable in ascending order.",
         " ".join(["a long text that goes on"] * 40)]


def write_test_vocab(directory: pathlib.Path) -> pathlib.Path:
    """An uncased WordPiece vocabulary learned from standard-library docstrings."""
    corpus = directory / "corpus.txt"
    docs = [inspect.getdoc(obj) or "" for module in (collections, json, os, re, shutil)
            for _, obj in inspect.getmembers(module)]
    corpus.write_text("\n".join(textwrap.dedent(doc) for doc in docs), encoding="utf-8")
    path = directory / "vocab.txt"
    write_vocab(learn_vocab([str(corpus)], 1000, lower_case=True), path)
    return path


def tiny_config(vocab_file: pathlib.Path) -> tfbert.BertConfig:
    vocab_size = len(vocab_file.read_text(encoding="utf-8").splitlines())
    return dataclasses.replace(tfbert.BertConfig.preset("bert_tiny"), vocab_size=vocab_size)


def save_model(model, directory: pathlib.Path, vocab_file: pathlib.Path) -> pathlib.Path:
    return tfbert.save(model, directory, vocab_file=vocab_file, do_lower_case=True)


def keras_features(model_dir: pathlib.Path, texts, text_pair=None) -> dict[str, np.ndarray]:
    """Features of `texts` from a fresh BertPreprocessor (pad to longest, SEQ_LENGTH)."""
    preprocessor = tfbert.BertPreprocessor(
        tfbert.BertTokenizer(str(model_dir / "vocab.txt"), lower_case=True),
        seq_length=SEQ_LENGTH, padding="longest")
    pair = None if text_pair is None else tf.constant(text_pair)
    return {k: v.numpy() for k, v in preprocessor(tf.constant(texts), pair).items()}


def keras_classify(model_dir: pathlib.Path, texts, text_pair=None) -> dict[str, np.ndarray]:
    """What a classification export must return, from the Keras model and NumPy."""
    model = tfbert.load(model_dir)
    logits = np.asarray(model(keras_features(model_dir, texts, text_pair))["logits"], np.float64)
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = json.loads((model_dir / "config.json").read_text())["task"]["labels"]
    return {"logits": logits, "probabilities": probabilities,
            "label": np.array([labels[i] for i in probabilities.argmax(-1)], object)}


@functools.cache
def shared_classifier(root: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    """(vocab.txt, classifier model directory, its export saved_models/classifier/1) under
    `root`, built once per test session whichever test directory asks first."""
    from tfbert.export import export_model

    (root / "shared").mkdir()
    vocab_file = write_test_vocab(root / "shared")
    model = tfbert.BertClassifier(tiny_config(vocab_file), num_labels=3, labels=LABELS)
    model_dir = save_model(model, root / "shared" / "classifier", vocab_file)
    export = export_model(model_dir, "classify", root / "shared" / "saved_models" / "classifier"
                          / "1", seq_length=SEQ_LENGTH)
    return vocab_file, model_dir, export
