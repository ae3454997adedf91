"""`ServingCore`: TF Serving's requests answered on `ServedModels`, and the gRPC services on it
(`ModelServer`, in `tfbert.serving.model_server`, runs them with the REST API).

`ServingCore` answers the requests the way TF Serving's server core does: it finds the model
(by `model_spec.name`, among `ServedModels`) and its version (latest, `model_spec.version`, or
`model_spec.version_label` through the model's version labels), looks up the signature and
runs it. The gRPC services (PredictionService: `Predict`, `Classify`, `Regress`,
`GetModelMetadata`; ModelService: `GetModelStatus`) and the REST API (`tfbert.serving.rest`)
both call it, so they give the same outputs. Status codes follow TF
Serving: an unknown model or version is NOT_FOUND, an unknown version label INVALID_ARGUMENT;
an unknown signature is FAILED_PRECONDITION for Predict and INVALID_ARGUMENT for Classify and
Regress; bad inputs are INVALID_ARGUMENT. As in TF Serving (whose
`--enable_signature_method_name_check` is off by default) Classify and Regress accept any
signature of the right form, whatever its method name: Classify one input `inputs` (serialized
tf.Examples) and `classes` and/or `scores` outputs, Regress one input `inputs` and one float
output `outputs`. Production runs `tensorflow_model_server` (see README) on the same exports.
"""
from __future__ import annotations

from typing import Callable, Mapping, NamedTuple, Sequence

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2,
                                     get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from tfbert.export.examples import (CLASSIFY_CLASSES, CLASSIFY_INPUTS, CLASSIFY_SCORES,
                                    REGRESS_OUTPUTS)
from tfbert.export.session_model import SessionModel
from tfbert.serving.client import DEFAULT_SIGNATURE
from tfbert.serving.model_versions import VersionNotFoundError
from tfbert.serving.served_models import ModelNotFoundError, ServedModels

_CODES = {code.value[0]: code for code in grpc.StatusCode}  # TF and gRPC share the numbers


class RequestError(Exception):
    """Ends a request with the canonical status `code` (a `grpc.StatusCode`) and a message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code


def status_of(error: Exception) -> tuple[grpc.StatusCode, str]:
    """The status code and message for an error raised while answering a request."""
    if isinstance(error, RequestError):
        return error.code, str(error)
    if isinstance(error, (VersionNotFoundError, ModelNotFoundError)):
        return grpc.StatusCode.NOT_FOUND, str(error)
    if isinstance(error, (ValueError, TypeError)):
        return grpc.StatusCode.INVALID_ARGUMENT, str(error)
    if isinstance(error, tf.errors.OpError):
        code = _CODES.get(error.error_code, grpc.StatusCode.INTERNAL)
        return code, error.message.split("\n\t [[")[0]  # drop the graph node dump
    return grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}"


def _invalid(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


class Servable(NamedTuple):
    name: str
    version: int
    model: SessionModel


def _classification_problem(signature) -> str | None:
    """Why TF Serving's Classify cannot run `signature`, or None if it can."""
    if list(signature.inputs) != [CLASSIFY_INPUTS]:
        return f"one input {CLASSIFY_INPUTS!r} is needed; it takes {sorted(signature.inputs)}"
    if len(signature.outputs) not in (1, 2) or not \
            {CLASSIFY_CLASSES, CLASSIFY_SCORES} & set(signature.outputs):
        return (f"one or two outputs, among them {CLASSIFY_CLASSES!r} and/or "
                f"{CLASSIFY_SCORES!r}, are needed; it gives {sorted(signature.outputs)}")
    return None


def _regression_problem(signature) -> str | None:
    """Why TF Serving's Regress cannot run `signature`, or None if it can."""
    if list(signature.inputs) != [CLASSIFY_INPUTS]:
        return f"one input {CLASSIFY_INPUTS!r} is needed; it takes {sorted(signature.inputs)}"
    if list(signature.outputs) != [REGRESS_OUTPUTS]:
        return f"one output {REGRESS_OUTPUTS!r} is needed; it gives {sorted(signature.outputs)}"
    return None


def _serialized_examples(request_input) -> np.ndarray:
    """The request's Examples, serialized; with a context, each is the context's bytes followed
    by the example's (as TF Serving feeds them: the example's features override the context's)."""
    kind = request_input.WhichOneof("kind")
    examples = getattr(request_input, kind).examples if kind else ()
    if not examples:
        raise _invalid("input is empty: give Examples in input.example_list or "
                       "input.example_list_with_context")
    context = (request_input.example_list_with_context.context.SerializeToString()
               if kind == "example_list_with_context" else b"")
    return np.array([context + example.SerializeToString() for example in examples], object)


