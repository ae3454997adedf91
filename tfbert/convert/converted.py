"""`ConvertedModel`: what every converter produces before it becomes a model directory."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from tfbert.config import BertConfig
from tfbert.models.model_directory import build_model, write_model_directory


@dataclasses.dataclass(frozen=True)
class ConvertedModel:
    """A model in tfbert terms: config, task spec, weights under the original BERT names."""

    config: BertConfig
    task: dict[str, Any]
    weights: dict[str, np.ndarray]
    vocab_file: Path | None = None
    do_lower_case: bool | None = None
    notes: tuple[str, ...] = ()  # what the source had that the conversion left out
    tokenizer_compat: str = "google"  # whose tokenizer the weights were trained with
    # How the model embeds text ({"pooling", "normalize", "seq_length"}; sentence-transformers)
    embedding: dict[str, Any] | None = None

    def save(self, directory: str | os.PathLike, overwrite: bool = False,
             vocab_file: str | os.PathLike | None = None) -> Path:
        """Writes the model directory (atomically); `tfbert.load` rebuilds it. `vocab_file`
        gives (or replaces) the vocabulary when the source has none: a model directory
        always holds one."""
        if vocab_file is None and self.vocab_file is None:
            raise ValueError("The source has no vocab.txt, and a model directory needs the "
                             "vocabulary the weights were trained with: pass it with --vocab "
                             "FILE (`vocab_file=`).")
        lower_case = self.do_lower_case if vocab_file is None else None
        return write_model_directory(directory, self.config, self.task, self.weights,
                                     vocab_file=vocab_file or self.vocab_file,
                                     do_lower_case=lower_case, overwrite=overwrite,
                                     tokenizer_compat=self.tokenizer_compat,
                                     embedding=self.embedding)


def match_model(config: BertConfig, task: dict[str, Any], tensors: dict[str, np.ndarray],
                source: object) -> dict[str, np.ndarray]:
    """`tensors` checked against the model `config` and `task` describe, as float32: every
    variable present with its shape, nothing left over. Errors name `source` and the variable.
    """
    model = build_model(config, task)
    tensors, weights = dict(tensors), {}
    for variable in model.weights:
        if variable.path not in tensors:
            raise ValueError(f"{source}: the checkpoint has no {variable.path!r}, which a "
                             f"{task['class']} needs.")
        tensor = np.asarray(tensors.pop(variable.path))
        if tuple(tensor.shape) != tuple(variable.shape):
            raise ValueError(f"{source}: {variable.path} has shape {tuple(tensor.shape)} in "
                             f"the checkpoint but {tuple(variable.shape)} in the config.")
        weights[variable.path] = tensor.astype(np.float32)
    if tensors:
        raise ValueError(f"{source}: {len(tensors)} checkpoint variable(s) have no place in "
                         f"a tfbert {task['class']}, e.g. {sorted(tensors)[:5]}.")
    return weights


def read_original_config(path: Path) -> BertConfig:
    """An original-style `bert_config.json` (Google BERT, Model Garden), whose `gelu` is the
    tanh approximation: it becomes `gelu_new`."""
    values = json.loads(path.read_text(encoding="utf-8"))
    if values.get("hidden_act") == "gelu":
        values["hidden_act"] = "gelu_new"
    return BertConfig.from_dict(values)
