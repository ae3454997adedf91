"""`tfbert predict`: run a fine-tuned model directory on a file in this process, or send texts to
a served model (TF Serving or `tfbert serve`, over gRPC or REST), and print JSON."""
from __future__ import annotations

import argparse
import json
import sys

_EXAMPLE = """examples:
  tfbert predict --model models/sentiment --input reviews.txt --output predictions.jsonl
  tfbert predict --model models/sentiment --input dev.csv --output predictions.jsonl
  tfbert predict --server localhost:8500 --model-name sentiment "great film" "dull plot"
  tfbert predict --server localhost:8500 --model-name sentiment --signature text_pair \\
      --pair "is it good?" "it is great"
  tfbert predict --server localhost:8500 --model-name sentiment --signature classify "great"
  tfbert predict --server localhost:8500 --model-name similarity --signature regress_pair \
      --pair "a cat sat" "a cat was sitting"
  tfbert predict --server localhost:8500 --model-name squad --pair "Who?" "Ada wrote it."
  tfbert predict --server localhost:8500 --model-name sentiment --metadata
  tfbert predict --rest http://localhost:8501 --model-name sentiment "great film" "dull plot"

--model: --input is a .txt file (one text per line) or a data file of the model's task (labels
optional); --output gets one JSON line per input, in order: classify: label, probabilities;
regress: value; tag: text, entities; qa (SQuAD JSON input): id, answer, start, end, score.
--server (gRPC) or --rest (TF Serving's REST API; the same output): prints one JSON object,
the model's outputs with one list entry per text; a signature on tf.Examples is called through
the Classify API (classify, classify_pair: label -> score per text) or the Regress API
(regress, regress_pair: one value per text)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="predict with a model directory, or with a served model over gRPC or "
                        "REST",
        description="Runs a fine-tuned model directory on an input file in this process "
                    "(--model), or sends raw texts to a model served by TF Serving or "
                    "`tfbert serve` over gRPC (--server) or REST (--rest), and writes JSON.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--model", metavar="DIR", help="fine-tuned model directory (in-process)")
    where.add_argument("--server", metavar="HOST:PORT", help="the gRPC server")
    where.add_argument("--rest", metavar="URL",
                       help="the REST API's address, e.g. http://localhost:8501")
    local = parser.add_argument_group("with --model")
    local.add_argument("--input", metavar="FILE", help=".txt (a text per line), .csv, .tsv, .jsonl")
    local.add_argument("--output", metavar="FILE.jsonl", help="where the records go")
    local.add_argument("--batch-size", type=int, default=32, metavar="B",
                       help="inputs per model call (default 32)")
    local.add_argument("--no-bucketing", dest="bucketing", action="store_false",
                       help="run every batch at the full --seq-length instead of cutting "
                            "batches to one of four lengths (the same records, slower)")
    served = parser.add_argument_group("with --server or --rest")
    served.add_argument("texts", metavar="TEXT", nargs="*", help="texts to send")
    served.add_argument("--model-name", help="the served model's name")
    served.add_argument("--signature", default=None,
                        help="signature to call (default serving_default; with --pair "
                             "text_pair where the model has it)")
    served.add_argument("--pair", action="store_true",
                        help="TEXTs are pairs: text_a text_b text_a text_b ... (for a qa "
                             "model: question context question context ...)")
    served.add_argument("--version", type=int, default=None,
                        help="model version (default latest)")
    served.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    served.add_argument("--metadata", action="store_true",
                        help="print the model's signatures instead of predicting")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return _run_local(args) if args.model else _run_served(args)


def _run_local(args: argparse.Namespace) -> int:
    if not args.input or not args.output:
        raise ValueError("--model needs --input FILE and --output FILE.jsonl")
    if args.texts or args.model_name:
        raise ValueError("TEXT arguments and --model-name go with --server or --rest, not "
                         "--model")
    from tfbert.tasks.inference import Predictor, write_records

    predictor = Predictor(args.model, batch_size=args.batch_size, bucketing=args.bucketing)
    count = write_records(predictor.predict_file(
        args.input, progress=lambda message: print(message, file=sys.stderr, flush=True)),
        args.output)
    print(f"wrote {count:,} predictions to {args.output}")
    return 0


def _run_served(args: argparse.Namespace) -> int:
    option = "--server" if args.server else "--rest"
    if not args.model_name:
        raise ValueError(f"{option} needs --model-name NAME")
    if not args.metadata and not args.texts:
        raise ValueError("give at least one TEXT (or --metadata)")
    if args.pair and len(args.texts) % 2:
        raise ValueError(f"--pair needs an even number of TEXTs (text_a text_b ...); got "
                         f"{len(args.texts)}")
    from tfbert.serving import PredictionClient, ServingError
    from tfbert.serving.rest_client import RestClient

    client_class, address = (PredictionClient, args.server) if args.server else (RestClient,
                                                                                args.rest)
    with client_class(address, args.model_name, timeout=args.timeout,
                      version=args.version) as client:
        try:
            api = None if args.metadata or not args.signature else \
                client.example_api(args.signature)  # "classify", "regress" or None
            if args.metadata:
                result = client.metadata()
            elif api:
                pairs = args.texts[1::2] if args.pair else None
                result = getattr(client, api)(args.texts[::2] if args.pair else args.texts,
                                              text_pair=pairs, signature=args.signature)
            else:
                texts = args.texts[::2] if args.pair else args.texts
                result = client.predict(texts, signature=args.signature,
                                        text_pair=args.texts[1::2] if args.pair else None)
                result = {name: value.tolist() for name, value in sorted(result.items())}
        except ServingError as error:
            print(f"tfbert predict: error: {error}", file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
