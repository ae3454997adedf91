"""`SessionModel`: a SavedModel loaded the way TF Serving loads it, and its signatures run.

TF Serving's C++ server loads a SavedModel into a TF1 session (`LoadSavedModel`), then feeds
and fetches the tensors its SignatureDefs name. `SessionModel` does the same through
`tf.compat.v1.saved_model.loader.load`, so what runs here runs there; export validation and
`tfbert serve` both use it. Inputs are checked against the signature (names, dtype, rank)
before anything runs, with errors that say what was expected.

>>> import tempfile
>>> module = tf.Module()
>>> module.double = tf.function(lambda x: {"y": 2 * x},
...                             input_signature=[tf.TensorSpec([None], tf.int32, name="x")])
>>> path = tempfile.mkdtemp() + "/1"
>>> tf.saved_model.save(module, path, signatures={"serving_default": module.double})
>>> model = SessionModel(path)
>>> model.run("serving_default", {"x": np.array([1, 2], np.int32)})["y"].tolist()
[2, 4]
>>> model.run("serving_default", {"x": np.array([1.5])})
Traceback (most recent call last):
...
TypeError: input 'x' of signature 'serving_default' must be int32; got float64
"""
from __future__ import annotations

import os
import threading
from typing import Mapping

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tf-text kernels the exported graphs use)

SERVE_TAG = "serve"
INIT_OP_SIGNATURE = "__saved_model_init_op"  # a SignatureDef TF2 exports that is no signature


class SignatureNotFoundError(LookupError):
    """The SavedModel has no signature of the requested name."""


def _check_input(signature: str, name: str, info: tf.compat.v1.TensorInfo, value) -> np.ndarray:
    """`value` as the array to feed for input `name`, or a TypeError/ValueError saying why not."""
    dtype = tf.dtypes.as_dtype(info.dtype)
    array = np.asarray(value)
    where = f"input {name!r} of signature {signature!r}"
    if dtype == tf.string:
        strings = array.dtype.kind in "SU" or (array.dtype == object and all(
            isinstance(item, (bytes, str)) for item in array.flat))
        if not strings:
            raise TypeError(f"{where} must be string; got {array.dtype.name}")
        array = array.astype(object)
    elif array.dtype.kind not in "biuf" or tf.dtypes.as_dtype(array.dtype) != dtype:
        raise TypeError(f"{where} must be {dtype.name}; got {array.dtype.name}")
    if not info.tensor_shape.unknown_rank:
        dims = [dim.size for dim in info.tensor_shape.dim]
        shape_ok = array.ndim == len(dims) and all(
            want in (-1, got) for want, got in zip(dims, array.shape))
        if not shape_ok:
            expected = "[" + ", ".join("None" if d == -1 else str(d) for d in dims) + "]"
            raise ValueError(f"{where} must have shape {expected}; got {list(array.shape)}")
    return array


class SessionModel:
    """One SavedModel version in its own `tf.Graph` and `tf.compat.v1.Session`.

    `signatures` maps each signature name to its SignatureDef. `run` is thread-safe (a TF
    session runs concurrent calls). Loading raises whatever the loader raises (a missing or
    corrupt SavedModel, unregistered ops) with the path in the message.
    """

    def __init__(self, path: str | os.PathLike, tags: tuple[str, ...] = (SERVE_TAG,)):
        self.path = os.fspath(path)
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        try:
            with self.graph.as_default():
                self.meta_graph = tf.compat.v1.saved_model.loader.load(
                    self.session, list(tags), self.path)
        except Exception as error:
            self.session.close()
            raise RuntimeError(f"cannot load the SavedModel at {self.path}: {error}") from error
        self.signatures = {name: signature for name, signature
                           in self.meta_graph.signature_def.items() if name != INIT_OP_SIGNATURE}
        self._closed = threading.Event()

    def signature(self, name: str):
        """The SignatureDef called `name`, or SignatureNotFoundError listing the others."""
        if name not in self.signatures:
            raise SignatureNotFoundError(
                f"signature {name!r} not found; the model has {sorted(self.signatures)}")
        return self.signatures[name]

    def run(self, signature: str, inputs: Mapping[str, object],
            output_filter: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
        """Runs `signature` on `inputs` (input name -> array); returns output name -> array.

        Every input of the signature must be given, and nothing else; `output_filter` keeps
        only the named outputs (all by default).
        """
        definition = self.signature(signature)
        missing = sorted(set(definition.inputs) - set(inputs))
        unknown = sorted(set(inputs) - set(definition.inputs))
        if missing or unknown:
            raise ValueError(
                f"signature {signature!r} takes the inputs {sorted(definition.inputs)}; got "
                f"{sorted(inputs)}" + (f" (missing {missing})" if missing else "")
                + (f" (unknown {unknown})" if unknown else ""))
        unknown_outputs = sorted(set(output_filter) - set(definition.outputs))
        if unknown_outputs:
            raise ValueError(f"signature {signature!r} has the outputs "
                             f"{sorted(definition.outputs)}; output_filter asked for "
                             f"{unknown_outputs}")
        feed = {definition.inputs[name].name: _check_input(signature, name, info, inputs[name])
                for name, info in definition.inputs.items()}
        fetch = {name: info.name for name, info in definition.outputs.items()
                 if not output_filter or name in output_filter}
        if self._closed.is_set():
            raise RuntimeError(f"the model at {self.path} has been unloaded")
        return self.session.run(fetch, feed_dict=feed)

    def close(self) -> None:
        """Frees the session; later `run` calls fail."""
        self._closed.set()
        self.session.close()
