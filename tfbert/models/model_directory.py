"""The model directory: everything needed to rebuild a model, offline.

Layout: `config.json` (original `bert_config.json` fields, `do_lower_case`, and `task`: the
model class and its arguments), `vocab.txt` (always: a directory is complete or not written), and
the weights as the TF checkpoint
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

import keras
import numpy as np

from tfbert.config import BertConfig
from tfbert.models.bert_classifier import BertClassifier
from tfbert.models.bert_embedder import BertEmbedder
from tfbert.models.bert_encoder import BertEncoder
from tfbert.models.bert_pretrainer import BertPretrainer
from tfbert.models.bert_regressor import BertRegressor
from tfbert.models.bert_span_qa import BertSpanQA
from tfbert.models.bert_token_classifier import BertTokenClassifier
from tfbert.models.checkpoint import (AssignResult, assign_weights, model_weights, read_checkpoint,
                                     write_checkpoint)
from tfbert.models.task_model import TaskModel
from tfbert.names import POOLING_MODES
from tfbert.text.tokenizer import BertTokenizer
from tfbert.text.unicode_tables import COMPATS
from tfbert.text.vocab import is_uncased, load_vocab, special_token_ids

CONFIG_FILE = "config.json"
VOCAB_FILE = "vocab.txt"
CHECKPOINT = "bert_model.ckpt"
FINE_TUNING_FILE = "finetuning.json"  # written by fine-tuning: the task and its settings

MODEL_CLASSES: dict[str, type[TaskModel]] = {
    cls.__name__: cls for cls in (BertEncoder, BertPretrainer, BertClassifier, BertRegressor,
                                  BertTokenClassifier, BertSpanQA, BertEmbedder)}

# config.json keys that are not BertConfig fields.
_DIRECTORY_KEYS = ("do_lower_case", "task", "embedding", "tokenizer_compat")
# The `embedding` entry: how the model embeds a text (e.g. a sentence-transformers pipeline's
# pooling, normalisation and max_seq_length), the defaults of `tfbert export --task embed`.
EMBEDDING_KEYS = ("pooling", "normalize", "seq_length")


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


def check_vocabulary(vocab_file: str | os.PathLike, config: BertConfig) -> list[str]:
    """The tokens of `vocab_file`, checked for a model of `config`: the special tokens are
    there and every id fits the embedding table (`len(vocab) <= vocab_size`)."""
    tokens = load_vocab(vocab_file)
    special_token_ids(tokens)
    if len(tokens) > config.vocab_size:
        raise ValueError(f"The vocabulary {os.fspath(vocab_file)} has {len(tokens):,} tokens but "
                         f"the model's vocab_size is {config.vocab_size:,}: ids from "
                         f"{config.vocab_size:,} up would have no embedding. Use a config with "
                         f"vocab_size >= {len(tokens):,}.")
    return tokens


def check_embedding(embedding: Mapping[str, Any], config: BertConfig) -> dict[str, Any]:
    """The `embedding` entry of config.json, checked: `pooling` one of POOLING_MODES,
    `normalize` a bool, `seq_length` an int in [3, max_position_embeddings]; each optional.

    >>> check_embedding({"pooling": "max"}, BertConfig.preset("bert_tiny"))
    Traceback (most recent call last):
    ...
    ValueError: `embedding['pooling']` must be one of cls, mean; got 'max'.
    """
    unknown = sorted(set(embedding) - set(EMBEDDING_KEYS))
    if unknown:
        raise ValueError(f"`embedding` takes the keys {', '.join(EMBEDDING_KEYS)}; got {unknown}.")
    if "pooling" in embedding and embedding["pooling"] not in POOLING_MODES:
        raise ValueError(f"`embedding['pooling']` must be one of {', '.join(POOLING_MODES)}; "
                         f"got {embedding['pooling']!r}.")
    if "normalize" in embedding and not isinstance(embedding["normalize"], bool):
        raise ValueError(f"`embedding['normalize']` must be a bool; got "
                         f"{embedding['normalize']!r}.")
    limit = config.max_position_embeddings
    seq_length = embedding.get("seq_length", limit)
    is_int = isinstance(seq_length, int) and not isinstance(seq_length, bool)
    if not is_int or not 3 <= seq_length <= limit:
        raise ValueError(f"`embedding['seq_length']` must be an int in [3, {limit}] (the "
                         f"model's max_position_embeddings); got {seq_length!r}.")
    return dict(embedding)


def write_model_directory(directory: str | os.PathLike, config: BertConfig,
                          task: Mapping[str, Any], weights: Mapping[str, np.ndarray], *,
                          vocab_file: str | os.PathLike | None,
                          do_lower_case: bool | None = None, overwrite: bool = False,
                          extra_files: Mapping[str, str] | None = None,
                          embedding: Mapping[str, Any] | None = None,
                          tokenizer_compat: str = "google") -> Path:
    """Writes a model directory atomically: a reader sees the old one or the complete new one.

    `task` is a `task_spec`; `weights` maps original BERT names to arrays; `vocab_file` is the
    vocabulary the weights were trained with (required: export, fine-tuning and prediction
    tokenize with it); `do_lower_case` None records the vocabulary's own casing; `extra_files`
    maps file names to text written alongside (e.g. training's `history.json`); `embedding`
    (see `check_embedding`) records how the model embeds text, for `export --task embed`;
    `tokenizer_compat` is whose tokenizer the weights were trained with (`BertTokenizer`'s
    `compat`: "hf" for weights from Hugging Face, "google" otherwise).
    """
    directory = Path(directory)
    if tokenizer_compat not in COMPATS:
        raise ValueError(f"`tokenizer_compat` must be one of {COMPATS}; got "
                         f"{tokenizer_compat!r}.")
    if task.get("class") not in MODEL_CLASSES:
        raise ValueError(f"`task['class']` must be one of {', '.join(MODEL_CLASSES)}; "
                         f"got {task.get('class')!r}.")
    if vocab_file is None:
        raise ValueError("`vocab_file` is required: a model directory holds the vocabulary its "
                         "weights were trained with, which export, fine-tuning and prediction "
                         "tokenize with.")
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise FileExistsError(f"{directory} exists and is not empty; pass overwrite=True "
                              "(`--overwrite`) to replace it.")
    for name in extra_files or {}:
        if Path(name).name != name or name in (CONFIG_FILE, VOCAB_FILE) or name.startswith(CHECKPOINT):
            raise ValueError(f"`extra_files` names must be plain file names other than "
                             f"{CONFIG_FILE}, {VOCAB_FILE} and {CHECKPOINT}.*; got {name!r}.")
    if not Path(vocab_file).is_file():
        raise FileNotFoundError(f"Vocabulary file not found: {vocab_file}")
    tokens = check_vocabulary(vocab_file, config)
    if do_lower_case is None:
        do_lower_case = is_uncased(tokens)
    with staged_directory(directory) as staging:
        values = {**config.to_dict(), "do_lower_case": bool(do_lower_case),
                  "tokenizer_compat": tokenizer_compat, "task": dict(task)}
        if embedding:
            values["embedding"] = check_embedding(embedding, config)
        (staging / CONFIG_FILE).write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
        shutil.copyfile(vocab_file, staging / VOCAB_FILE)
        write_checkpoint(staging / CHECKPOINT, weights)
        for name, text in (extra_files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
    return directory


def save(model: TaskModel, directory: str | os.PathLike, *,
         vocab_file: str | os.PathLike | None = None, do_lower_case: bool | None = None,
         overwrite: bool = False, extra_files: Mapping[str, str] | None = None,
         tokenizer_compat: str = "google") -> Path:
    """Saves `model` and its vocabulary as a model directory that `load` rebuilds
    (`extra_files`: name -> text). `vocab_file` is required (see `write_model_directory`).

    >>> import tempfile, tfbert
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(f"{folder}/vocab.txt", "w").write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\n[MASK]\\nhi\\n")
    >>> model = tfbert.BertClassifier(tfbert.BertConfig.preset("bert_tiny"), num_labels=3)
    >>> path = save(model, f"{folder}/classifier", vocab_file=f"{folder}/vocab.txt")
    >>> type(load(path)).__name__, ModelDirectory(path).lower_case
    ('BertClassifier', True)
    """
    if not isinstance(model, TaskModel):
        raise TypeError(f"`model` must be a tfbert model; got {type(model).__name__}.")
    return write_model_directory(directory, model.config, task_spec(model), model_weights(model),
                                 vocab_file=vocab_file, do_lower_case=do_lower_case,
                                 overwrite=overwrite, extra_files=extra_files,
                                 tokenizer_compat=tokenizer_compat)


class ModelDirectory:
    """A model directory on disk, checked complete: it answers for its config, task, labels,
    vocabulary and casing, and loads or warm-starts models from its weights.

    `lower_case` is config.json's `do_lower_case`, or, when a directory does not record it,
    whether its vocabulary is uncased (no upper case). `embedding` is config.json's
    `embedding` entry (e.g. {"pooling": "mean", "normalize": True, "seq_length": 256} from a
    sentence-transformers folder); a BertEmbedder's own pooling and normalisation fill it in.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        config_file = self.path / CONFIG_FILE
        if not config_file.is_file():
            raise FileNotFoundError(f"{self.path} is not a model directory: {CONFIG_FILE} is "
                                    "missing.")
        values = json.loads(config_file.read_text(encoding="utf-8"))
        extras = {key: values.pop(key, None) for key in _DIRECTORY_KEYS}
        self.config = BertConfig.from_dict(values)
        self.task: dict[str, Any] = dict(extras["task"] or {"class": "BertEncoder"})
        self.vocab_file = self.path / VOCAB_FILE
        if not self.vocab_file.is_file():
            raise FileNotFoundError(
                f"{self.path} has no {VOCAB_FILE}: a model directory holds the vocabulary its "
                "weights were trained with (copy it there).")
        tokens = check_vocabulary(self.vocab_file, self.config)
        recorded = extras["do_lower_case"]
        self.lower_case = is_uncased(tokens) if recorded is None else bool(recorded)
        self.tokenizer_compat: str = extras["tokenizer_compat"] or "google"  # older directories
        if self.tokenizer_compat not in COMPATS:
            raise ValueError(f"{config_file}: `tokenizer_compat` must be one of {COMPATS}; got "
                             f"{self.tokenizer_compat!r}.")
        try:
            embedding = check_embedding(extras["embedding"] or {}, self.config)
        except ValueError as error:
            raise ValueError(f"{config_file}: {error}") from None
        if self.task["class"] == "BertEmbedder":
            embedding = {key: self.task[key] for key in ("pooling", "normalize")
                         if key in self.task} | embedding
        self.embedding: dict[str, Any] = embedding

    @property
    def model_class(self) -> str:
        """The task model's class name, e.g. "BertClassifier"."""
        return self.task["class"]

    @property
    def labels(self) -> tuple[str, ...] | None:
        """The label names of a classifier or tagger, in output order (None if unnamed)."""
        labels = self.task.get("labels")
        return None if labels is None else tuple(labels)

    def fine_tuning(self) -> dict[str, Any]:
        """`finetuning.json` of a fine-tuned directory (`task`, `seq_length`, `settings`), or
        {} for a directory that `tfbert finetune` did not write."""
        path = self.path / FINE_TUNING_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def weights(self) -> dict[str, np.ndarray]:
        """Every tensor of the checkpoint, by original BERT name."""
        return read_checkpoint(self.path / CHECKPOINT)

    def warm_start(self, model: keras.Model, allow_missing: tuple[str, ...] = ()) -> AssignResult:
        """Sets `model`'s variables from this directory's weights; variables under the
        `allow_missing` prefixes (a new head) may be absent and keep their initial values."""
        return assign_weights(model, self.weights(), allow_missing=allow_missing)

    def load(self, dtype: str | None = None) -> TaskModel:
        """The saved model, rebuilt (`dtype`: an optional Keras dtype policy)."""
        model = build_model(self.config, self.task, dtype=dtype)
        self.warm_start(model)
        return model

    def tokenizer(self) -> BertTokenizer:
        """The `BertTokenizer` of the vocabulary, casing and tokenizer (`tokenizer_compat`)
        the weights were trained with."""
        return BertTokenizer(str(self.vocab_file), lower_case=self.lower_case,
                             compat=self.tokenizer_compat)


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
    return ModelDirectory(directory).load(dtype=dtype)
