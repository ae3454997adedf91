"""`ModelServer`: TF Serving's gRPC (and REST) APIs for development and tests, serving one
model (`base_path`, `model_name`) or the models of a TF Serving model config file, both as a
list of `ModelConfig`s on `ServedModels`.
"""
from __future__ import annotations

import os
from concurrent import futures
from typing import Callable, Mapping

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from tfbert.serving.client import MAX_MESSAGE_BYTES
from tfbert.serving.model_config import ModelConfig, read_model_config
from tfbert.serving.model_versions import ModelVersions, VersionPolicy
from tfbert.serving.rest import RestServer
from tfbert.serving.served_models import ServedModels
from tfbert.serving.server import ModelStatusServicer, PredictionServicer, ServingCore


class ModelServer:
    """A running gRPC server (and, with `rest_api_port`, REST server) for the model in
    `base_path` (versions in integer subdirectories) named `model_name`, or for the models of
    `model_config_file` (TF Serving's text-format ModelServerConfig; see
    `tfbert.serving.model_config`). Give one or the other: the single model is served as a
    one-entry config (its `base_path` made absolute).

    `port=0` (or `rest_api_port=0`) picks a free port; `port` (`rest_port`) then holds the
    bound one. `rest_api_port=None` serves no REST API. `version_policy` and `version_labels`
    (label -> version number) go with `base_path`; a config file has its own. A label must
    name a loaded version unless `allow_version_labels_for_unavailable_models`.
    `model_config_file_poll_seconds` > 0 re-reads the file that often (TF Serving's
    `--model_config_file_poll_wait_seconds`). `poll_seconds` is how often each model's base
    path is rescanned for versions. `warmup=False` loads versions without replaying their
    warm-up requests (TF Serving's `--enable_model_warmup=false`). Both APIs answer from
    `core` (a `ServingCore` on `models`). `stop()` shuts both down.

    >>> import json, tempfile, urllib.request
    >>> server = ModelServer(tempfile.mkdtemp(), "demo", port=0, host="127.0.0.1",
    ...                      rest_api_port=0)
    >>> server.port > 0, server.rest_port > 0, server.models.names
    (True, True, ['demo'])
    >>> try:
    ...     urllib.request.urlopen(f"http://127.0.0.1:{server.rest_port}/v1/models/demo")
    ... except urllib.error.HTTPError as error:
    ...     print(error.code, json.load(error)["error"])
    404 no version of model 'demo' is loaded
    >>> server.stop()
    """

    def __init__(self, base_path: str | os.PathLike | None = None, model_name: str | None = None,
                 port: int = 8500, host: str = "0.0.0.0", poll_seconds: float = 1.0,
                 max_workers: int = 8, log: Callable[[str], None] | None = None,
                 version_policy: VersionPolicy = VersionPolicy(),
                 rest_api_port: int | None = None,
                 version_labels: Mapping[str, int] | None = None, warmup: bool = True, *,
                 model_config_file: str | os.PathLike | None = None,
                 model_config_file_poll_seconds: float = 0,
                 allow_version_labels_for_unavailable_models: bool = False):
        configs = _configs(base_path, model_name, version_policy, version_labels,
                           model_config_file)
        if model_config_file_poll_seconds < 0 or (model_config_file_poll_seconds
                                                  and model_config_file is None):
            raise ValueError(f"`model_config_file_poll_seconds` must be >= 0 and needs a "
                             f"`model_config_file`; got {model_config_file_poll_seconds!r}")
        self.models = ServedModels(
            configs, poll_seconds, log=log, warmup=warmup,
            allow_unavailable_labels=allow_version_labels_for_unavailable_models)
        self.core = ServingCore(self.models)
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers),
                                   options=options)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionServicer(self.core), self._server)
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelStatusServicer(self.core), self._server)
        try:
            self.port = self._server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            self.models.close()
            raise OSError(f"cannot listen on {host}:{port} (in use, or not an address here)")
        self._rest = None
        if rest_api_port is not None:
            try:
                self._rest = RestServer(self.core, host, rest_api_port)
            except OSError:
                self._server.stop(None)
                self.models.close()
                raise
        self.rest_port = self._rest.port if self._rest else None
        if model_config_file_poll_seconds:
            self.models.watch(model_config_file, model_config_file_poll_seconds)
        self._server.start()

    @property
    def versions(self) -> ModelVersions:
        """The versions of the one model served (ValueError when it serves several)."""
        names = self.models.names
        if len(names) != 1:
            raise ValueError(f"`versions` is for a server of one model; this one serves {names}: "
                             "use models.get(name).versions")
        return self.models.get(names[0]).versions

    def wait(self) -> None:
        """Blocks until the server stops."""
        self._server.wait_for_termination()

    def stop(self, grace: float | None = 1.0) -> None:
        """Stops accepting requests, lets running ones finish for `grace` s, frees the models."""
        if self._rest is not None:
            self._rest.stop()
        self._server.stop(grace).wait()
        self.models.close()


def _configs(base_path, model_name, version_policy, version_labels,
             model_config_file) -> list[ModelConfig]:
    """The models to serve: those of `model_config_file`, or the one of `base_path`."""
    if model_config_file is not None:
        if base_path is not None or model_name is not None:
            raise ValueError("give either `model_config_file` or `base_path` and `model_name`, "
                             f"not both; got model_config_file={str(model_config_file)!r}, "
                             f"base_path={base_path!r}, model_name={model_name!r}")
        if version_labels or version_policy != VersionPolicy():
            raise ValueError("`version_policy` and `version_labels` go with `base_path`; a "
                             "model config file sets them per model")
        return read_model_config(model_config_file)
    if base_path is None or not model_name:
        raise ValueError(f"`base_path` and a non-empty `model_name` are needed (or a "
                         f"`model_config_file`); got base_path={base_path!r}, "
                         f"model_name={model_name!r}")
    return [ModelConfig(model_name, os.path.abspath(base_path), version_policy,
                        dict(version_labels or {}))]
