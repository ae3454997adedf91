"""`ModelServer`: TF Serving's gRPC PredictionService for one model, for development and tests.

It speaks the `tensorflow-serving-api` protos: `Predict`, `GetModelMetadata` (the
`signature_def` field, a SignatureDefMap packed in `Any`, as TF Serving answers) and
`Classify` (on classification signatures, such as the `classify` and `classify_pair` of
classification exports, whose Examples hold a `text` feature, or `text_a` and `text_b`).
Versions are loaded and refreshed by `ModelVersions` under a `VersionPolicy`; the latest loaded
one serves unless a request names one. Bad requests get INVALID_ARGUMENT, unknown models,
versions and signatures NOT_FOUND, each with a message saying what was expected; the server
keeps serving. Production runs `tensorflow_model_server` (see README), which loads the same
exports and answers the same requests.
"""
from __future__ import annotations

import os
from concurrent import futures
from typing import Callable

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, predict_pb2,
                                     prediction_service_pb2_grpc)

from tfbert.export.examples import (CLASSIFY_CLASSES, CLASSIFY_INPUTS, CLASSIFY_METHOD,
                                    CLASSIFY_SCORES)
from tfbert.export.session_model import SessionModel, SignatureNotFoundError
from tfbert.serving.client import DEFAULT_SIGNATURE, MAX_MESSAGE_BYTES
from tfbert.serving.model_versions import ModelVersions, VersionNotFoundError, VersionPolicy



_CODES = {code.value[0]: code for code in grpc.StatusCode}  # TF and gRPC share the numbers


class _Abort(Exception):
    """Ends a request with a gRPC status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def _status(error: Exception) -> tuple[grpc.StatusCode, str]:
    """The gRPC status for an error raised while answering a request."""
    if isinstance(error, _Abort):
        return error.code, str(error)
    if isinstance(error, (VersionNotFoundError, SignatureNotFoundError)):
        return grpc.StatusCode.NOT_FOUND, str(error)
    if isinstance(error, (ValueError, TypeError)):
        return grpc.StatusCode.INVALID_ARGUMENT, str(error)
    if isinstance(error, tf.errors.OpError):
        code = _CODES.get(error.error_code, grpc.StatusCode.INTERNAL)
        message = error.message.split("\n\t [[")[0]  # drop the graph node dump
        return code, message
    return grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}"


def _handler(method: Callable) -> Callable:
    """Wraps a servicer method so that every error becomes a gRPC status, never a crash."""

    def handle(self, request, context):
        try:
            return method(self, request, context)
        except Exception as error:  # noqa: BLE001 - turned into a status for the client
            code, message = _status(error)
            context.abort(code, message)

    handle.__name__ = method.__name__
    handle.__doc__ = method.__doc__
    return handle


def _tensor(proto, name: str) -> np.ndarray:
    try:
        return tf.make_ndarray(proto)
    except Exception as error:  # a malformed TensorProto
        raise ValueError(f"input {name!r} is not a valid TensorProto: {error}") from error


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Answers PredictionService requests for the model `model_name` from `versions`."""

    def __init__(self, model_name: str, versions: ModelVersions):
        self.model_name = model_name
        self.versions = versions

    def _model(self, spec) -> tuple[int, SessionModel]:
        if spec.name != self.model_name:
            raise _Abort(grpc.StatusCode.NOT_FOUND,
                         f"model {spec.name!r} not found; this server serves {self.model_name!r}")
        if spec.version_label:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         "version labels are not supported; give model_spec.version")
        return self.versions.get(spec.version.value if spec.HasField("version") else None)

    def _fill_spec(self, spec, version: int, signature: str) -> None:
        spec.name = self.model_name
        spec.version.value = version
        spec.signature_name = signature

    @_handler
    def Predict(self, request, context):
        """Runs the requested signature on the request's input tensors."""
        version, model = self._model(request.model_spec)
        signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
        inputs = {name: _tensor(proto, name) for name, proto in request.inputs.items()}
        outputs = model.run(signature, inputs, tuple(request.output_filter))
        response = predict_pb2.PredictResponse()
        self._fill_spec(response.model_spec, version, signature)
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    @_handler
    def GetModelMetadata(self, request, context):
        """The signature definitions of the model version, as TF Serving returns them."""
        fields = list(request.metadata_field)
        if fields != ["signature_def"]:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         f"metadata_field must be ['signature_def']; got {fields}")
        version, model = self._model(request.model_spec)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, definition in model.signatures.items():
            signature_map.signature_def[name].CopyFrom(definition)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        self._fill_spec(response.model_spec, version, "")
        response.metadata["signature_def"].Pack(signature_map)
        return response

    @_handler
    def Classify(self, request, context):
        """Runs a classification signature on the request's Examples, as TF Serving does: the
        signature must have method `tensorflow/serving/classify`, one `inputs` tensor of
        serialized Examples, and `classes` and/or `scores` [examples, classes] outputs."""
        version, model = self._model(request.model_spec)
        name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        signature = model.signature(name)
        if signature.method_name != CLASSIFY_METHOD:
            ours = sorted(key for key, value in model.signatures.items()
                          if value.method_name == CLASSIFY_METHOD)
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         f"signature {name!r} has method {signature.method_name!r}; Classify "
                         f"runs {CLASSIFY_METHOD!r} signatures: "
                         + (f"name one of {ours} in model_spec.signature_name" if ours
                            else "this model has none, use Predict"))
        outputs = model.run(name, {CLASSIFY_INPUTS: _serialized_examples(request.input)})
        classes, scores = outputs.get(CLASSIFY_CLASSES), outputs.get(CLASSIFY_SCORES)
        response = classification_pb2.ClassificationResponse()
        self._fill_spec(response.model_spec, version, name)
        table = classes if classes is not None else scores  # [examples, classes]
        if table is None:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                         f"classification signature {name!r} has neither a "
                         f"{CLASSIFY_CLASSES!r} nor a {CLASSIFY_SCORES!r} output")
        for row in range(table.shape[0]):
            classifications = response.result.classifications.add()
            for column in range(table.shape[1]):
                answer = classifications.classes.add()
                if classes is not None:
                    answer.label = classes[row, column].decode()
                if scores is not None:
                    answer.score = float(scores[row, column])
        return response


