"""`TaskModel`: what every tfbert model shares: a `BertConfig` and config round-tripping."""
from __future__ import annotations

from typing import Any

import keras

from tfbert.config import BertConfig

# Names of the integer features every model takes (DESIGN.md): int32 (B, T).
FEATURES = ("input_word_ids", "input_mask", "input_type_ids")


def feature_inputs(*extra: str) -> dict[str, keras.KerasTensor]:
    """Symbolic int32 (B, T) inputs for the three BERT features plus `extra` ones (B, P)."""
    return {name: keras.Input(shape=(None,), dtype="int32", name=name)
            for name in FEATURES + extra}


class TaskModel(keras.Model):
    """A functional Keras model built from a `BertConfig` and a few task arguments.

    Subclasses build their graph in `__init__` and pass their own constructor arguments
    (besides `config`) as `task_args`; `get_config` returns exactly those, so
    `from_config(get_config())` rebuilds the model.
    """

    def __init__(self, config: BertConfig, task_args: dict[str, Any], **kwargs):
        super().__init__(**kwargs)
        if task_args.get("dtype") is not None:
            # Functional models ignore `dtype`; the model's own policy is what `compile` reads
            # to add loss scaling under mixed_float16.
            self.dtype_policy = task_args["dtype"]
        self.config = config
        self.task_args = dict(task_args)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable,
                "config": self.config.to_dict(), **self.task_args}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "TaskModel":
        config = dict(config)
        bert_config = config.pop("config")
        if not isinstance(bert_config, BertConfig):
            bert_config = BertConfig.from_dict(bert_config)
        return cls(bert_config, **config)
