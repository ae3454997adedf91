"""`tfbert serve`: TF Serving's gRPC and REST APIs for development and tests."""
from __future__ import annotations

import argparse

_EXAMPLE = """examples:
  tfbert serve --model-base-path saved_models/sentiment --model-name sentiment --port 8500 \
      --rest-api-port 8501
  tfbert predict --server localhost:8500 --model-name sentiment "what a great film"
  tfbert predict --rest http://localhost:8501 --model-name sentiment "what a great film"
  curl -d '{"instances": ["what a great film"]}' \
      http://localhost:8501/v1/models/sentiment:predict

Serves the gRPC PredictionService (Predict, Classify, Regress, GetModelMetadata) and
ModelService.GetModelStatus, and with --rest-api-port TF Serving's REST API
(/v1/models/NAME[/versions/N]:predict|:classify|:regress, GET /v1/models/NAME[/metadata]), for
the model whose versions are the integer directories of --model-base-path, each loaded through
the TF1 session loader as TF Serving does. As in TF Serving, only the latest version is
served unless --version-policy says otherwise (all, latest:N, specific:1,3); a request
without a version gets the latest loaded one. New version directories are picked up without
a restart; the old version is unloaded once the new one is loaded (a broken new export leaves
the old one serving). For production, run tensorflow_model_server (the tensorflow/serving
docker image; gRPC on 8500, REST on 8501) on the same directory: see README, "Export and
serving".
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve exported SavedModels over TF Serving's gRPC and REST APIs "
                      "(development)",
        description="Serves a model's SavedModel versions over TF Serving's gRPC "
                    "PredictionService and ModelService, and its REST API. For development "
                    "and tests; production runs tensorflow_model_server.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-base-path", required=True,
                        help="directory whose integer subdirectories are the versions")
    parser.add_argument("--model-name", required=True, help="the name clients ask for")
    parser.add_argument("--port", type=int, default=8500, help="gRPC port (default 8500)")
    parser.add_argument("--rest-api-port", type=int, default=0,
                        help="REST API port (default 0: no REST API, as TF Serving's "
                             "--rest_api_port; TF Serving's docker image uses 8501)")
    parser.add_argument("--host", default="0.0.0.0",
                        help="address to listen on (default 0.0.0.0; 127.0.0.1 for local only)")
    parser.add_argument("--poll-seconds", type=float, default=1.0,
                        help="how often to look for new versions (default 1; 0 never)")
    parser.add_argument("--version-policy", default="latest",
                        help="versions to serve: latest (default), latest:N, all, or "
                             "specific:V1,V2 (TF Serving's model_version_policy)")
    parser.add_argument("--threads", type=int, default=8,
                        help="gRPC requests handled concurrently (default 8)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.rest_api_port < 0:
        raise ValueError(f"--rest-api-port must be a port number, or 0 for no REST API; got "
                         f"{args.rest_api_port}")
    from tfbert.serving import ModelServer, VersionPolicy

    server = ModelServer(args.model_base_path, args.model_name, port=args.port, host=args.host,
                         poll_seconds=args.poll_seconds, max_workers=args.threads,
                         version_policy=VersionPolicy.parse(args.version_policy),
                         rest_api_port=args.rest_api_port or None)
    rest = f", REST on {args.host}:{server.rest_port}" if server.rest_port else ""
    print(f"serving model {args.model_name!r} (versions {server.versions.versions}) from "
          f"{args.model_base_path} on {args.host}:{server.port} (gRPC){rest}; Ctrl-C stops",
          flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
