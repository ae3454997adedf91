"""`tfbert evaluate`: a fine-tuned model directory's metrics on a labelled file, as JSON."""
from __future__ import annotations

import argparse
import json

_EXAMPLE = """examples:
  tfbert evaluate --model models/sentiment --data dev.csv
  tfbert evaluate --model models/sts --data sts_dev.tsv --batch-size 64

Prints one JSON object with the task's standard metrics: classify: accuracy, macro_f1 and
per_class precision/recall/f1/support (as scikit-learn); regress: pearson, spearman, mse (as
SciPy). The data file has the format and columns the model was fine-tuned with."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a fine-tuned model on a labelled file (metrics as JSON)",
        description="Runs a fine-tuned model directory on a labelled data file in this process "
                    "and prints the task's metrics as one JSON object.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, metavar="DIR", help="fine-tuned model directory")
    parser.add_argument("--data", required=True, metavar="FILE", help="labelled data file")
    parser.add_argument("--batch-size", type=int, default=32, metavar="B",
                        help="inputs per model call (default 32)")
    parser.add_argument("--seq-length", type=int, metavar="L",
                        help="packed length (default: the fine-tuning --seq-length)")
    parser.add_argument("--no-bucketing", dest="bucketing", action="store_false",
                        help="run every batch at the full --seq-length instead of cutting "
                             "batches to one of four lengths (the same metrics, slower)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.tasks.inference import evaluate

    scores = evaluate(args.model, args.data, batch_size=args.batch_size,
                      seq_length=args.seq_length, bucketing=args.bucketing)
    print(json.dumps(scores, indent=2, ensure_ascii=False))
    return 0
