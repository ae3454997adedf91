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
  tfbert serve --model-config-file models.config --model-config-file-poll-wait-seconds 5 \
      --rest-api-port 8501

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

--model-config-file serves several models on the same ports: TF Serving's text-format
ModelServerConfig (model_config_list { config { name base_path model_platform
model_version_policy version_labels } }, as pipelines/serving/models.config), with absolute
base paths; requests by label use model_spec.version_label or /v1/models/NAME/labels/L. With
--model-config-file-poll-wait-seconds the file is re-read: added models load, removed ones
unload, changed policies and labels apply, and a file that does not parse or validate is
logged while the old config keeps serving.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve exported SavedModels over TF Serving's gRPC and REST APIs "
                      "(development)",
        description="Serves a model's SavedModel versions over TF Serving's gRPC "
                    "PredictionService and ModelService, and its REST API. For development "
                    "and tests; production runs tensorflow_model_server.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-base-path",
                        help="directory whose integer subdirectories are the versions (with "
                             "--model-name; or give --model-config-file)")
    parser.add_argument("--model-name", help="the name clients ask for")
    parser.add_argument("--model-config-file",
                        help="TF Serving's text-format ModelServerConfig listing the models to "
                             "serve (instead of --model-base-path and --model-name)")
    parser.add_argument("--model-config-file-poll-wait-seconds", type=float, default=0,
                        help="re-read --model-config-file this often (default 0: read once, as "
                             "TF Serving's --model_config_file_poll_wait_seconds)")
    parser.add_argument("--allow-version-labels-for-unavailable-models", action="store_true",
                        help="let a config's new version labels name versions not loaded yet "
                             "(TF Serving's --allow_version_labels_for_unavailable_models)")
    parser.add_argument("--port", type=int, default=8500, help="gRPC port (default 8500)")
    parser.add_argument("--rest-api-port", type=int, default=0,
                        help="REST API port (default 0: no REST API, as TF Serving's "
                             "--rest_api_port; TF Serving's docker image uses 8501)")
    parser.add_argument("--host", default="0.0.0.0",
                        help="address to listen on (default 0.0.0.0; 127.0.0.1 for local only)")
    parser.add_argument("--poll-seconds", type=float, default=1.0,
                        help="how often to look for new versions (default 1; 0 never)")
    parser.add_argument("--version-policy",
                        help="versions of --model-base-path to serve: latest (default), "
                             "latest:N, all, or specific:V1,V2 (TF Serving's "
                             "model_version_policy; a config file sets it per model)")
    parser.add_argument("--enable-model-warmup", action=argparse.BooleanOptionalAction,
                        default=True,
                        help="replay each version's assets.extra/tf_serving_warmup_requests "
                             "before it serves (default on, as TF Serving's "
                             "--enable_model_warmup)")
    parser.add_argument("--threads", type=int, default=8,
                        help="gRPC requests handled concurrently (default 8)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.rest_api_port < 0:
        raise ValueError(f"--rest-api-port must be a port number, or 0 for no REST API; got "
                         f"{args.rest_api_port}")
    flags = [f"--{name}" for name in ("model_base_path", "model_name", "version_policy")
             if getattr(args, name) is not None]
    if args.model_config_file is not None and flags:
        raise ValueError(f"--model-config-file lists the models with their paths and policies; "
                         f"do not give {' '.join(flags).replace('_', '-')} with it")
    if args.model_config_file is None and (args.model_base_path is None
                                           or args.model_name is None):
        raise ValueError("give --model-base-path and --model-name (one model), or "
                         "--model-config-file (TF Serving's model config)")
    if args.model_config_file_poll_wait_seconds and args.model_config_file is None:
        raise ValueError("--model-config-file-poll-wait-seconds needs --model-config-file")
    from tfbert.serving import ModelServer, VersionPolicy

    single = {} if args.model_config_file else {
        "base_path": args.model_base_path, "model_name": args.model_name,
        "version_policy": VersionPolicy.parse(args.version_policy or "latest")}
    server = ModelServer(**single, port=args.port, host=args.host,
                         poll_seconds=args.poll_seconds, max_workers=args.threads,
                         rest_api_port=args.rest_api_port or None,
                         warmup=args.enable_model_warmup,
                         model_config_file=args.model_config_file,
                         model_config_file_poll_seconds=args.model_config_file_poll_wait_seconds,
                         allow_version_labels_for_unavailable_models=(
                             args.allow_version_labels_for_unavailable_models))
    rest = f", REST on {args.host}:{server.rest_port}" if server.rest_port else ""
    names = server.models.names
    served = ", ".join(f"{name!r} from {server.models.get(name).config.base_path} (versions "
                       f"{server.models.get(name).versions.versions})"
                       for name in names)
    print(f"serving model{'s' if len(names) > 1 else ''} {served} on {args.host}:{server.port} "
          f"(gRPC){rest}; Ctrl-C stops", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