class ServingCore:
    """Finds models, versions and signatures among `models` (a `ServedModels`) and runs TF
    Serving's requests. A version label (`model_spec.version_label`, `/labels/L` in REST) maps
    to a version through the model's labels."""

    def __init__(self, models: ServedModels):
        self.models = models

    def servable(self, spec) -> Servable:
        """The loaded version `spec` (a ModelSpec) asks for."""
        if not spec.name:
            raise _invalid(f"model_spec.name is empty; this server serves {self.models.names}")
        model = self.models.get(spec.name)
        choice = spec.WhichOneof("version_choice")
        version = None
        if choice == "version":
            version = spec.version.value
        elif choice == "version_label":
            if spec.version_label not in model.labels:  # TF Serving's message, then ours
                raise _invalid(f"Unrecognized servable version label: {spec.version_label} "
                               f"(model {spec.name!r} has labels {sorted(model.labels)})")
            version = model.labels[spec.version_label]
        return Servable(spec.name, *model.versions.get(version))

    def predict(self, servable: Servable, signature_name: str, inputs: Mapping[str, np.ndarray],
                output_filter: Sequence[str] = ()) -> dict[str, np.ndarray]:
        """Runs a signature (default `serving_default`) on named input arrays."""
        name = signature_name or DEFAULT_SIGNATURE
        if name not in servable.model.signatures:
            raise RequestError(grpc.StatusCode.FAILED_PRECONDITION,
                               f"signature {name!r} not found; the model has "
                               f"{sorted(servable.model.signatures)}")
        duplicates = sorted({alias for alias in output_filter if output_filter.count(alias) > 1})
        if duplicates:
            raise _invalid(f"output_filter names {duplicates} more than once")
        return servable.model.run(name, inputs, tuple(output_filter))

    def _signature(self, servable: Servable, spec, api: str, problem: Callable):
        """(name, SignatureDef) for Classify or Regress: INVALID_ARGUMENT for an unknown one
        or one of the wrong form, naming the signatures of the right form."""
        name = spec.signature_name or DEFAULT_SIGNATURE
        signatures = servable.model.signatures
        fitting = sorted(key for key, value in signatures.items() if problem(value) is None)
        offer = (f"this model's {api} signatures are {fitting}" if fitting
                 else f"this model has none for {api}; use Predict")
        if name not in signatures:
            raise _invalid(f"signature {name!r} not found; {offer}")
        why = problem(signatures[name])
        if why:
            raise _invalid(f"{api} cannot run signature {name!r}: {why}; {offer}")
        return name, signatures[name]

    def classify(self, spec, request_input) -> classification_pb2.ClassificationResponse:
        """TF Serving's Classify: label and score of every class for each Example."""
        servable = self.servable(spec)
        name, signature = self._signature(servable, spec, "Classify", _classification_problem)
        examples = _serialized_examples(request_input)
        wanted = [key for key in (CLASSIFY_CLASSES, CLASSIFY_SCORES) if key in signature.outputs]
        outputs = servable.model.run(name, {CLASSIFY_INPUTS: examples}, tuple(wanted))
        classes, scores = outputs.get(CLASSIFY_CLASSES), outputs.get(CLASSIFY_SCORES)
        for key, table, kind in ((CLASSIFY_CLASSES, classes, "O"), (CLASSIFY_SCORES, scores, "f")):
            if table is not None and (table.ndim != 2 or table.dtype.kind != kind
                                      or table.shape[0] != len(examples)):
                raise _invalid(f"output {key!r} of signature {name!r} must be "
                               f"{'string' if kind == 'O' else 'float32'} [{len(examples)}, "
                               f"classes]; got {table.dtype.name} {list(table.shape)}")
        if classes is not None and scores is not None and classes.shape != scores.shape:
            raise _invalid(f"outputs {CLASSIFY_CLASSES!r} {list(classes.shape)} and "
                           f"{CLASSIFY_SCORES!r} {list(scores.shape)} of signature {name!r} "
                           "must have the same shape")
        response = classification_pb2.ClassificationResponse()
        _fill_spec(response.model_spec, servable.name, servable.version, name)
        table = classes if classes is not None else scores
        for row in range(table.shape[0]):
            classifications = response.result.classifications.add()
            for column in range(table.shape[1]):
                answer = classifications.classes.add()
                if classes is not None:
                    answer.label = classes[row, column].decode("utf-8", "replace")
                if scores is not None:
                    answer.score = float(scores[row, column])
        return response

    def regress(self, spec, request_input) -> regression_pb2.RegressionResponse:
        """TF Serving's Regress: one float per Example."""
        servable = self.servable(spec)
        name, _ = self._signature(servable, spec, "Regress", _regression_problem)
        examples = _serialized_examples(request_input)
        values = servable.model.run(name, {CLASSIFY_INPUTS: examples})[REGRESS_OUTPUTS]
        if values.dtype != np.float32 or values.shape not in ((len(examples),),
                                                             (len(examples), 1)):
            raise _invalid(f"output {REGRESS_OUTPUTS!r} of signature {name!r} must be float32 "
                           f"[{len(examples)}] or [{len(examples)}, 1]; got {values.dtype.name} "
                           f"{list(values.shape)}")
        response = regression_pb2.RegressionResponse()
        _fill_spec(response.model_spec, servable.name, servable.version, name)
        for value in values.reshape(-1):
            response.result.regressions.add().value = float(value)
        return response

    def metadata(self, spec,
                 fields: Sequence[str]) -> get_model_metadata_pb2.GetModelMetadataResponse:
        """Every SignatureDef of the version (a SignatureDefMap packed in `Any`)."""
        if not fields or set(fields) != {"signature_def"}:
            raise _invalid(f"metadata_field must be ['signature_def'] (the one field TF Serving "
                           f"supports); got {list(fields)}")
        servable = self.servable(spec)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, definition in servable.model.meta_graph.signature_def.items():
            signature_map.signature_def[name].CopyFrom(definition)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        response.metadata["signature_def"].Pack(signature_map)
        return response

    def status(self, spec) -> get_model_status_pb2.GetModelStatusResponse:
        """The state of each version (newest first), or only of `spec.version`, as TF Serving's
        GetModelStatus: AVAILABLE (served), LOADING, or END (unloaded, or failed to load, with
        the error in `status`). As in TF Serving, a version label is not looked at."""
        try:
            states = self.models.get(spec.name).versions.states()
        except ModelNotFoundError:
            states = {}
        if not states:
            raise RequestError(grpc.StatusCode.NOT_FOUND,
                               f"no version of model {spec.name!r} is loaded")
        if spec.HasField("version"):
            if spec.version.value not in states:
                raise RequestError(grpc.StatusCode.NOT_FOUND,
                                   f"version {spec.version.value} of model {spec.name!r} is "
                                   f"not loaded; its versions are {sorted(states)}")
            states = {spec.version.value: states[spec.version.value]}
        response = get_model_status_pb2.GetModelStatusResponse()
        for version in sorted(states, reverse=True):
            state = states[version]
            status = response.model_version_status.add(version=version)
            status.state = get_model_status_pb2.ModelVersionStatus.State.Value(state.state)
            status.status.SetInParent()  # error_code OK unless it failed, as TF Serving sets it
            status.status.error_code = state.error_code
            status.status.error_message = state.error_message
        return response


