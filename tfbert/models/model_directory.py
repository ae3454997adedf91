"""The model directory: everything needed to rebuild a model, offline.

Layout: `config.json` (original `bert_config.json` fields, `do_lower_case`, and `task`: the
model class and its arguments), `vocab.txt` when known, and the weights as the TF checkpoint
`bert_model.ckpt` keyed by the original BERT variable names.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from tfbert.config import BertConfig
from tfbert.models.bert_classifier import BertClassifier
from tfbert.models.bert_embedder import BertEmbedder
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.bert_pretrainer import BertPretrainer
from tfbert.models.bert_span_qa import BertSpanQA
from tfbert.models.bert_token_classifier import BertTokenClassifier
from tfbert.models.checkpoint import assign_weights, model_weights, read_checkpoint, write_checkpoint
from tfbert.models.task_model import TaskModel
from tfbert.text.vocab import is_uncased, load_vocab

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.txt"
CHECKPOINT = "bert_model.ckpt"

MODEL_CLASSES: dict[str, type[TaskModel]] = {
    cls.__name__: cls for cls in (BertEncoder, BertPretrainer, BertClassifier,
                                  BertTokenClassifier, BertSpanQA, BertEmbedder)}

# config.json keys that are not BertConfig fields.
_DIRECTORY_KEYS = ("do_lower_case", "task")


def task_spec(model: TaskModel) -> dict[str, Any]:
    """The `task` entry of config.json: the model class and its arguments (dtype excluded)."""
    args = {k: v for k, v in model.task_args.items() if k != "dtype"}
    if isinstance(args.get("labels"), tuple):
        args["labels"] = list(args["labels"])
    return {"class": type(model).__name__, **args}


@contextlib.contextmanager
def staged_directory(directory: Path) -> Iterator[Path]:
    """An empty staging directory beside `directory`, to fill; when the block ends without an
    error it replaces `directory` (a reader sees the old one or the complete new one), else it
    is removed and `directory` is untouched."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.staging.", dir=directory.parent))
    try:
        yield staging
        if directory.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            os.replace(directory, retired / directory.name)
            os.replace(staging, directory)
            shutil.rmtree(retired)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_model_directory(directory: str | os.PathLike, config: BertConfig,
                          task: Mapping[str, Any], weights: Mapping[str, np.ndarray], *,
                          vocab_file: str | os.PathLike | None = None,
                          do_lower_case: bool | None = None, overwrite: bool = False,
                          extra_files: Mapping[str, str] | None = None) -> Path:
    """Writes a model directory atomically: a reader sees the old one or the complete new one.

    `task` is a `task_spec`; `weights` maps original BERT names to arrays; `extra_files` maps
    file names to text written alongside (e.g. training's `history.json`).
    """
    directory = Path(directory)
    if task.get("class") not in MODEL_CLASSES:
        raise ValueError(f"`task['class']` must be one of {', '.join(MODEL_CLASSES)}; "
                         f"got {task.get('class')!r}.")
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise FileExistsError(f"{directory} exists and is not empty; pass overwrite=True "
                              "(`--overwrite`) to replace it.")
    for name in extra_files or {}:
        if Path(name).name != name or name in (CONFIG_FILE, VOCAB_FILE) or name.startswith(CHECKPOINT):
            raise ValueError(f"`extra_files` names must be plain file names other than "
                             f"{CONFIG_FILE}, {VOCAB_FILE} and {CHECKPOINT}.*; got {name!r}.")
    if vocab_file is not None and not Path(vocab_file).is_file():
        raise FileNotFoundError(f"Vocabulary file not found: {vocab_file}")
    with staged_directory(directory) as staging:
        values = {**config.to_dict(), "do_lower_case": do_lower_case, "task": dict(task)}
        (staging / CONFIG_FILE).write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
        if vocab_file is not None:
            shutil.copyfile(vocab_file, staging / VOCAB_FILE)
        write_checkpoint(staging / CHECKPOINT, weights)
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
    return directory


def save(model: TaskModel, directory: str | os.PathLike, *,
         vocab_file: str | os.PathLike | None = None, do_lower_case: bool | None = None,
         overwrite: bool = False, extra_files: Mapping[str, str] | None = None) -> Path:
    """Saves `model` as a model directory that `load` rebuilds (`extra_files`: name -> text).

    >>> import tempfile, tfbert
    >>> model = tfbert.BertClassifier(tfbert.BertConfig.preset("bert_tiny"), num_labels=3)
    >>> path = save(model, tempfile.mkdtemp() + "/classifier")
    >>> type(load(path)).__name__
    'BertClassifier'
    """
    if not isinstance(model, TaskModel):
        raise TypeError(f"`model` must be a tfbert model; got {type(model).__name__}.")
    return write_model_directory(directory, model.config, task_spec(model), model_weights(model),
                                 vocab_file=vocab_file, do_lower_case=do_lower_case,
                                 overwrite=overwrite, extra_files=extra_files)


def read_config(directory: str | os.PathLike) -> tuple[BertConfig, dict[str, Any], dict[str, Any]]:
    """Reads config.json: (BertConfig, task spec, {"do_lower_case": ...})."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{directory} is not a model directory: {CONFIG_FILE} is missing.")
    values = json.loads(path.read_text(encoding="utf-8"))
    extras = {key: values.pop(key, None) for key in _DIRECTORY_KEYS}
    task = extras.pop("task") or {"class": "BertEncoder"}
    return BertConfig.from_dict(values), dict(task), extras


def vocabulary(directory: str | os.PathLike, purpose: str) -> tuple[Path, bool]:
    """The model directory's `vocab.txt` and whether to lower-case: config.json's
    `do_lower_case`, or, when it is not recorded, whether the vocabulary is uncased (no upper
    case). `purpose` completes the error raised when the vocabulary is missing."""
    vocab_file = Path(directory) / VOCAB_FILE
    if not vocab_file.is_file():
        raise FileNotFoundError(f"{directory} has no {VOCAB_FILE}; {purpose}")
    do_lower_case = read_config(directory)[2]["do_lower_case"]
    if do_lower_case is None:
        return vocab_file, is_uncased(load_vocab(vocab_file))
    return vocab_file, bool(do_lower_case)


def build_model(config: BertConfig, task: Mapping[str, Any], dtype: str | None = None) -> TaskModel:
    """Builds (untrained) the model a task spec describes."""
    args = dict(task)
    name = args.pop("class", None)
    if name not in MODEL_CLASSES:
        raise ValueError(f"Unknown model class {name!r} in the task spec; expected one of "
                         f"{', '.join(MODEL_CLASSES)}.")
    return MODEL_CLASSES[name](config, dtype=dtype, **args)


def load(directory: str | os.PathLike, dtype: str | None = None) -> TaskModel:
    """Rebuilds the model saved in a model directory (no network access).

    `dtype` optionally sets a Keras dtype policy such as "mixed_bfloat16".
    """
    config, task, _ = read_config(directory)
    model = build_model(config, task, dtype=dtype)
    assign_weights(model, read_checkpoint(Path(directory) / CHECKPOINT))
    return model
