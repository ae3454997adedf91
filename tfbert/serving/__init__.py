"""Serving raw-string exports as TF Serving does: clients, and a development server.

`PredictionClient` (gRPC) and `RestClient` (REST) work against `tensorflow_model_server` and
`tfbert serve` alike, with the same methods and results; `ModelServer` implements the gRPC
PredictionService and ModelService and, with `rest_api_port`, TF Serving's REST API, loading
versions the way TF Serving does.
"""
from tfbert.serving.client import PredictionClient, ServingError
from tfbert.serving.model_versions import ModelVersions, VersionNotFoundError, VersionPolicy
from tfbert.serving.rest_client import RestClient
from tfbert.serving.model_server import ModelServer

__all__ = ["ModelServer", "ModelVersions", "PredictionClient", "RestClient", "ServingError",
           "VersionNotFoundError", "VersionPolicy"]
