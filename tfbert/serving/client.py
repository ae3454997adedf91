"""`PredictionClient`: raw text in, NumPy / Python values out, over TF Serving's gRPC API.

The same client talks to `tensorflow_model_server` and to `tfbert serve`: it only uses the
PredictionService (`Predict`, `GetModelMetadata`, `Classify`). Every failure raises
`ServingError` with the gRPC status code and a message naming the server and the model;
a server that does not answer within `timeout` seconds, or cannot be reached, says so.

>>> client = PredictionClient("127.0.0.1:9", "bert", timeout=0.5)  # nothing listens there
>>> try:
...     client.predict(["hello"])
... except ServingError as error:
...     print(error.code.name)
UNAVAILABLE
"""
from __future__ import annotations

from typing import Sequence

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, predict_pb2,
                                     prediction_service_pb2_grpc)

DEFAULT_SIGNATURE = "serving_default"
# The input names of the signatures that take two texts: pairs, and qa's question with context.
PAIR_INPUTS = (("text_a", "text_b"), ("question", "context"))
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a batch of long texts exceeds gRPC's 4 MB default


class ServingError(RuntimeError):
    """A request failed; `code` is its `grpc.StatusCode`."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def _texts(values: Sequence[str | bytes], name: str) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"`{name}` must be a sequence of strings; got {type(values).__name__}")
    if not all(isinstance(v, (str, bytes)) for v in values):
        raise TypeError(f"`{name}` must hold only str or bytes values")
    return np.array([v.encode() if isinstance(v, str) else v for v in values], object)


def _python(value: np.ndarray) -> np.ndarray:
    """Output arrays as they are, except strings: bytes -> str (invalid UTF-8 replaced)."""
    if value.dtype == object:
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(value) \
            if value.size else value
    return value


class PredictionClient:
    """Calls the model `model_name` served at `server` ("host:port") over gRPC.

    `timeout` (seconds) bounds every call; `version` pins a model version (default: the
    latest the server serves).
    """

    def __init__(self, server: str, model_name: str, timeout: float = 30.0,
                 version: int | None = None):
        if not isinstance(server, str) or ":" not in server:
            raise ValueError(f"`server` must be 'host:port'; got {server!r}")
        if timeout <= 0:
            raise ValueError(f"`timeout` must be positive; got {timeout!r}")
        self.server = server
        self.model_name = model_name
        self.timeout = timeout
        self.version = version
        self._channel = grpc.insecure_channel(server, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def _spec(self, spec, signature: str | None = None) -> None:
        spec.name = self.model_name
        if self.version is not None:
            spec.version.value = self.version
        if signature:
            spec.signature_name = signature

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            code = error.code()
            where = f"{self.server}, model {self.model_name!r}"
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                message = f"no answer from {where} within {self.timeout:g} s (timeout)"
            elif code == grpc.StatusCode.UNAVAILABLE:
                message = f"cannot reach {where}: {error.details()}"
            else:
                message = f"{where}: {code.name}: {error.details()}"
            raise ServingError(code, message) from None

    def predict_tensors(self, inputs: dict[str, np.ndarray],
                        signature: str = DEFAULT_SIGNATURE) -> dict[str, np.ndarray]:
        """Runs `signature` on named input arrays; returns the output arrays as served."""
        request = predict_pb2.PredictRequest()
        self._spec(request.model_spec, signature)
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
        response = self._call(self._stub.Predict, request)
        return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}

    def predict(self, texts: Sequence[str | bytes], signature: str | None = None,
                text_pair: Sequence[str | bytes] | None = None) -> dict[str, np.ndarray]:
        """Outputs of the model for `texts` (and `text_pair`: the second segments, or for a qa
        export the contexts of the questions `texts`).

        `signature` defaults to `serving_default`, or with pairs to `text_pair` where the model
        has it (a qa model takes its pair in `serving_default`). A pair goes to the signature's
        two inputs, `text_a`/`text_b` or `question`/`context`. String outputs come back as
        `str` arrays, numbers as NumPy arrays.
        """
        if text_pair is None:
            signature = signature or DEFAULT_SIGNATURE
            inputs = {"text": _texts(texts, "texts")}
        else:
            first, second = _texts(texts, "texts"), _texts(text_pair, "text_pair")
            if len(first) != len(second):
                raise ValueError(f"`texts` and `text_pair` must have the same length; got "
                                 f"{len(first)} and {len(second)}")
            signatures = self.metadata()
            signature = signature or ("text_pair" if "text_pair" in signatures
                                      else DEFAULT_SIGNATURE)
            names = self._pair_inputs(signatures, signature)
            inputs = dict(zip(names, (first, second)))
        outputs = self.predict_tensors(inputs, signature)
        return {name: _python(value) for name, value in outputs.items()}

    def _inputs(self, signatures: dict, signature: str) -> list[str]:
        """The input names of `signature` (from `metadata()`), or a FAILED_PRECONDITION error
        as TF Serving gives for an unknown signature."""
        if signature not in signatures:
            raise ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"{self.server}, model {self.model_name!r}: signature "
                               f"{signature!r} not found; it has {sorted(signatures)}")
        return list(signatures[signature]["inputs"])

    def _pair_inputs(self, signatures: dict, signature: str) -> tuple[str, str]:
        names = set(self._inputs(signatures, signature))
        for pair in PAIR_INPUTS:
            if names == set(pair):
                return pair
        raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"{self.server}, model {self.model_name!r}: signature {signature!r} "
                           f"takes {sorted(names)}, not a pair of texts")

    def takes_examples(self, signature: str) -> bool:
        """Whether `signature` takes serialized tf.Examples (`inputs`), as Classify needs."""
        return self._inputs(self.metadata(), signature) == ["inputs"]

    def classify(self, texts: Sequence[str | bytes],
                 text_pair: Sequence[str | bytes] | None = None,
                 signature: str | None = None) -> list[dict[str, float]]:
        """Label -> score for each text (or pair), through the Classify API: the `classify`
        (or `classify_pair`) signature of a classification export, on tf.Examples whose
        features are `text` (or `text_a`, `text_b`)."""
        request = classification_pb2.ClassificationRequest()
        signature = signature or ("classify" if text_pair is None else "classify_pair")
        self._spec(request.model_spec, signature)
        columns = {"text": _texts(texts, "texts")} if text_pair is None else {
            "text_a": _texts(texts, "texts"), "text_b": _texts(text_pair, "text_pair")}
        if len({len(values) for values in columns.values()}) > 1:
            raise ValueError(f"`texts` and `text_pair` must have the same length; got "
                             f"{len(columns['text_a'])} and {len(columns['text_b'])}")
        for row in range(len(next(iter(columns.values())))):
            example = request.input.example_list.examples.add()
            for name, values in columns.items():
                example.features.feature[name].bytes_list.value.append(values[row])
        response = self._call(self._stub.Classify, request)
        return [{c.label: c.score for c in result.classes}
                for result in response.result.classifications]

    def metadata(self) -> dict[str, dict]:
        """Signature name -> {"inputs": {name: {dtype, shape}}, "outputs": {...}}."""
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._spec(request.model_spec)
        response = self._call(self._stub.GetModelMetadata, request)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)

        def describe(tensors) -> dict:
            return {name: {"dtype": tf.dtypes.as_dtype(info.dtype).name,
                           "shape": None if info.tensor_shape.unknown_rank else
                           [None if d.size == -1 else d.size for d in info.tensor_shape.dim]}
                    for name, info in sorted(tensors.items())}

        return {name: {"inputs": describe(d.inputs), "outputs": describe(d.outputs)}
                for name, d in sorted(signature_map.signature_def.items())
                if name != "__saved_model_init_op"}

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "PredictionClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
