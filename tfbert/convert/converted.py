"""`ConvertedModel`: what every converter produces before it becomes a model directory."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from tfbert.config import BertConfig
from tfbert.models.model_directory import write_model_directory


@dataclasses.dataclass(frozen=True)
class ConvertedModel:
    """A model in tfbert terms: config, task spec, weights under the original BERT names."""

    config: BertConfig
    task: dict[str, Any]
    weights: dict[str, np.ndarray]
    vocab_file: Path | None = None
    do_lower_case: bool | None = None

    def save(self, directory: str | os.PathLike, overwrite: bool = False) -> Path:
        """Writes the model directory (atomically); `tfbert.load` rebuilds it."""
        return write_model_directory(directory, self.config, self.task, self.weights,
                                     vocab_file=self.vocab_file,
                                     do_lower_case=self.do_lower_case, overwrite=overwrite)
