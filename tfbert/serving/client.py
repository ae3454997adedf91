"""`PredictionClient`: raw text in, NumPy / Python values out, over TF Serving's gRPC API.

The same client talks to `tensorflow_model_server` and to `tfbert serve`: it only uses the
PredictionService (`Predict`, `GetModelMetadata`, `Classify`, `Regress`). Every failure raises
`ServingError` with the gRPC status code and a message naming the server and the model;
a server that does not answer within `timeout` seconds, or cannot be reached, says so.

Many texts go in requests of at most `max_batch_size` (default 32, the `max_batch_size` of
pipelines/serving/batching_parameters.txt: TF Serving refuses a larger request with
INVALID_ARGUMENT "Task size N is larger than maximum input batch size 32"), one after the
other, and the answers are put back together in order as if one request had been sent
(`concatenate_outputs`).

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
                                     prediction_service_pb2_grpc, regression_pb2)

DEFAULT_SIGNATURE = "serving_default"
# The input names of the signatures that take two texts: pairs, and qa's question with context.
PAIR_INPUTS = (("text_a", "text_b"), ("question", "context"))
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a batch of long texts exceeds gRPC's 4 MB default
DEFAULT_MAX_BATCH_SIZE = 32  # max_batch_size of pipelines/serving/batching_parameters.txt
# How the exports pad outputs whose width depends on the request (e.g. the entities [B, E] of
# tag, the masks [B, M, k] of mlm, the features [B, T] of preprocess): -1 in these positions,
# offsets and ids; [PAD] in input_word_ids; "" / 0 / 0.0 / False everywhere else.
MINUS_ONE_PADDED = frozenset({"mask_positions", "top_k_ids", "entity_starts", "entity_ends",
                              "token_start", "token_end"})
# Outputs that give the input row of each output row: tag and qa `preprocess` return one row
# per window, and these say which text (or question) the window belongs to.
ROW_INDEX_OUTPUTS = frozenset({"text_index", "window_example"})


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


def _array(value) -> np.ndarray:
    """`value` as an array to send; text as an object array (NumPy's fixed-width string
    arrays would drop trailing NUL bytes)."""
    array = np.asarray(value)
    return np.asarray(value, object) if array.dtype.kind in "SU" else array


def _fill(name: str, value: np.ndarray, pad_id: int):
    """What output `name` (of `value`'s dtype) is padded with; see MINUS_ONE_PADDED."""
    if name in MINUS_ONE_PADDED:
        return -1
    if name == "input_word_ids":
        return pad_id
    return b"" if value.dtype == object else np.zeros((), value.dtype)


def _pad_id(chunks: Sequence[dict[str, np.ndarray]]) -> int:
    """The [PAD] id: input_word_ids where input_mask is 0 (BERT's 0 if no chunk has padding)."""
    for outputs in chunks:
        if "input_word_ids" in outputs and "input_mask" in outputs:
            padded = outputs["input_word_ids"][outputs["input_mask"] == 0]
            if padded.size:
                return int(padded[0])
    return 0


def concatenate_outputs(chunks: Sequence[dict[str, np.ndarray]],
                        starts: Sequence[int]) -> dict[str, np.ndarray]:
    """The outputs of one request for all the texts, from the outputs of requests for
    consecutive chunks of them (`starts`: the index of each chunk's first text).

    Arrays are joined along the batch axis; an output padded to its request's widest row (E
    entities, M masks, T tokens) is first padded to the widest chunk, with what the exports pad
    with (-1 for MINUS_ONE_PADDED, [PAD] for input_word_ids, "" / 0 / False otherwise), and a
    ROW_INDEX_OUTPUTS value is shifted by its chunk's start.

    >>> first = {"entity_texts": np.array([[b"Ann"]], object),
    ...          "entity_starts": np.array([[0]], np.int32)}
    >>> second = {"entity_texts": np.array([[b"Bob", b"Kim"]], object),
    ...           "entity_starts": np.array([[4, 8]], np.int32)}
    >>> joined = concatenate_outputs([first, second], [0, 1])
    >>> joined["entity_texts"].tolist(), joined["entity_starts"].tolist()
    ([[b'Ann', b''], [b'Bob', b'Kim']], [[0, -1], [4, 8]])
    """
    if len(chunks) != len(starts) or not chunks:
        raise ValueError(f"`chunks` and `starts` must be as long, and not empty; got "
                         f"{len(chunks)} and {len(starts)}")
    if len(chunks) == 1:
        return dict(chunks[0])
    pad_id = _pad_id(chunks)
    joined = {}
    for name in chunks[0]:
        values = [np.asarray(outputs[name]) for outputs in chunks]
        if name in ROW_INDEX_OUTPUTS:
            values = [value + start for value, start in zip(values, starts)]
        widest = np.max([value.shape[1:] for value in values], axis=0).astype(int).tolist()
        padded = []
        for value in values:
            if list(value.shape[1:]) != widest:
                full = np.full([len(value), *widest], _fill(name, value, pad_id), value.dtype)
                full[tuple(slice(0, size) for size in value.shape)] = value
                value = full
            padded.append(value)
        joined[name] = np.concatenate(padded)
    return joined


def check_client_options(timeout: float, max_batch_size: int, version: int | None = None,
                         version_label: str | None = None) -> None:
    """The options both clients share: a positive `timeout` and `max_batch_size`, and at most
    one of `version` and `version_label` (a non-empty string)."""
    if version is not None and version_label is not None:
        raise ValueError(f"give `version` or `version_label`, not both; got {version!r} and "
                         f"{version_label!r}")
    if version_label is not None and (not isinstance(version_label, str) or not version_label):
        raise ValueError(f"`version_label` must be a non-empty string; got {version_label!r}")
    if timeout <= 0:
        raise ValueError(f"`timeout` must be positive; got {timeout!r}")
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or \
            max_batch_size < 1:
        raise ValueError(f"`max_batch_size` must be a positive int; got {max_batch_size!r}")


def request_chunks(size: int, max_batch_size: int) -> list[tuple[int, int, str]]:
    """(start, stop, description) of the requests for `size` rows of at most
    `max_batch_size` each (one request for none; no description when there is one).

    >>> request_chunks(5, 2)[-1]
    (4, 5, ' (request 3 of 3: texts 4-4 of 5)')
    """
    bounds = [(start, min(start + max_batch_size, size))
              for start in range(0, max(size, 1), max_batch_size)]
    if len(bounds) == 1:
        return [(0, size, "")]
    return [(start, stop, (f" (request {index + 1} of {len(bounds)}: texts {start}-"
                           f"{stop - 1} of {size})"))
            for index, (start, stop) in enumerate(bounds)]


def batch_size(arrays: dict[str, np.ndarray]) -> int:
    """The one batch size that every input array has first (0 for no inputs)."""
    sizes = {name: (len(value) if value.ndim else None) for name, value in arrays.items()}
    if None in sizes.values() or len(set(sizes.values())) > 1:
        raise ValueError(f"the inputs must be arrays with one batch size first; got first "
                         f"dimensions {sizes}")
    return next(iter(sizes.values()), 0)


def signature_inputs(signatures: dict, signature: str, where: str) -> list[str]:
    """The input names of `signature` in a `metadata()` answer, or FAILED_PRECONDITION as TF
    Serving answers an unknown signature (`where` names the server and model)."""
    if signature not in signatures:
        raise ServingError(grpc.StatusCode.FAILED_PRECONDITION,
                           f"{where}: signature {signature!r} not found; it has "
                           f"{sorted(signatures)}")
    return list(signatures[signature]["inputs"])


def example_api(signatures: dict, signature: str, where: str) -> str | None:
    """The API that runs `signature` on tf.Examples, as TF Serving tells them apart: "regress"
    (one input `inputs`, one output `outputs`), "classify" (one input `inputs`, other
    outputs), or None (a Predict signature)."""
    if signature_inputs(signatures, signature, where) != ["inputs"]:
        return None
    return "regress" if list(signatures[signature]["outputs"]) == ["outputs"] else "classify"


def example_columns(texts, text_pair) -> dict[str, np.ndarray]:
    """The Example features of `texts` (`text`) or of pairs (`text_a`, `text_b`)."""
    columns = {"text": _texts(texts, "texts")} if text_pair is None else {
        "text_a": _texts(texts, "texts"), "text_b": _texts(text_pair, "text_pair")}
    if len({len(values) for values in columns.values()}) > 1:
        raise ValueError(f"`texts` and `text_pair` must have the same length; got "
                         f"{len(columns['text_a'])} and {len(columns['text_b'])}")
    return columns


def pair_inputs(signatures: dict, signature: str, where: str) -> tuple[str, str]:
    """The two input names (`PAIR_INPUTS`) that take a pair of texts in `signature`."""
    names = set(signature_inputs(signatures, signature, where))
    for pair in PAIR_INPUTS:
        if names == set(pair):
            return pair
    raise ServingError(grpc.StatusCode.INVALID_ARGUMENT,
                       f"{where}: signature {signature!r} takes {sorted(names)}, not a pair "
                       "of texts")


class PredictionClient:
    """Calls the model `model_name` served at `server` ("host:port") over gRPC.

    `timeout` (seconds) bounds every call; `version` pins a model version, or `version_label`
    one of the model's version labels (default: the latest the server serves). The signature
    metadata is fetched once and kept; it is fetched again after a call fails or once an
    answer comes from another version. `max_batch_size` caps the texts (or examples) of one
    request: more are sent in consecutive requests of that many, each with its own `timeout`,
    and the answers joined in order (`concatenate_outputs`); it must not exceed the server's
    `max_batch_size` (TF Serving's batching parameters).
    """

    def __init__(self, server: str, model_name: str, timeout: float = 30.0,
                 version: int | None = None, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
                 version_label: str | None = None):
        if not isinstance(server, str) or ":" not in server:
            raise ValueError(f"`server` must be 'host:port'; got {server!r}")
        check_client_options(timeout, max_batch_size, version, version_label)
        self.server = server
        self.model_name = model_name
        self.timeout = timeout
        self.version = version
        self.version_label = version_label
        self._signatures: tuple[int, dict] | None = None  # (version, metadata()) last fetched
        self.max_batch_size = max_batch_size
        self._channel = grpc.insecure_channel(server, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)])
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def _spec(self, spec, signature: str | None = None) -> None:
        spec.name = self.model_name
        if self.version is not None:
            spec.version.value = self.version
        if self.version_label is not None:
            spec.version_label = self.version_label
        if signature:
            spec.signature_name = signature

    def _call(self, method, request, part: str = ""):
        """`method(request)`; a failure raises ServingError (`part`: which texts it carried)."""
        try:
            response = method(request, timeout=self.timeout)
        except grpc.RpcError as error:
            self._signatures = None
            code = error.code()
            where = f"{self.server}, model {self.model_name!r}{part}"
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                message = f"no answer from {where} within {self.timeout:g} s (timeout)"
            elif code == grpc.StatusCode.UNAVAILABLE:
                message = f"cannot reach {where}: {error.details()}"
            else:
                message = f"{where}: {code.name}: {error.details()}"
            raise ServingError(code, message) from None
        if self._signatures and self._signatures[0] != response.model_spec.version.value:
            self._signatures = None  # another version answered: its signatures may differ
        return response

    def _metadata(self) -> dict[str, dict]:
        """`metadata()`, from the last fetch while it holds."""
        return self._signatures[1] if self._signatures else self.metadata()

    def predict_tensors(self, inputs: dict[str, np.ndarray],
                        signature: str = DEFAULT_SIGNATURE) -> dict[str, np.ndarray]:
        """Runs `signature` on named input arrays (batch first, all the same batch size), in
        requests of at most `max_batch_size` rows; returns the output arrays as one request
        would (`concatenate_outputs`)."""
        arrays = {name: _array(value) for name, value in inputs.items()}
        chunks, starts = [], []
        for start, stop, part in request_chunks(batch_size(arrays), self.max_batch_size):
            request = predict_pb2.PredictRequest()
            self._spec(request.model_spec, signature)
            for name, value in arrays.items():
                request.inputs[name].CopyFrom(tf.make_tensor_proto(value[start:stop]))
            response = self._call(self._stub.Predict, request, part)
            chunks.append({name: tf.make_ndarray(proto)
                           for name, proto in response.outputs.items()})
            starts.append(start)
        return concatenate_outputs(chunks, starts)

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
            signatures = self._metadata()
            signature = signature or ("text_pair" if "text_pair" in signatures
                                      else DEFAULT_SIGNATURE)
            names = pair_inputs(signatures, signature, self._where)
            inputs = dict(zip(names, (first, second)))
        outputs = self.predict_tensors(inputs, signature)
        return {name: _python(value) for name, value in outputs.items()}

    @property
    def _where(self) -> str:
        return f"{self.server}, model {self.model_name!r}"

    def example_api(self, signature: str) -> str | None:
        """"classify" or "regress": the API that runs `signature` on tf.Examples; None for a
        Predict signature (see `example_api`)."""
        return example_api(self._metadata(), signature, self._where)

    def _example_responses(self, method, request, texts, text_pair) -> list:
        """`method`'s responses to `request` (a Classify or Regress request) sent with the
        Examples of `texts` (or pairs), at most `max_batch_size` a request."""
        columns = example_columns(texts, text_pair)
        responses = []
        for start, stop, part in request_chunks(len(next(iter(columns.values()))),
                                                self.max_batch_size):
            del request.input.example_list.examples[:]
            for row in range(start, stop):
                example = request.input.example_list.examples.add()
                for name, values in columns.items():
                    example.features.feature[name].bytes_list.value.append(values[row])
            responses.append(self._call(method, request, part))
        return responses

    def classify(self, texts: Sequence[str | bytes],
                 text_pair: Sequence[str | bytes] | None = None,
                 signature: str | None = None) -> list[dict[str, float]]:
        """Label -> score for each text (or pair), through the Classify API: the `classify`
        (or `classify_pair`) signature of a classification export, on tf.Examples whose
        features are `text` (or `text_a`, `text_b`), at most `max_batch_size` a request."""
        request = classification_pb2.ClassificationRequest()
        self._spec(request.model_spec,
                   signature or ("classify" if text_pair is None else "classify_pair"))
        return [{c.label: c.score for c in result.classes}
                for response in self._example_responses(self._stub.Classify, request, texts,
                                                        text_pair)
                for result in response.result.classifications]

    def regress(self, texts: Sequence[str | bytes],
                text_pair: Sequence[str | bytes] | None = None,
                signature: str | None = None) -> list[float]:
        """One value per text (or pair), through the Regress API: the `regress` (or
        `regress_pair`) signature of a regression export, on tf.Examples whose features are
        `text` (or `text_a`, `text_b`), at most `max_batch_size` a request."""
        request = regression_pb2.RegressionRequest()
        self._spec(request.model_spec,
                   signature or ("regress" if text_pair is None else "regress_pair"))
        return [regression.value
                for response in self._example_responses(self._stub.Regress, request, texts,
                                                        text_pair)
                for regression in response.result.regressions]

    def metadata(self) -> dict[str, dict]:
        """Signature name -> {"inputs": {name: {dtype, shape}}, "outputs": {...}}, fetched from
        the server (and kept for the calls that need it)."""
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

        signatures = {name: {"inputs": describe(d.inputs), "outputs": describe(d.outputs)}
                      for name, d in sorted(signature_map.signature_def.items())
                      if name != "__saved_model_init_op"}
        self._signatures = (response.model_spec.version.value, signatures)
        return signatures

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "PredictionClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
