"""`tfbert export`: a model directory -> a validated raw-string SavedModel version."""
from __future__ import annotations

import argparse

from tfbert.names import EXPORT_TASKS, POOLING_MODES

_EXAMPLE = """example:
  tfbert export --model models/sentiment --task classify --out saved_models/sentiment/1
  tfbert export --model models/bert_base --task embed --pooling mean --normalize \\
      --out saved_models/embedder/1
  saved_model_cli show --dir saved_models/sentiment/1 --all

tasks:
  embed     any model directory: `embedding` [B, H] from its encoder (--pooling, --normalize)
  classify  a BertClassifier: `label`, `probabilities`, `logits`; also a text_pair signature
  mlm       a BertPretrainer: for each [MASK] in the text, the --top-k tokens and scores
  token-classify  a BertTokenClassifier: a label per WordPiece token, with its text offsets
  qa        a BertSpanQA: the answer span of text_b (context) for text_a (question)

Signatures take raw strings: serving_default (`text`; for qa the pair), text_pair (`text_a`,
`text_b`) where pairs make sense, and preprocess (the three int32 features). The export is
audited (TF Serving ops only), reloaded through the TF1 session loader and compared with the
Keras model before the version directory appears; a failure leaves nothing behind.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="export a model directory as a raw-string SavedModel for TF Serving",
        description="Exports a model directory as a versioned SavedModel that takes raw text "
                    "and that TF Serving loads as is.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the model directory to export")
    parser.add_argument("--task", required=True, choices=EXPORT_TASKS, help="what to serve")
    parser.add_argument("--out", required=True,
                        help="the version directory to write, saved_models/NAME/VERSION "
                             "(VERSION an integer)")
    parser.add_argument("--seq-length", type=int, default=None,
                        help="longest packed input; longer texts are truncated "
                             "(default: the model's max_position_embeddings)")
    parser.add_argument("--pooling", choices=POOLING_MODES, default="cls",
                        help="embed: the [CLS] state or the mean of the tokens (default cls)")
    parser.add_argument("--normalize", action="store_true",
                        help="embed: scale embeddings to unit L2 norm")
    parser.add_argument("--top-k", type=int, default=5,
                        help="mlm: tokens returned per [MASK] (default 5)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing version directory (atomically)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.export import export_model

    export_model(args.model, args.task, args.out, pooling=args.pooling,
                 normalize=args.normalize, seq_length=args.seq_length, top_k=args.top_k,
                 overwrite=args.overwrite, progress=print)
    return 0
