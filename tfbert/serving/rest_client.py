"""`RestClient`: `PredictionClient`'s methods over TF Serving's REST API.

Against `tensorflow_model_server --rest_api_port` and `tfbert serve --rest-api-port` alike, it
returns what `PredictionClient` returns over gRPC: output arrays of the signature's dtypes (the
model's metadata gives them; TF Serving's JSON floats read back to the same float32), string
outputs as `str`. Texts go as JSON strings, bytes as {"b64": ...}; many go in requests of at
most `max_batch_size`, joined as `PredictionClient` joins them. Every failure raises
`ServingError` with the status code that TF Serving's HTTP status stands for (HTTP 400 ->
INVALID_ARGUMENT, 404 -> NOT_FOUND, ...) and the server's message.

>>> client = RestClient("http://127.0.0.1:9", "bert", timeout=0.5)  # nothing listens there
>>> try:
...     client.predict(["hello"])
... except ServingError as error:
...     print(error.code.name)
UNAVAILABLE
"""
from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Sequence

import numpy as np
from grpc import StatusCode

from tfbert.serving.client import (DEFAULT_MAX_BATCH_SIZE, DEFAULT_SIGNATURE, ServingError,
                                   batch_size, check_client_options, concatenate_outputs,
                                   example_api, pair_inputs, request_chunks, signature_inputs)

# The status codes behind TF Serving's HTTP statuses (400, 409 and 500 stand for several).
_CODES = {400: StatusCode.INVALID_ARGUMENT, 401: StatusCode.UNAUTHENTICATED,
          403: StatusCode.PERMISSION_DENIED, 404: StatusCode.NOT_FOUND, 409: StatusCode.ABORTED,
          413: StatusCode.RESOURCE_EXHAUSTED, 429: StatusCode.RESOURCE_EXHAUSTED,
          499: StatusCode.CANCELLED, 500: StatusCode.INTERNAL, 501: StatusCode.UNIMPLEMENTED,
          503: StatusCode.UNAVAILABLE, 504: StatusCode.DEADLINE_EXCEEDED}
_DTYPES = {"DT_FLOAT": "float32", "DT_DOUBLE": "float64", "DT_HALF": "float16"}


def _dtype_name(enum_name: str) -> str:
    """The tf.DType name of a DataType enum name: DT_FLOAT -> float32, DT_INT32 -> int32."""
    return _DTYPES.get(enum_name, enum_name.removeprefix("DT_").lower())


def _texts(values: Sequence[str | bytes], name: str) -> list[str | bytes]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"`{name}` must be a sequence of strings; got {type(values).__name__}")
    if not all(isinstance(v, (str, bytes)) for v in values):
        raise TypeError(f"`{name}` must hold only str or bytes values")
    return list(values)


def _json_value(value):
    """An input value (from `ndarray.tolist()`) as JSON: bytes as {"b64": ...} objects."""
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    return value


def _string_bytes(value):
    """JSON output strings back to the bytes the model gave ({"b64": ...} or text)."""
    if isinstance(value, list):
        return [_string_bytes(v) for v in value]
    if isinstance(value, dict):
        return base64.b64decode(value["b64"])
    return value.encode("utf-8", "surrogateescape")


def _text(value: np.ndarray) -> np.ndarray:
    """Like `PredictionClient.predict`: bytes -> str (invalid UTF-8 replaced)."""
    if value.dtype == object and value.size:
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(value)
    return value