def _serialized_examples(request_input) -> np.ndarray:
    """The request's Examples, serialized; with a context, each example gets the context's
    features, its own taking precedence (as TF Serving merges them)."""
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples, context = request_input.example_list.examples, None
    elif kind == "example_list_with_context":
        examples = request_input.example_list_with_context.examples
        context = request_input.example_list_with_context.context
    else:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT,
                     "Classify takes input.example_list or input.example_list_with_context")
    if not examples:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"input.{kind} has no examples")
    serialized = []
    for example in examples:
        if context is not None:
            merged = tf.train.Example()
            merged.CopyFrom(context)
            for key, feature in example.features.feature.items():
                merged.features.feature[key].CopyFrom(feature)
            example = merged
        serialized.append(example.SerializeToString())
    return np.array(serialized, object)


class ModelServer:
    """A running gRPC server for the model in `base_path` (versions in integer subdirectories).

    `port=0` picks a free port; `port` then holds the bound one. `stop()` shuts it down.

    >>> import tempfile
    >>> server = ModelServer(tempfile.mkdtemp(), "demo", port=0, host="127.0.0.1")
    >>> server.port > 0
    True
    >>> server.stop()
    """

    def __init__(self, base_path: str | os.PathLike, model_name: str, port: int = 8500,
                 host: str = "0.0.0.0", poll_seconds: float = 1.0, max_workers: int = 8,
                 log: Callable[[str], None] | None = None,
                 version_policy: VersionPolicy = VersionPolicy()):
        if not model_name:
            raise ValueError("`model_name` must be a non-empty string")
        self.versions = ModelVersions(base_path, poll_seconds, log=log, policy=version_policy)
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                                   options=options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionServicer(model_name, self.versions), self._server)
        try:
            self.port = self._server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            self.versions.close()
            raise OSError(f"cannot listen on {host}:{port} (in use, or not an address here)")
        self._server.start()

    def wait(self) -> None:
        """Blocks until the server stops."""
        self._server.wait_for_termination()

    def stop(self, grace: float | None = 1.0) -> None:
        """Stops accepting requests, lets running ones finish for `grace` s, frees the models."""
        self._server.stop(grace).wait()
        self.versions.close()
