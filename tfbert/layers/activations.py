"""The feed-forward activations BERT configs name in `hidden_act`."""
from __future__ import annotations

from typing import Callable

import tensorflow as tf


def _gelu_exact(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.gelu(x, approximate=False)


def _gelu_tanh(x: tf.Tensor) -> tf.Tensor:
    return tf.nn.gelu(x, approximate=True)


# Keys are `BertConfig.ACTIVATIONS`: HF's three names for the tanh approximation share one function.
_ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "gelu": _gelu_exact,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "gelu_fast": _gelu_tanh,
    "relu": tf.nn.relu,
    "silu": tf.nn.silu,
    "tanh": tf.math.tanh,
}


def get_activation(name: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """The function for a `hidden_act` name.

    >>> get_activation("relu")(tf.constant([-1.0, 2.0])).numpy().tolist()
    [0.0, 2.0]
    """
    if name not in _ACTIVATIONS:
        raise ValueError(f"`hidden_act` must be one of {', '.join(_ACTIVATIONS)}; got {name!r}.")
    return _ACTIVATIONS[name]
