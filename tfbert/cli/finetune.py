"""`tfbert finetune`: fine-tune a model directory on labelled text with model.fit."""
from __future__ import annotations

import argparse

EXAMPLE = """examples:
  tfbert finetune --task classify --model models/bert_base --train train.csv --eval dev.csv \\
      --out models/sentiment --epochs 3 --batch-size 32 --seq-length 128
  tfbert finetune --task classify --model models/bert_base --train pairs.jsonl \\
      --text-column premise --text-pair-column hypothesis --out models/nli

Files: .csv or .tsv with a header row, or .jsonl (one object per line), with the columns
text, optional text_pair, and label (names; any strings). The labels are sorted and stored
in OUT (config.json), so exports and predictions return label names. Labels in --eval must
appear in --train. OUT is written atomically at the end, with history.json."""


def register(subparsers) -> None:
    from tfbert.training.options import TrainingOptions

    parser = subparsers.add_parser(
        "finetune", help="fine-tune a model directory on labelled text",
        description="Fine-tune BERT with model.fit, on one device or under tf.distribute.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=("classify",), default="classify")
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="model directory to start from (pretrained, converted, ...)")
    parser.add_argument("--train", required=True, metavar="FILE", help=".csv, .tsv or .jsonl")
    parser.add_argument("--eval", metavar="FILE", help="evaluated after every epoch")
    parser.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, metavar="B",
                        help="global batch size")
    parser.add_argument("--seq-length", type=int, default=128, metavar="L")
    parser.add_argument("--text-column", default="text", metavar="NAME")
    parser.add_argument("--text-pair-column", default="text_pair", metavar="NAME")
    parser.add_argument("--label-column", default="label", metavar="NAME")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    TrainingOptions.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.training.finetuning import finetune
    from tfbert.training.options import TrainingOptions

    history = finetune(
        model_dir=args.model, train_file=args.train, eval_file=args.eval, out=args.out,
        task=args.task, epochs=args.epochs, batch_size=args.batch_size,
        seq_length=args.seq_length, text_column=args.text_column,
        text_pair_column=args.text_pair_column, label_column=args.label_column,
        overwrite=args.overwrite,
        options=TrainingOptions.from_args(args, default_learning_rate=5e-5))
    last = history[-1]
    metrics = ", ".join(f"{key} {last[key]:.4f}" for key in ("accuracy", "val_accuracy")
                        if key in last)
    print(f"wrote {args.out} after {last['step']} steps: {metrics}")
    return 0
