"""Reads original Google BERT folders: `bert_config.json`, `vocab.txt` and a TF1 checkpoint.

tfbert variable paths are the original checkpoint names, so the weights need no renaming; this
module only finds the checkpoint, drops optimizer state, and recognises the head that
`run_pretraining.py`, `run_classifier.py` or `run_squad.py` trained.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tfbert.convert.converted import ConvertedModel, match_model, read_original_config
from tfbert.models.checkpoint import read_checkpoint
from tfbert.text.vocab import is_uncased, load_vocab

# Training state in original checkpoints: Adam slots of every variable, and the step counter.
_TRAINING_STATE = re.compile(r"(/adam_[mv]$)|(^global_step$)")
# Fine-tuning heads of the original scripts: checkpoint name -> (tfbert path, transposed).
_CLASSIFIER = {"output_weights": ("classifier/kernel", True),
               "output_bias": ("classifier/bias", False)}
_SQUAD = {"cls/squad/output_weights": ("qa_outputs/kernel", True),
          "cls/squad/output_bias": ("qa_outputs/bias", False)}


def read_google(directory: str | Path) -> ConvertedModel:
    """Reads a Google BERT folder (the released `uncased_L-12_H-768_A-12` layout, or an
    `--output_dir` of the original fine-tuning scripts), offline.

    The checkpoint is `bert_model.ckpt` if present, else the folder's latest `model.ckpt-N`.
    Original BERT's `gelu` is the tanh approximation, so `hidden_act: gelu` becomes
    `gelu_new`. `do_lower_case` is read from the vocabulary: uncased vocabularies have no
    upper-case letters.
    """
    directory = Path(directory)
    config_path = directory / "bert_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"{directory} is not a Google BERT folder: bert_config.json is missing.")
    config = read_original_config(config_path)
    tensors = {name: value for name, value in read_checkpoint(_checkpoint(directory)).items()
               if not _TRAINING_STATE.search(name)}
    tensors, task = _task(tensors)

    weights = match_model(config, task, tensors, directory)
    vocab = directory / "vocab.txt"
    return ConvertedModel(config, task, weights, vocab if vocab.is_file() else None,
                          is_uncased(load_vocab(vocab)) if vocab.is_file() else None)


def _checkpoint(directory: Path) -> Path:
    released = directory / "bert_model.ckpt"
    if Path(f"{released}.index").is_file():
        return released
    latest = tf.train.latest_checkpoint(str(directory))
    if latest is None:
        raise FileNotFoundError(f"{directory} has no checkpoint: expected bert_model.ckpt.index "
                                "or a `checkpoint` file naming the latest model.ckpt-N.")
    return Path(latest)


def _task(tensors: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The task spec of the head in `tensors`, with head tensors renamed to tfbert paths."""
    for head, spec in ((_CLASSIFIER, "classifier"), (_SQUAD, "squad")):
        if all(name in tensors for name in head):
            tensors = dict(tensors)
            for name, (path, transposed) in head.items():
                tensor = tensors.pop(name)
                tensors[path] = tensor.T if transposed else tensor
            if spec == "squad":
                return tensors, {"class": "BertSpanQA"}
            return tensors, {"class": "BertClassifier",
                             "num_labels": int(tensors["classifier/bias"].shape[0])}
    if "cls/predictions/output_bias" in tensors:
        return tensors, {"class": "BertPretrainer",
                         "next_sentence": "cls/seq_relationship/output_weights" in tensors}
    return tensors, {"class": "BertEncoder"}

