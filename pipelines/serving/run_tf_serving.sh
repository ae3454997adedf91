#!/bin/sh
# Serves tfbert exports with TF Serving (the tensorflow/serving docker image).
#
#   pipelines/serving/run_tf_serving.sh            # from the repository root
#
# Mounts ./saved_models (tfbert export --out saved_models/NAME/VERSION) at /models and this
# directory at /config; models.config names the models (demo_classifier, which `make demo`
# exports), batching_parameters.txt sets request batching. gRPC on port 8500 (tfbert predict /
# tfbert.serving.PredictionClient), REST on 8501. Each version is warmed up with the requests
# the export wrote to assets.extra/tf_serving_warmup_requests before it serves.
# The image links the tf-text kernels the exported tokenizer uses (FastBertNormalize,
# FastWordpieceTokenizeWithOffsets) since TF Serving 2.14; 2.20.0 matches TensorFlow 2.20.
set -eu
IMAGE="${TF_SERVING_IMAGE:-tensorflow/serving:2.20.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
exec docker run --rm -p 8500:8500 -p 8501:8501 \
  -v "$ROOT/saved_models:/models:ro" \
  -v "$ROOT/pipelines/serving:/config:ro" \
  --entrypoint tensorflow_model_server \
  "$IMAGE" \
  --port=8500 --rest_api_port=8501 \
  --model_config_file=/config/models.config \
  --enable_batching=true --batching_parameters_file=/config/batching_parameters.txt \
  --enable_model_warmup=true \
  --file_system_poll_wait_seconds=5
