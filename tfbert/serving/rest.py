"""`RestServer`: TF Serving's REST API (its `--rest_api_port`) on a `ServingCore`.

    POST /v1/models/NAME[/versions/N | /labels/L]:predict    (or :classify, :regress)
    GET  /v1/models/NAME[/versions/N | /labels/L]            GetModelStatus, as JSON
    GET  /v1/models/NAME[/versions/N | /labels/L]/metadata   GetModelMetadata, as JSON

Predict takes "instances" (row format: one entry per example, an object of input name ->
value when the signature has several inputs) or "inputs" (columnar: a value, or an object of
input name -> value), and an optional "signature_name"; it answers "predictions" or "outputs"
in the same format. Any string value may be sent as {"b64": "..."}; string outputs whose name
ends in "_bytes" come back that way, the others as JSON strings. Floats are written as TF
Serving writes them (six significant digits when that reads back exactly, otherwise nine).
Classify and Regress take "examples" (objects of feature name -> value or list of values) and
an optional "context" shared by all of them, and answer "results". As in TF Serving, unknown
top-level fields are ignored. Errors come back as {"error": "..."} with TF Serving's HTTP
status for the status code (400 INVALID_ARGUMENT and FAILED_PRECONDITION, 404 NOT_FOUND,
501 UNIMPLEMENTED, 500 INTERNAL, ...); a body over `max_body_bytes` gets 413.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
import socket
import socketserver
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import numpy as np
import tensorflow as tf
from google.protobuf import json_format
from grpc import StatusCode
from tensorflow_serving.apis import get_model_metadata_pb2, input_pb2, model_pb2

from tfbert.serving.client import DEFAULT_SIGNATURE, MAX_MESSAGE_BYTES
from tfbert.serving.server import RequestError, ServingCore, status_of

HTTP_STATUS = {  # TF Serving's model_servers/http_server.cc, ToHTTPStatusCode
    StatusCode.OK: 200, StatusCode.CANCELLED: 499, StatusCode.UNKNOWN: 500,
    StatusCode.INVALID_ARGUMENT: 400, StatusCode.DEADLINE_EXCEEDED: 504,
    StatusCode.NOT_FOUND: 404, StatusCode.ALREADY_EXISTS: 409,
    StatusCode.PERMISSION_DENIED: 403, StatusCode.RESOURCE_EXHAUSTED: 429,
    StatusCode.FAILED_PRECONDITION: 400, StatusCode.ABORTED: 409, StatusCode.OUT_OF_RANGE: 400,
    StatusCode.UNIMPLEMENTED: 501, StatusCode.INTERNAL: 500, StatusCode.UNAVAILABLE: 503,
    StatusCode.DATA_LOSS: 500, StatusCode.UNAUTHENTICATED: 401}
# The tensor types TF Serving reads from and writes to JSON.
_JSON_DTYPES = {tf.float32, tf.float64, tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8,
                tf.uint32, tf.uint64, tf.bool, tf.string}
_API = re.compile(r"/v1/.*", re.IGNORECASE | re.DOTALL)
_VERSION = r"(?:/versions/([0-9]+)|/labels/([^/:]+))?"
_CALL = re.compile(r"/v1/models/([^/:]+)" + _VERSION + r":(classify|regress|predict)",
                   re.IGNORECASE)
_GET = re.compile(r"/v1/models(?:/([^/:]+))?" + _VERSION + r"(?:/(metadata))?", re.IGNORECASE)
_DECODER = json.JSONDecoder()


def _invalid(message: str) -> RequestError:
    return RequestError(StatusCode.INVALID_ARGUMENT, message)


def _kind(value) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}[type(value)]


def _show(value) -> str:
    """A short description of a JSON value for an error message."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"an object with keys {sorted(value)[:8]}"
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_b64(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_object(value) -> bool:
    return isinstance(value, dict) and not _is_b64(value)


def _bytes(value, where: str) -> bytes:
    """A JSON string (as UTF-8) or {"b64": ...} object as bytes."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape")  # bytes that were not UTF-8 stay
        except UnicodeEncodeError:
            raise _invalid(f"{where}: the string has an unpaired surrogate escape") from None
    try:
        text = value["b64"]
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{where}: {_show(value['b64'])} is not valid base64") from None


def _document(body: bytes) -> dict:
    """The request body as a JSON object (NaN and Infinity allowed; trailing text ignored, as
    TF Serving's parser stops after the first value)."""
    text = body.decode("utf-8", "surrogateescape")
    start = len(text) - len(text.lstrip(" \t\n\r"))
    if start == len(text):
        raise _invalid("JSON parse error: the request body is empty")
    try:
        document, _ = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise _invalid(f"JSON parse error: {error.msg} at offset {error.pos}") from None
    except RecursionError:
        raise _invalid("JSON parse error: the document is nested too deeply") from None
    if not isinstance(document, dict):
        raise _invalid(f"the request body must be a JSON object; got {_kind(document)} "
                       f"{_show(document)}")
    signature = document.get("signature_name", "")
    if not isinstance(signature, str):
        raise _invalid(f"'signature_name' must be a string; got {_kind(signature)} "
                       f"{_show(signature)}")
    return document


def _scalar(value, dtype: tf.DType, where: str):
    """One JSON value as a value of `dtype`, or INVALID_ARGUMENT saying why not."""
    if dtype == tf.string:
        if isinstance(value, str) or _is_b64(value):
            return _bytes(value, where)
        if isinstance(value, dict):
            raise _invalid(f"{where}: {_show(value)} is neither a string nor a "
                           '{"b64": "..."} object')
    elif dtype == tf.bool:
        if isinstance(value, bool):
            return value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if dtype.is_floating:
            try:
                return float(value)
            except OverflowError:
                raise _invalid(f"{where}: {value} is too large for {dtype.name}") from None
        if isinstance(value, int):
            if dtype.min <= value <= dtype.max:
                return value
            raise _invalid(f"{where}: {value} is out of the range of {dtype.name}")
    raise _invalid(f"{where}: {_kind(value)} {_show(value)} is not a {dtype.name} value")


def _dense(value, dtype_enum: int, where: str) -> np.ndarray:
    """A JSON value or (nested) list as an array of the tensor type: the first entries give
    the shape, every list must match it (no ragged lists)."""
    dtype = tf.dtypes.as_dtype(dtype_enum)
    if dtype not in _JSON_DTYPES:
        raise RequestError(StatusCode.UNIMPLEMENTED,
                           f"{where}: a {dtype.name} input cannot be given in JSON")
    shape, probe = [], value
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    flat = []

    def fill(item, depth: int) -> None:
        if isinstance(item, list):
            if depth == len(shape) or len(item) != shape[depth]:
                raise _invalid(f"{where}: ragged lists: a list of {len(item)} at depth "
                               f"{depth + 1}, but the first entries give shape {shape}")
            for element in item:
                fill(element, depth + 1)
        elif depth != len(shape):
            raise _invalid(f"{where}: ragged lists: {_show(item)} at depth {depth + 1}, but the "
                           f"first entries give shape {shape}")
        else:
            flat.append(_scalar(item, dtype, where))

    try:
        fill(value, 0)
    except RecursionError:
        raise _invalid(f"{where}: the lists are nested too deeply") from None
    numpy_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
    return np.array(flat, dtype=numpy_dtype).reshape(shape)


def _row_inputs(instances, infos) -> dict[str, np.ndarray]:
    """Input arrays from "instances": entry i is row i of every input."""
    if not isinstance(instances, list):
        raise _invalid(f"'instances' must be a list; got {_kind(instances)} {_show(instances)}")
    if not instances:
        raise _invalid("'instances' is empty; give at least one instance (or an empty batch "
                       "in the columnar 'inputs' format)")
    named = _is_object(instances[0])
    if not named and len(infos) > 1:
        raise _invalid(f"'instances' holds plain values, but the signature takes the inputs "
                       f"{sorted(infos)}: give each instance as an object with those keys")
    columns: dict[str, list[np.ndarray]] = {name: [] for name in infos}
    for index, instance in enumerate(instances):
        if _is_object(instance) != named:
            raise _invalid(f"instances[{index}] is {'not ' if named else ''}an object, unlike "
                           "instances[0]")
        items = instance if named else {next(iter(infos)): instance}
        if set(items) != set(infos):
            raise _invalid(f"instances[{index}] has the keys {sorted(items)}; the signature's "
                           f"inputs are {sorted(infos)}")
        for name, value in items.items():
            where = f"instances[{index}]" + (f"[{name!r}]" if named else "")
            array = _dense(value, infos[name].dtype, where)
            if columns[name] and columns[name][0].shape != array.shape:
                raise _invalid(f"{where} has shape {list(array.shape)}, but instances[0] has "
                               f"{list(columns[name][0].shape)}; every instance must have the "
                               "same shape (or use the columnar 'inputs' format)")
            columns[name].append(array)
    return {name: np.stack(arrays) for name, arrays in columns.items()}


def _columnar_inputs(inputs, infos) -> dict[str, np.ndarray]:
    """Input arrays from "inputs": one value, or an object of input name -> value (names the
    signature does not take are ignored, as in TF Serving)."""
    if not _is_object(inputs):
        if len(infos) > 1:
            raise _invalid(f"'inputs' is a single value, but the signature takes the inputs "
                           f"{sorted(infos)}: give an object with those keys")
        name = next(iter(infos))
        return {name: _dense(inputs, infos[name].dtype, "'inputs'")}
    missing = sorted(set(infos) - set(inputs))
    if missing:
        raise _invalid(f"'inputs' lacks {missing}; the signature's inputs are {sorted(infos)}")
    return {name: _dense(inputs[name], info.dtype, f"inputs[{name!r}]")
            for name, info in infos.items()}


def _decimal(value: float, digits: int, parse: Callable) -> str:
    """A float as TF Serving writes it: %g when that reads back exactly, else `digits`
    significant digits; whole numbers get ".0"; NaN and Infinity as bare tokens."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = "%g" % value
    if parse(text) != value:
        text = "%.*g" % (digits, value)
    return text if "." in text or "e" in text else text + ".0"


def _float32(value: float) -> str:
    return _decimal(value, 9, np.float32)


def _tensor_json(name: str, array: np.ndarray) -> list | str:
    """The JSON text of each row of `array` (or of the scalar)."""
    if array.dtype == object:
        if name.endswith("_bytes"):
            def write(item):
                return '{"b64": "%s"}' % base64.b64encode(item).decode("ascii")
        else:
            def write(item):
                return json.dumps(item.decode("utf-8", "surrogateescape"), ensure_ascii=False)
    elif array.dtype == np.float32:
        write = _float32
    elif array.dtype == np.float64:
        def write(item):
            return _decimal(item, 17, float)
    elif array.dtype == np.bool_:
        write = json.dumps
    elif array.dtype.kind in "iu":
        write = str
    else:
        raise _invalid(f"output {name!r} has type {array.dtype.name}, which JSON cannot carry")

    def nested(item) -> str:
        return "[" + ", ".join(map(nested, item)) + "]" if isinstance(item, list) else write(item)

    values = array.tolist()
    return [nested(row) for row in values] if isinstance(values, list) else nested(values)


def _predict_json(outputs: dict[str, np.ndarray], row_format: bool) -> str:
    if not outputs:
        raise _invalid("the signature has no outputs to answer with")
    names = sorted(outputs)
    if not row_format:
        texts = {}
        for name in names:
            rows = _tensor_json(name, outputs[name])
            texts[name] = "[" + ", ".join(rows) + "]" if isinstance(rows, list) else rows
        body = texts[names[0]] if len(names) == 1 else "{\n        " + ",\n        ".join(
            f"{json.dumps(name)}: {texts[name]}" for name in names) + "\n    }"
        return '{\n    "outputs": ' + body + "\n}\n"
    sizes = {name: outputs[name].shape[:1] for name in names}
    if len(set(sizes.values())) > 1 or () in sizes.values():
        raise _invalid(f"the outputs' batch sizes differ or are missing ({sizes}); the row "
                       "format ('instances') needs one for all: use the columnar 'inputs' format")
    columns = {name: _tensor_json(name, outputs[name]) for name in names}
    rows = columns[names[0]] if len(names) == 1 else [
        "{" + ", ".join(f"{json.dumps(name)}: {columns[name][i]}" for name in names) + "}"
        for i in range(len(outputs[names[0]]))]
    return '{\n    "predictions": [\n        ' + ",\n        ".join(rows) + "\n    ]\n}\n"


def _feature(feature, values, where: str) -> None:
    """Fills a tf.train.Feature from a JSON value or list: numbers with a fraction or exponent
    are floats, whole numbers and booleans int64s, strings and {"b64": ...} bytes."""
    kinds = set()
    for value in values if isinstance(values, list) else [values]:
        if isinstance(value, float):
            kind, item = "float_list", value
        elif isinstance(value, int):
            if not -2 ** 63 <= value < 2 ** 63:
                raise _invalid(f"{where}: {value} does not fit an int64 feature")
            kind, item = "int64_list", int(value)
        elif isinstance(value, str) or _is_b64(value):
            kind, item = "bytes_list", _bytes(value, where)
        else:
            raise _invalid(f"{where}: a feature value is a number, a string or a "
                           f"{{\"b64\": ...}} object (or a list of one kind); got {_kind(value)} "
                           f"{_show(value)}")
        kinds.add(kind)
        if len(kinds) > 1:
            raise _invalid(f"{where}: the values mix {' and '.join(sorted(kinds))}; a feature "
                           "holds one kind")
        getattr(feature, kind).value.append(item)


def _example(value, example, where: str) -> None:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be an object of feature name -> value; got {_kind(value)} "
                       f"{_show(value)}")
    for name, values in value.items():
        _feature(example.features.feature[name], values, f"{where}[{name!r}]")


def _examples_input(document: dict) -> input_pb2.Input:
    """The Input of a Classify or Regress request from "examples" and the optional "context"."""
    request_input = input_pb2.Input()
    if "context" in document:
        _example(document["context"], request_input.example_list_with_context.context,
                 "'context'")
        target = request_input.example_list_with_context.examples
    else:
        target = request_input.example_list.examples
    examples = document.get("examples")
    if examples is None:
        raise _invalid("the request has no 'examples': give a list of objects of feature "
                       "name -> value")
    if not isinstance(examples, list) or not examples:
        raise _invalid(f"'examples' must be a non-empty list; got {_kind(examples)} "
                       f"{_show(examples)}")
    for index, example in enumerate(examples):
        _example(example, target.add(), f"examples[{index}]")
    return request_input


def _model_spec(name: str | None, version: str | None, label: str | None) -> model_pb2.ModelSpec:
    spec = model_pb2.ModelSpec(name=urllib.parse.unquote(name or ""))
    if version:
        if int(version) >= 2 ** 63:
            raise _invalid(f"version {version} in the URL is not a 64-bit integer")
        spec.version.value = int(version)
    if label:
        spec.version_label = urllib.parse.unquote(label)
    return spec


class _RestApi:
    """Answers one REST request: (HTTP status, JSON body)."""

    def __init__(self, core: ServingCore):
        self.core = core

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            return 200, self._answer(method, path, body).encode("utf-8", "surrogateescape")
        except Exception as error:  # noqa: BLE001 - every error goes back as {"error": ...}
            code, message = status_of(error)
            return HTTP_STATUS[code], (json.dumps({"error": message}) + "\n").encode()

    def _answer(self, method: str, path: str, body: bytes) -> str:
        call = _CALL.fullmatch(path) if method == "POST" else None
        if call and call.group(4) in ("predict", "classify", "regress"):  # case as TF Serving
            spec = _model_spec(*call.group(1, 2, 3))
            document = _document(body)
            spec.signature_name = document.get("signature_name", "")
            if call.group(4) == "predict":
                return self._predict(spec, document)
            if call.group(4) == "classify":
                result = self.core.classify(spec, _examples_input(document)).result
                rows = ["[" + ", ".join(f"[{json.dumps(answer.label, ensure_ascii=False)}, "
                                        f"{_float32(answer.score)}]" for answer in row.classes)
                        + "]" for row in result.classifications]
            else:
                result = self.core.regress(spec, _examples_input(document)).result
                rows = [_float32(regression.value) for regression in result.regressions]
            return '{\n    "results": [\n        ' + ",\n        ".join(rows) + "\n    ]\n}\n"
        get = _GET.fullmatch(path) if method == "GET" else None
        if get:
            spec = _model_spec(*get.group(1, 2, 3))
            if not spec.name:
                raise _invalid("the URL names no model: GET /v1/models/NAME")
            if get.group(4) == "metadata":
                return self._metadata(spec)
            return json_format.MessageToJson(self.core.status(spec), indent=1,
                                             always_print_fields_with_no_presence=True) + "\n"
        raise _invalid(f"malformed request: {method} {path}; the API is POST /v1/models/NAME"
                       "[/versions/N | /labels/L]:(predict|classify|regress) and GET "
                       "/v1/models/NAME[/versions/N | /labels/L][/metadata]")

    def _predict(self, spec, document: dict) -> str:
        servable = self.core.servable(spec)
        name = spec.signature_name or DEFAULT_SIGNATURE
        if name not in servable.model.signatures:  # TF Serving's REST says INVALID_ARGUMENT
            raise _invalid(f"signature {name!r} not found; the model has "
                           f"{sorted(servable.model.signatures)}")
        infos = servable.model.signatures[name].inputs
        if not infos:
            raise _invalid(f"signature {name!r} takes no inputs")
        if "instances" in document and "inputs" in document:
            raise _invalid("give either 'instances' (row format) or 'inputs' (columnar "
                           "format), not both")
        if "instances" in document:
            inputs = _row_inputs(document["instances"], infos)
        elif "inputs" in document:
            inputs = _columnar_inputs(document["inputs"], infos)
        else:
            raise _invalid("the request has neither 'instances' (row format) nor 'inputs' "
                           "(columnar format)")
        outputs = self.core.predict(servable, name, inputs)
        return _predict_json(outputs, "instances" in document)

    def _metadata(self, spec) -> str:
        response = self.core.metadata(spec, ["signature_def"])
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_map)

        def to_dict(message) -> dict:
            return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                             always_print_fields_with_no_presence=True)

        return json.dumps({"model_spec": to_dict(response.model_spec),
                           "metadata": {"signature_def": to_dict(signature_map)}}, indent=1) + "\n"


class _BodyError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as TF Serving's server
    server_version = "tfbert-serve"
    timeout = 120  # seconds an idle connection is kept

    def _reply(self, status: int, body: bytes, close: bool = False) -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def _too_large(self, size: int) -> _BodyError:
        return _BodyError(413, f"the request body has {size:,} bytes; this server takes at "
                               f"most {self.server.max_body_bytes:,}")

    def _body(self) -> bytes:
        limit = self.server.max_body_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024).split(b";")[0].strip()
                if not re.fullmatch(rb"[0-9a-fA-F]+", line):
                    raise _BodyError(400, "malformed chunked request body")
                if int(line, 16) == 0:
                    break
                size += int(line, 16)
                if size > limit:
                    raise self._too_large(size)
                chunks.append(self.rfile.read(int(line, 16)))
                self.rfile.readline()  # the chunk's CRLF
            while self.rfile.readline(1024).strip():  # trailers
                pass
            return b"".join(chunks)
        length = self.headers.get("Content-Length", "0").strip()
        if not length.isdigit():
            raise _BodyError(400, f"Content-Length must be a number of bytes; got {length!r}")
        if int(length) > limit:
            remaining = int(length) if int(length) <= 16 * limit else 0
            while remaining > 0:  # read and drop it, so that the client gets to read the answer
                chunk = self.rfile.read(min(remaining, 1 << 16))
                remaining = remaining - len(chunk) if chunk else 0
            raise self._too_large(int(length))
        return self.rfile.read(int(length))

    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length", "0").strip()
        if length.isdigit() and int(length) > self.server.max_body_bytes:
            self._error(self._too_large(int(length)))
            return False
        return super().handle_expect_100()

    def _error(self, error: _BodyError) -> None:
        self._reply(error.status, (json.dumps({"error": str(error)}) + "\n").encode(), close=True)

    def _read(self) -> bytes | None:
        """The request body, or None once a 400 or 413 answer went back instead."""
        try:
            return self._body()
        except _BodyError as error:
            self._error(error)
            return None

    def _serve(self) -> None:
        body = self._read()
        if body is None:
            return
        path = urllib.parse.urlsplit(self.path).path
        if not _API.fullmatch(path):
            self._reply(404, (json.dumps({"error": f"nothing is served at {path}; TF Serving's "
                                                   "REST API is under /v1/"}) + "\n").encode())
            return
        self._reply(*self.server.api.answer(self.command, path, body))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def do_OPTIONS(self) -> None:
        """A CORS preflight: answered when it has an http(s) Origin, as TF Serving does."""
        if self._read() is None:
            return
        if re.search(r"https?://", self.headers.get("Origin", "")):
            self._reply(200, b"")
        else:
            self._reply(400, b'{"error": "Origin header is missing in CORS preflight"}\n')

    def log_message(self, format, *args) -> None:
        """Requests are not logged (TF Serving logs them only at verbose levels)."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        """Binds without HTTPServer's DNS look-up of the host name."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away
            super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class RestServer:
    """TF Serving's REST API for `core` on `host`:`port` (0: a free one; `port` then holds the
    bound one), answered in background threads until `stop()`.

    >>> import json, tempfile, urllib.request
    >>> from tfbert.serving.model_versions import ModelVersions
    >>> core = ServingCore("demo", ModelVersions(tempfile.mkdtemp(), poll_seconds=0))
    >>> rest = RestServer(core, "127.0.0.1", port=0)
    >>> url = f"http://127.0.0.1:{rest.port}/v1/models/demo:predict"
    >>> try:
    ...     urllib.request.urlopen(urllib.request.Request(url, data=b'{"instances": [1}'))
    ... except urllib.error.HTTPError as error:
    ...     print(error.code, json.load(error)["error"])
    400 JSON parse error: Expecting ',' delimiter at offset 16
    >>> rest.stop()
    """

    def __init__(self, core: ServingCore, host: str = "0.0.0.0", port: int = 8501,
                 max_body_bytes: int = MAX_MESSAGE_BYTES):
        if max_body_bytes < 1:
            raise ValueError(f"`max_body_bytes` must be positive; got {max_body_bytes!r}")
        server_class = _HTTPServer6 if ":" in host else _HTTPServer
        try:
            self._http = server_class((host, port), _Handler)
        except OSError as error:
            raise OSError(f"cannot listen on {host}:{port} for the REST API: "
                          f"{error.strerror or error}") from error
        self._http.api = _RestApi(core)
        self._http.max_body_bytes = max_body_bytes
        self.port = self._http.server_address[1]
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.1,),
                                        name="rest-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops answering and closes the socket."""
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()