def _fill_spec(spec, name: str, version: int, signature: str) -> None:
    spec.name = name
    spec.version.value = version
    spec.signature_name = signature


def _rpc(method: Callable) -> Callable:
    """Wraps a servicer method so that every error becomes a gRPC status, never a crash."""

    def handle(self, request, context):
        try:
            return method(self, request, context)
        except Exception as error:  # noqa: BLE001 - turned into a status for the client
            context.abort(*status_of(error))

    handle.__name__ = method.__name__
    handle.__doc__ = method.__doc__
    return handle


def _tensor(proto, name: str) -> np.ndarray:
    try:
        return tf.make_ndarray(proto)
    except Exception as error:  # a malformed TensorProto
        raise _invalid(f"input {name!r} is not a valid TensorProto: {error}") from error


def _require_spec(request) -> None:
    if not request.HasField("model_spec"):
        raise _invalid("the request has no model_spec")


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """TF Serving's PredictionService on a `ServingCore`."""

    def __init__(self, core: ServingCore):
        self.core = core

    @_rpc
    def Predict(self, request, context):
        """Runs the requested signature on the request's input tensors."""
        servable = self.core.servable(request.model_spec)
        inputs = {name: _tensor(proto, name) for name, proto in request.inputs.items()}
        signature = request.model_spec.signature_name or DEFAULT_SIGNATURE
        outputs = self.core.predict(servable, signature, inputs, list(request.output_filter))
        response = predict_pb2.PredictResponse()
        _fill_spec(response.model_spec, servable.name, servable.version, signature)
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response

    @_rpc
    def Classify(self, request, context):
        """Runs a classification signature on the request's Examples."""
        _require_spec(request)
        return self.core.classify(request.model_spec, request.input)

    @_rpc
    def Regress(self, request, context):
        """Runs a regression signature on the request's Examples."""
        _require_spec(request)
        return self.core.regress(request.model_spec, request.input)

    @_rpc
    def GetModelMetadata(self, request, context):
        """The signature definitions of the model version, as TF Serving returns them."""
        _require_spec(request)
        return self.core.metadata(request.model_spec, list(request.metadata_field))


class ModelStatusServicer(model_service_pb2_grpc.ModelServiceServicer):
    """TF Serving's ModelService.GetModelStatus on a `ServingCore` (no config reloading)."""

    def __init__(self, core: ServingCore):
        self.core = core

    @_rpc
    def GetModelStatus(self, request, context):
        """The state of the model's versions."""
        _require_spec(request)
        return self.core.status(request.model_spec)
