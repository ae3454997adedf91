"""Weights keyed by variable path, read from and written to TF checkpoints.

tfbert's variable paths are the original BERT checkpoint names, so a checkpoint written here
has the layout of Google's `bert_model.ckpt` and one of theirs reads back the same way.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Mapping

import keras
import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)


def model_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's variables as {path: array}.

    >>> from tfbert import BertConfig, BertEncoder
    >>> weights = model_weights(BertEncoder(BertConfig.preset("bert_tiny")))
    >>> weights["bert/encoder/layer_1/attention/self/query/kernel"].shape
    (128, 128)
    """
    return {variable.path: variable.numpy() for variable in _unique_variables(model)}


def write_checkpoint(prefix: str | os.PathLike, tensors: Mapping[str, np.ndarray]) -> None:
    """Writes `tensors` as a TF (V2 format) checkpoint at `prefix` under their own names."""
    if not tensors:
        raise ValueError("No tensors to write: `tensors` is empty.")
    names = sorted(tensors)
    tf.raw_ops.SaveV2(prefix=os.fspath(prefix), tensor_names=names,
                      shape_and_slices=[""] * len(names),
                      tensors=[tf.convert_to_tensor(tensors[name]) for name in names])


def read_checkpoint(prefix: str | os.PathLike) -> dict[str, np.ndarray]:
    """Reads every tensor of a TF checkpoint (a prefix, or a directory holding one)."""
    try:
        reader = tf.train.load_checkpoint(os.fspath(prefix))
    except (tf.errors.NotFoundError, ValueError) as error:
        raise FileNotFoundError(f"No TF checkpoint at {os.fspath(prefix)!r}: {error}") from None
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


@dataclasses.dataclass(frozen=True)
class AssignResult:
    """What `assign_weights` did: model variables it found no tensor for, tensors it left."""

    missing: tuple[str, ...]
    unused: tuple[str, ...]


def assign_weights(model: keras.Model, tensors: Mapping[str, np.ndarray], *,
                   allow_missing: tuple[str, ...] = ()) -> AssignResult:
    """Sets every model variable from the tensor of the same name.

    Shapes must match exactly. A variable without a tensor is an error unless its path starts
    with one of `allow_missing` (e.g. a new task head when warm-starting from an encoder);
    such variables keep their initial values and are listed in the result, as are tensors
    the model has no variable for.
    """
    variables = _unique_variables(model)
    missing = [v.path for v in variables if v.path not in tensors]
    not_allowed = [path for path in missing if not path.startswith(tuple(allow_missing))]
    if not_allowed:
        raise ValueError(f"{len(not_allowed)} variable(s) of {model.name!r} have no tensor in the "
                         f"weights, e.g. {not_allowed[:5]}; the weights have e.g. "
                         f"{sorted(tensors)[:5]}.")
    mismatched = [f"{v.path}: model {tuple(v.shape)}, weights {tuple(np.shape(tensors[v.path]))}"
                  for v in variables
                  if v.path in tensors and tuple(v.shape) != tuple(np.shape(tensors[v.path]))]
    if mismatched:
        raise ValueError(f"Shape mismatch for {len(mismatched)} variable(s): "
                         + "; ".join(mismatched[:5]))
    for variable in variables:
        if variable.path in tensors:
            variable.assign(np.asarray(tensors[variable.path], dtype=variable.dtype))
    used = {v.path for v in variables}
    result = AssignResult(tuple(missing), tuple(sorted(set(tensors) - used)))
    if result.missing:
        logger.info("Left %d variable(s) at their initial values: %s", len(result.missing),
                    ", ".join(result.missing))
    return result


def _unique_variables(model: keras.Model) -> list[keras.Variable]:
    # Tied weights (the MLM head reuses the word embeddings) appear once.
    variables = {id(variable): variable for variable in model.weights}
    paths = [variable.path for variable in variables.values()]
    if len(set(paths)) != len(paths):
        duplicates = sorted({path for path in paths if paths.count(path) > 1})
        raise ValueError(f"Variable paths are not unique in {model.name!r}: {duplicates[:5]}.")
    return list(variables.values())
