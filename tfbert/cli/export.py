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
  classify  a BertClassifier: `label`, `probabilities`, `logits`; also text_pair, and
            classify / classify_pair on tf.Examples (TF Serving's Classify API)
  regress   a BertRegressor: `value`; also text_pair
  mlm       a BertPretrainer: for each [MASK] in the text, the --top-k tokens and scores
  tag       a BertTokenClassifier: per text the entities (`entity_labels`, `entity_starts`,
            `entity_ends`: code points into the text, `entity_texts`, `entity_scores`,
            `num_entities`); long texts in overlapping windows, never truncated
  qa        a BertSpanQA: `question` and `context` -> `answer` ("" for no answer), `start`,
            `end`, `score`, `null_score_diff`; long contexts in windows (its --doc-stride)

A fine-tuned model directory exports at its fine-tuning --seq-length, with its task settings
(stride, doc stride, no-answer threshold), so served answers equal `tfbert predict --model`.

Signatures take raw strings: serving_default (`text`; for qa `question`, `context`), text_pair
(`text_a`, `text_b`) where pairs make sense, and preprocess (the int32 features; for tag and qa
one row per window). The export is audited (TF Serving ops only), reloaded through the TF1
session loader and compared with the Keras model before the version directory appears; a
failure leaves nothing behind.
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
                        help="packed length: longer texts are truncated (tag, qa: windowed) "
                             "(default: the fine-tuning --seq-length, else the model's "
                             "max_position_embeddings)")
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
