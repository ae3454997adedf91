"""Serving raw-string exports over TF Serving's gRPC API: a client, and a development server.

`PredictionClient` works against `tensorflow_model_server` and `tfbert serve` alike;
`ModelServer` implements the PredictionService (Predict, GetModelMetadata, Classify) for one
model, loading versions the way TF Serving does.
"""
from tfbert.serving.client import PredictionClient, ServingError
from tfbert.serving.model_versions import ModelVersions, VersionNotFoundError, VersionPolicy
from tfbert.serving.server import ModelServer

__all__ = ["ModelServer", "ModelVersions", "PredictionClient", "ServingError",
           "VersionNotFoundError", "VersionPolicy"]
