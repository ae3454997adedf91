"""`tfbert export`: a model directory -> a validated raw-string SavedModel version."""
from __future__ import annotations

import argparse

from tfbert.names import DEFAULT_SERVING_VERSION, EXPORT_TASKS, POOLING_MODES, SERVING_VERSIONS

_EXAMPLE = """example:
  tfbert export --model models/sentiment --task classify --out saved_models/sentiment/1
  tfbert export --model models/bert_base --task embed --pooling mean --normalize \\
      --out saved_models/embedder/1
  saved_model_cli show --dir saved_models/sentiment/1 --all

tasks:
  embed     any model directory: `embedding` [B, H] from its encoder (--pooling, --normalize;
            a converted sentence-transformers model keeps its pooling, Normalize and
            max_seq_length, so the embeddings are SentenceTransformer.encode's)
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
                             "(default: the fine-tuning --seq-length; for embed the recorded "
                             "one, e.g. sentence-transformers' max_seq_length; else the "
                             "model's max_position_embeddings)")
    parser.add_argument("--pooling", choices=POOLING_MODES, default=None,
                        help="embed: the [CLS] state or the mean of the tokens (default: the "
                             "model directory's, e.g. a sentence-transformers model's pooling, "
                             "else cls)")
    parser.add_argument("--normalize", action=argparse.BooleanOptionalAction, default=None,
                        help="embed: scale embeddings to unit L2 norm (default: as the model "
                             "directory records, e.g. a sentence-transformers Normalize, else "
                             "off)")
    parser.add_argument("--top-k", type=int, default=5,
                        help="mlm: tokens returned per [MASK] (default 5)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing version directory (atomically)")
    parser.add_argument("--serving-version", choices=SERVING_VERSIONS,
                        default=DEFAULT_SERVING_VERSION,
                        help="the oldest TF Serving release that must run the export: the op "
                             "audit allows only what it links (e.g. TFText>RoundRobinTrim from "
                             f"2.20); recorded in tfbert.json (default {DEFAULT_SERVING_VERSION})")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.export import export_model

    export_model(args.model, args.task, args.out, pooling=args.pooling,
                 normalize=args.normalize, seq_length=args.seq_length, top_k=args.top_k,
                 overwrite=args.overwrite, serving_version=args.serving_version,
                 progress=print)
    return 0
