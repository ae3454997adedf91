"""`RestServer`: TF Serving's REST API (its `--rest_api_port`) on a `ServingCore`.

    POST /v1/models/NAME[/versions/N | /labels/L]:predict    (or :classify, :regress)
    GET  /v1/models/NAME[/versions/N | /labels/L]            GetModelStatus, as JSON
    GET  /v1/models/NAME[/versions/N | /labels/L]/metadata   GetModelMetadata, as JSON

Predict takes "instances" (row format: one entry per example, an object of input name ->
value when the signature has several inputs) or "inputs" (columnar: a value, or an object of
input name -> value), and an optional "signature_name"; it answers "predictions" or "outputs"
in the same format. Classify and Regress take "examples" and an optional "context", and answer
"results". The JSON of tensors and Examples is `tfbert.serving.json_tensors`. As in TF
Serving, unknown top-level fields are ignored. Errors come back as {"error": "..."} with TF
Serving's HTTP status for the status code (400 INVALID_ARGUMENT and FAILED_PRECONDITION,
404 NOT_FOUND, 501 UNIMPLEMENTED, 500 INTERNAL, ...); a body over `max_body_bytes` gets 413.
"""
from __future__ import annotations

import json
import re
import socket
import socketserver
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from grpc import StatusCode
from tensorflow_serving.apis import get_model_metadata_pb2, model_pb2

from tfbert.serving.client import DEFAULT_SIGNATURE, MAX_MESSAGE_BYTES
from tfbert.serving.json_tensors import (columnar_inputs, examples_input, float32_json, invalid,
                                         parse_document, predict_json, row_inputs)
from tfbert.serving.server import ServingCore, status_of

HTTP_STATUS = {  # TF Serving's model_servers/http_server.cc, ToHTTPStatusCode
    StatusCode.OK: 200, StatusCode.CANCELLED: 499, StatusCode.UNKNOWN: 500,
    StatusCode.INVALID_ARGUMENT: 400, StatusCode.DEADLINE_EXCEEDED: 504,
    StatusCode.NOT_FOUND: 404, StatusCode.ALREADY_EXISTS: 409,
    StatusCode.PERMISSION_DENIED: 403, StatusCode.RESOURCE_EXHAUSTED: 429,
    StatusCode.FAILED_PRECONDITION: 400, StatusCode.ABORTED: 409, StatusCode.OUT_OF_RANGE: 400,
    StatusCode.UNIMPLEMENTED: 501, StatusCode.INTERNAL: 500, StatusCode.UNAVAILABLE: 503,
    StatusCode.DATA_LOSS: 500, StatusCode.UNAUTHENTICATED: 401}
_API = re.compile(r"/v1/.*", re.IGNORECASE | re.DOTALL)
_VERSION = r"(?:/versions/([0-9]+)|/labels/([^/:]+))?"
_CALL = re.compile(r"/v1/models/([^/:]+)" + _VERSION + r":(classify|regress|predict)",
                   re.IGNORECASE)
_GET = re.compile(r"/v1/models(?:/([^/:]+))?" + _VERSION + r"(?:/(metadata))?", re.IGNORECASE)


def _model_spec(name: str | None, version: str | None, label: str | None) -> model_pb2.ModelSpec:
    spec = model_pb2.ModelSpec(name=urllib.parse.unquote(name or ""))
    if version:
        if int(version) >= 2 ** 63:
            raise invalid(f"version {version} in the URL is not a 64-bit integer")
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
            document = parse_document(body)
            spec.signature_name = document.get("signature_name", "")
            if call.group(4) == "predict":
                return self._predict(spec, document)
            if call.group(4) == "classify":
                result = self.core.classify(spec, examples_input(document)).result
                rows = ["[" + ", ".join(f"[{json.dumps(answer.label, ensure_ascii=False)}, "
                                        f"{float32_json(answer.score)}]" for answer in row.classes)
                        + "]" for row in result.classifications]
            else:
                result = self.core.regress(spec, examples_input(document)).result
                rows = [float32_json(regression.value) for regression in result.regressions]
            return '{\n    "results": [\n        ' + ",\n        ".join(rows) + "\n    ]\n}\n"
        get = _GET.fullmatch(path) if method == "GET" else None
        if get:
            spec = _model_spec(*get.group(1, 2, 3))
            if not spec.name:
                raise invalid("the URL names no model: GET /v1/models/NAME")
            if get.group(4) == "metadata":
                return self._metadata(spec)
            return json_format.MessageToJson(self.core.status(spec), indent=1,
                                             always_print_fields_with_no_presence=True) + "\n"
        raise invalid(f"malformed request: {method} {path}; the API is POST /v1/models/NAME"
                       "[/versions/N | /labels/L]:(predict|classify|regress) and GET "
                       "/v1/models/NAME[/versions/N | /labels/L][/metadata]")

    def _predict(self, spec, document: dict) -> str:
        servable = self.core.servable(spec)
        name = spec.signature_name or DEFAULT_SIGNATURE
        if name not in servable.model.signatures:  # TF Serving's REST says INVALID_ARGUMENT
            raise invalid(f"signature {name!r} not found; the model has "
                           f"{sorted(servable.model.signatures)}")
        infos = servable.model.signatures[name].inputs
        if not infos:
            raise invalid(f"signature {name!r} takes no inputs")
        if "instances" in document and "inputs" in document:
            raise invalid("give either 'instances' (row format) or 'inputs' (columnar "
                           "format), not both")
        if "instances" in document:
            inputs = row_inputs(document["instances"], infos)
        elif "inputs" in document:
            inputs = columnar_inputs(document["inputs"], infos)
        else:
            raise invalid("the request has neither 'instances' (row format) nor 'inputs' "
                           "(columnar format)")
        outputs = self.core.predict(servable, name, inputs)
        return predict_json(outputs, "instances" in document)

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
    >>> from tfbert.serving.model_config import ModelConfig
    >>> from tfbert.serving.served_models import ServedModels
    >>> models = ServedModels([ModelConfig("demo", tempfile.mkdtemp())], poll_seconds=0)
    >>> core = ServingCore(models)
    >>> rest = RestServer(core, "127.0.0.1", port=0)
    >>> url = f"http://127.0.0.1:{rest.port}/v1/models/demo:predict"
    >>> try:
    ...     urllib.request.urlopen(urllib.request.Request(url, data=b'{"instances": [1}'))
    ... except urllib.error.HTTPError as error:
    ...     print(error.code, json.load(error)["error"])
    400 JSON parse error: Expecting ',' delimiter at offset 16
    >>> rest.stop(); models.close()
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