class RestClient:
    """Calls the model `model_name` served at `url` ("http://host:port") over REST.

    `timeout` (seconds) bounds every call; `version` pins a model version, or `version_label`
    one of its labels (default: the latest the server serves); `max_batch_size` caps the
    texts (or examples) of one request, as for `PredictionClient`. The signature metadata is
    fetched once and kept (one HTTP request per predict call); it is fetched again after a
    call fails. (TF Serving's REST answers do not say which version answered: without a pinned
    version, a new version whose signatures differ shows as one failed call.)
    """

    def __init__(self, url: str, model_name: str, timeout: float = 30.0,
                 version: int | None = None, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
                 version_label: str | None = None):
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"`url` must be 'http://host:port'; got {url!r}")
        check_client_options(timeout, max_batch_size, version, version_label)
        self.max_batch_size = max_batch_size
        self.url = url.rstrip("/")
        self.model_name = model_name
        self.timeout = timeout
        self.version = version
        self.version_label = version_label
        self._model_url = f"{self.url}/v1/models/{urllib.parse.quote(model_name, safe='')}" + (
            f"/versions/{version}" if version is not None else
            f"/labels/{urllib.parse.quote(version_label, safe='')}" if version_label is not None
            else "")
        self._signatures: dict | None = None  # the last metadata() answer

    def _call(self, suffix: str, payload: dict | None = None, part: str = ""):
        """The JSON answer of GET (no payload) or POST `payload` to the model URL + `suffix`
        (`part`: which texts it carries, for error messages); a failure also forgets the
        kept metadata."""
        try:
            return self._send(suffix, payload, part)
        except ServingError:
            self._signatures = None
            raise

    def _send(self, suffix: str, payload: dict | None, part: str):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self._model_url + suffix, data=data,
                                         headers={"Content-Type": "application/json"})
        where = f"{self.url}, model {self.model_name!r}{part}"
        timeout = ServingError(StatusCode.DEADLINE_EXCEEDED,
                               f"no answer from {where} within {self.timeout:g} s (timeout)")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                message = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                message = text.strip() or error.reason
            code = _CODES.get(error.code, StatusCode.UNKNOWN)
            raise ServingError(code, f"{where}: {code.name}: {message} (HTTP {error.code})") \
                from None
        except TimeoutError:
            raise timeout from None
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                raise timeout from None
            raise ServingError(StatusCode.UNAVAILABLE, f"cannot reach {where}: {reason}") \
                from None
        try:
            return json.loads(body.decode("utf-8", "surrogateescape"))
        except ValueError:
            raise ServingError(StatusCode.UNKNOWN, f"{where}: the answer is not JSON: "
                                                   f"{body[:200]!r}") from None

    @property
    def _where(self) -> str:
        return f"{self.url}, model {self.model_name!r}"

    def _signature(self, signatures: dict, signature: str) -> dict:
        """`signature`'s entry of a `metadata()` answer (FAILED_PRECONDITION if unknown)."""
        signature_inputs(signatures, signature, self._where)
        return signatures[signature]

    def _arrays(self, answer, outputs: dict) -> dict[str, np.ndarray]:
        """The "outputs" of a columnar predict answer as arrays of the signature's dtypes."""
        if len(outputs) == 1:
            answer = {next(iter(outputs)): answer}
        arrays = {}
        for name, value in answer.items():
            info = outputs[name]
            if info["dtype"] == "string":
                array = np.array(_string_bytes(value), object)
            else:
                array = np.array(value, info["dtype"])
            if array.size == 0 and info["shape"] and None not in info["shape"][1:]:
                array = array.reshape([0, *info["shape"][1:]])  # JSON has no shape for []
            arrays[name] = array
        return arrays

    def _metadata(self) -> dict[str, dict]:
        """`metadata()`, from the last fetch while it holds."""
        return self._signatures if self._signatures is not None else self.metadata()

    def _predict(self, inputs: dict[str, np.ndarray], signature: str,
                 signatures: dict) -> dict[str, np.ndarray]:
        try:
            return self._predict_with(inputs, signature, signatures)
        except Exception:  # e.g. an answer that no longer fits the kept signatures
            self._signatures = None
            raise

    def _predict_with(self, inputs: dict[str, np.ndarray], signature: str,
                      signatures: dict) -> dict[str, np.ndarray]:
        outputs = self._signature(signatures, signature)["outputs"]
        arrays = {name: np.asarray(value) for name, value in inputs.items()}
        chunks, starts = [], []
        for start, stop, part in request_chunks(batch_size(arrays), self.max_batch_size):
            payload = {"signature_name": signature,
                       "inputs": {name: _json_value(value[start:stop].tolist())
                                  for name, value in arrays.items()}}
            answer = self._call(":predict", payload, part)["outputs"]
            chunks.append(self._arrays(answer, outputs))
            starts.append(start)
        return concatenate_outputs(chunks, starts)

    def predict_tensors(self, inputs: dict[str, np.ndarray],
                        signature: str = DEFAULT_SIGNATURE) -> dict[str, np.ndarray]:
        """Runs `signature` on named input arrays; returns the output arrays as served
        (strings as bytes)."""
        return self._predict(inputs, signature, self._metadata())

    def predict(self, texts: Sequence[str | bytes], signature: str | None = None,
                text_pair: Sequence[str | bytes] | None = None) -> dict[str, np.ndarray]:
        """Outputs of the model for `texts` (and `text_pair`), as `PredictionClient.predict`:
        `signature` defaults to `serving_default`, or with pairs to `text_pair` where the model
        has it; string outputs come back as `str` arrays, numbers as NumPy arrays."""
        texts = _texts(texts, "texts")
        signatures = self._metadata()
        if text_pair is None:
            signature = signature or DEFAULT_SIGNATURE
            inputs = {"text": np.array(texts, object)}
        else:
            text_pair = _texts(text_pair, "text_pair")
            if len(texts) != len(text_pair):
                raise ValueError(f"`texts` and `text_pair` must have the same length; got "
                                 f"{len(texts)} and {len(text_pair)}")
            signature = signature or ("text_pair" if "text_pair" in signatures
                                      else DEFAULT_SIGNATURE)
            pair = pair_inputs(signatures, signature, self._where)
            inputs = dict(zip(pair, (np.array(texts, object), np.array(text_pair, object))))
        outputs = self._predict(inputs, signature, signatures)
        return {name: _text(value) for name, value in outputs.items()}

    def example_api(self, signature: str) -> str | None:
        """"classify" or "regress": the API that runs `signature` on tf.Examples; None for a
        Predict signature (as `PredictionClient.example_api`)."""
        return example_api(self._metadata(), signature, self._where)

    def _results(self, method: str, signature: str, texts, text_pair) -> list:
        """The "results" of the classify or regress API for Examples with features `text` (or
        `text_a`, `text_b`), in requests of at most `max_batch_size` examples."""
        columns = {"text": _texts(texts, "texts")} if text_pair is None else {
            "text_a": _texts(texts, "texts"), "text_b": _texts(text_pair, "text_pair")}
        if len({len(values) for values in columns.values()}) > 1:
            raise ValueError(f"`texts` and `text_pair` must have the same length; got "
                             f"{len(columns['text_a'])} and {len(columns['text_b'])}")
        examples = [dict(zip(columns, map(_json_value, row))) for row in zip(*columns.values())]
        results = []
        for start, stop, part in request_chunks(len(examples), self.max_batch_size):
            payload = {"signature_name": signature, "examples": examples[start:stop]}
            results += self._call(method, payload, part)["results"]
        return results

    def classify(self, texts: Sequence[str | bytes],
                 text_pair: Sequence[str | bytes] | None = None,
                 signature: str | None = None) -> list[dict[str, float]]:
        """Label -> score for each text (or pair), through the classify API: the `classify`
        (or `classify_pair`) signature, on Examples with features `text` (or `text_a`,
        `text_b`)."""
        signature = signature or ("classify" if text_pair is None else "classify_pair")
        return [{label: float(np.float32(score)) for label, score in row}
                for row in self._results(":classify", signature, texts, text_pair)]

    def regress(self, texts: Sequence[str | bytes],
                text_pair: Sequence[str | bytes] | None = None,
                signature: str | None = None) -> list[float]:
        """One value per text (or pair), through the regress API: the `regress` (or
        `regress_pair`) signature, on Examples with features `text` (or `text_a`, `text_b`)."""
        signature = signature or ("regress" if text_pair is None else "regress_pair")
        return [float(np.float32(value))
                for value in self._results(":regress", signature, texts, text_pair)]

    def metadata(self) -> dict[str, dict]:
        """Signature name -> {"inputs": {name: {dtype, shape}}, "outputs": {...}}, fetched from
        the server (and kept for the calls that need it)."""
        answer = self._call("/metadata")["metadata"]["signature_def"]["signature_def"]

        def describe(tensors: dict) -> dict:
            return {name: {"dtype": _dtype_name(info["dtype"]),
                           "shape": None if info["tensor_shape"].get("unknown_rank") else
                           [None if int(d["size"]) == -1 else int(d["size"])
                            for d in info["tensor_shape"].get("dim", [])]}
                    for name, info in sorted(tensors.items())}

        self._signatures = {name: {"inputs": describe(d.get("inputs", {})),
                                   "outputs": describe(d.get("outputs", {}))}
                            for name, d in sorted(answer.items())
                            if name != "__saved_model_init_op"}
        return self._signatures

    def close(self) -> None:
        """Nothing to free (every call opens its own connection); for `with` symmetry."""

    def __enter__(self) -> "RestClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
