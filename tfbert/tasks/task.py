"""`FineTuningTask`: what a fine-tuning task contributes to the shared training run.

A task reads its files (errors name the file and line), builds its head on `BertEncoder`,
compiles it with its loss, encodes examples as model inputs (tokenized by `tfbert.text`, outside
the compiled step), and turns model outputs back into metrics and prediction records. Training,
evaluation and prediction (`tfbert.tasks.runner`) are the same for every task.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar, Sequence

import keras
import numpy as np

from tfbert.config import BertConfig
from tfbert.models.model_directory import ModelDirectory
from tfbert.models.task_model import FEATURES, TaskModel
from tfbert.tasks.bucketing import batch_lengths
from tfbert.tasks.bucketing import predict as bucketing_predict
from tfbert.text.tokenizer import BertTokenizer


@dataclasses.dataclass(frozen=True)
class Encoded:
    """Examples as model inputs: `x` (the int32 features), `y` and `sample_weight` (targets,
    None without labels), one row per model input (an example may take several windows), and
    `decoding`, what the task needs to map rows back to examples.

    Arrays of shape [rows, seq_length] are per position (the features, tag labels and
    weights): length-bucketed batches (`tfbert.tasks.bucketing`) cut their padded tail."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray] | None = None
    sample_weight: dict[str, np.ndarray] | None = None
    decoding: Any = None

    def __len__(self) -> int:
        return len(next(iter(self.x.values())))


def feature_arrays(features: Any) -> dict[str, np.ndarray]:
    """The three model inputs (`FEATURES`) of an object that holds them as attributes."""
    return {name: getattr(features, name) for name in FEATURES}


def model_outputs(model: keras.Model, encoded: Encoded, batch_size: int, *,
                  bucketing: bool = True) -> dict[str, np.ndarray]:
    """`model`'s outputs for every row of `encoded`, as NumPy arrays, in row order.

    `bucketing` runs rows sorted by length in batches cut to a few lengths
    (`tfbert.tasks.bucketing.batch_lengths`; the same outputs, within float rounding);
    False runs every batch at full length.
    """
    seq_length = encoded.x["input_mask"].shape[1]
    lengths = (batch_lengths(seq_length, compiled=bool(model.jit_compile)) if bucketing
               else (seq_length,))
    return bucketing_predict(model, encoded, batch_size, lengths)


class FineTuningTask(abc.ABC):
    """One fine-tuning task; subclasses set the class attributes and the abstract methods.

    `settings` are the task's own options (e.g. the text columns, a doc stride); they are saved
    with the fine-tuned model (`finetuning.json`) so that evaluation and prediction read data
    the same way.
    """

    name: ClassVar[str]  # `tfbert finetune --task NAME`
    model_class: ClassVar[type[TaskModel]]
    head_prefixes: ClassVar[tuple[str, ...]]  # variable paths of the head (new when warm-starting)
    setting_names: ClassVar[tuple[str, ...]] = ()  # the options `settings` may hold

    def __init__(self, tokenizer: BertTokenizer, seq_length: int, settings: dict[str, Any],
                 head: dict[str, Any] | None = None):
        unknown = sorted(set(settings) - set(self.setting_names))
        if unknown:
            raise ValueError(f"task {self.name!r} takes the settings {list(self.setting_names)}; "
                             f"got {unknown}.")
        self.tokenizer = tokenizer
        self.seq_length = seq_length
        self.settings = dict(settings)
        self.head = dict(head or {})  # the head's model arguments, e.g. labels

    @abc.abstractmethod
    def read(self, path: str, training: bool, labelled: bool = True) -> Sequence:
        """The examples of a data file; `training` files may be held to stricter rules;
        `labelled=False` (prediction input) lets the labels be absent."""

    def configure(self, train: Sequence) -> None:
        """Sets the head's arguments (e.g. the label set) from the training examples."""

    def check(self, examples: Sequence) -> None:
        """Raises if `examples` (an eval file) do not fit the configured head."""

    uses_pooler: ClassVar[bool] = True  # False: the pooler is frozen (no gradient reaches it)

    def build_model(self, config: BertConfig, dtype: str | None) -> TaskModel:
        model = self.model_class(config, dtype=dtype, **self.head)
        if not self.uses_pooler:  # kept as it was (an export to HF still carries it)
            model.encoder.get_layer("pooler").trainable = False
        return model

    def keeps_head(self, source: ModelDirectory) -> bool:
        """Whether `source`'s head (if any) is this task's, to continue training it."""
        return source.model_class == self.model_class.__name__ and all(
            source.task.get(key) == (list(value) if isinstance(value, tuple) else value)
            for key, value in self.head.items())

    @abc.abstractmethod
    def compile_model(self, model: TaskModel, optimizer: keras.optimizers.Optimizer, *,
                      jit_compile: bool, steps_per_execution: int) -> None:
        """Compiles `model` with the task's loss and training metrics."""

    @abc.abstractmethod
    def encode(self, examples: Sequence, training: bool) -> Encoded:
        """Model inputs for `examples` (with targets when they are labelled)."""

    def tune(self, examples: Sequence, encoded: Encoded, outputs: dict[str, np.ndarray]) -> None:
        """Fits the task's decision settings (e.g. a no-answer threshold) on eval outputs;
        called before `scores` after every epoch of fine-tuning. Most tasks have none."""

    @abc.abstractmethod
    def scores(self, examples: Sequence, encoded: Encoded, outputs: dict[str, np.ndarray]
               ) -> dict[str, Any]:
        """The task's standard metrics of `outputs` (model outputs for `encoded`)."""

    @abc.abstractmethod
    def records(self, examples: Sequence, encoded: Encoded, outputs: dict[str, np.ndarray]
                ) -> list[dict[str, Any]]:
        """One prediction record (JSON-ready) per example, in order."""

    @abc.abstractmethod
    def read_texts(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> Sequence:
        """Unlabelled examples from raw texts (and their second segments), for prediction."""
