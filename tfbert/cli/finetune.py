"""`tfbert finetune`: fine-tune a model directory for a task with model.fit."""
from __future__ import annotations

import argparse

from tfbert.names import FINETUNE_TASKS
from tfbert.training.options import TrainingOptions

EXAMPLE = """examples:
  tfbert finetune --task classify --model models/bert_base --train train.csv --eval dev.csv \\
      --out models/sentiment --epochs 3 --batch-size 32 --seq-length 128
  tfbert finetune --task classify --model models/bert_base --train pairs.jsonl \\
      --text-column premise --text-pair-column hypothesis --out models/nli
  tfbert finetune --task regress --model models/bert_base --train sts_train.tsv \\
      --eval sts_dev.tsv --text-column sentence1 --text-pair-column sentence2 \\
      --label-column score --out models/sts

  tfbert finetune --task tag --model models/bert_base --train train.conll --eval dev.conll \
      --out models/ner --seq-length 128
  tfbert finetune --task qa --model models/bert_base --train train-v2.0.json \
      --eval dev-v2.0.json --out models/squad --seq-length 384 --doc-stride 128

tasks:
  classify  a label per text or text pair; cross-entropy; eval: accuracy, macro-F1, per class
  regress   a number per text or text pair (STS-B style); MSE; eval: Pearson, Spearman, MSE
  tag       a tag per word (NER): CoNLL files (token ... tag per line, blank line between
            sentences) or JSONL {"text", "entities": [{"start", "end", "label"}]}; IOB1, IOB2,
            BIOES; long sentences in overlapping windows; eval: entity P/R/F1 (seqeval)
  qa        SQuAD v1.1 / v2.0 JSON; long contexts in windows (--doc-stride); v2.0 picks its
            no-answer threshold on --eval; eval: exact and F1 (the official script)

classify/regress files: .csv or .tsv with a header row, or .jsonl (one object per line), with
the columns text, optional text_pair, and label. classify: labels are names, sorted and stored in OUT
(config.json), so exports and predictions return them; labels in --eval must appear in --train.
regress: labels are numbers. Every file problem is reported with its file and line before
training. OUT is written atomically at the end, with history.json and finetuning.json."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "finetune", help="fine-tune a model directory for a task",
        description="Fine-tune BERT with model.fit, on one device or under tf.distribute.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=FINETUNE_TASKS, default="classify",
                        help="what to learn (default classify)")
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="model directory to start from (pretrained, converted, ...)")
    parser.add_argument("--train", required=True, metavar="FILE", help=".csv, .tsv or .jsonl")
    parser.add_argument("--eval", metavar="FILE", help="scored after every epoch")
    parser.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    parser.add_argument("--epochs", type=int, default=3, help="passes over --train (default 3)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="B",
                        help="global batch size (default 32)")
    parser.add_argument("--seq-length", type=int, default=128, metavar="L",
                        help="packed length, at most the model's max_position_embeddings "
                             "(default 128)")
    columns = parser.add_argument_group("classify and regress")
    columns.add_argument("--text-column", metavar="NAME", help="default: text")
    columns.add_argument("--text-pair-column", metavar="NAME", help="default: text_pair")
    columns.add_argument("--label-column", metavar="NAME", help="default: label")
    tagging = parser.add_argument_group("tag")
    tagging.add_argument("--stride", type=int, metavar="N",
                         help="pieces between the starts of a long sentence's windows "
                              "(default: half a window)")
    squad = parser.add_argument_group("qa")
    squad.add_argument("--max-query-length", type=int, metavar="N",
                       help="question pieces kept (default 64)")
    squad.add_argument("--doc-stride", type=int, metavar="N",
                       help="context pieces between window starts (default 128)")
    squad.add_argument("--max-answer-length", type=int, metavar="N",
                       help="longest answer in pieces (default 30)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    TrainingOptions.add_arguments(parser)
    parser.set_defaults(func=run)


# Task settings given as flags (each task takes its own; see the groups above).
_SETTINGS = ("text_column", "text_pair_column", "label_column", "stride", "max_query_length",
             "doc_stride", "max_answer_length")


def run(args: argparse.Namespace) -> int:
    from tfbert.training.finetuning import finetune

    history = finetune(
        model_dir=args.model, train_file=args.train, eval_file=args.eval, out=args.out,
        task=args.task, epochs=args.epochs, batch_size=args.batch_size,
        seq_length=args.seq_length, overwrite=args.overwrite,
        settings={name: getattr(args, name) for name in _SETTINGS if getattr(args, name)
                  is not None},
        options=TrainingOptions.from_args(args))
    last = history[-1]
    metrics = ", ".join(f"{key} {value:.4f}" for key, value in last.items()
                        if key in ("loss", "accuracy", "val_accuracy", "val_macro_f1",
                                   "val_pearson", "val_spearman", "val_f1", "val_exact"))
    print(f"wrote {args.out} after {last['step']} steps: {metrics}")
    return 0
