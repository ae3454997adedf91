"""`tfbert predict`: send texts to a served model (TF Serving or `tfbert serve`), print JSON."""
from __future__ import annotations

import argparse
import json
import sys

_EXAMPLE = """example:
  tfbert predict --server localhost:8500 --model-name sentiment "great film" "dull plot"
  tfbert predict --server localhost:8500 --model-name sentiment --signature text_pair \\
      --pair "is it good?" "it is great"
  tfbert predict --server localhost:8500 --model-name sentiment --metadata

Prints one JSON object: the model's outputs, one list entry per text.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="send texts to a served model over gRPC and print the outputs as JSON",
        description="Sends raw texts to a model served by TF Serving or `tfbert serve` "
                    "(gRPC Predict) and prints the outputs as JSON.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", metavar="TEXT", nargs="*", help="texts to send")
    parser.add_argument("--server", required=True, help="HOST:PORT of the gRPC server")
    parser.add_argument("--model-name", required=True, help="the served model's name")
    parser.add_argument("--signature", default=None,
                        help="signature to call (default serving_default; text_pair with --pair)")
    parser.add_argument("--pair", action="store_true",
                        help="TEXTs are pairs: text_a text_b text_a text_b ...")
    parser.add_argument("--version", type=int, default=None, help="model version (default latest)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--metadata", action="store_true",
                        help="print the model's signatures instead of predicting")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.serving import PredictionClient, ServingError

    if not args.metadata and not args.texts:
        raise ValueError("give at least one TEXT (or --metadata)")
    if args.pair and len(args.texts) % 2:
        raise ValueError(f"--pair needs an even number of TEXTs (text_a text_b ...); got "
                         f"{len(args.texts)}")
    with PredictionClient(args.server, args.model_name, timeout=args.timeout,
                          version=args.version) as client:
        try:
            if args.metadata:
                result = client.metadata()
            elif args.pair:
                result = client.predict(args.texts[::2], signature=args.signature,
                                        text_pair=args.texts[1::2])
            else:
                result = client.predict(args.texts, signature=args.signature)
        except ServingError as error:
            print(f"tfbert predict: error: {error}", file=sys.stderr)
            return 1
    if not args.metadata:
        result = {name: value.tolist() for name, value in result.items()}
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
