"""`tfbert pretrain`: masked-LM (+ next-sentence) pretraining with model.fit."""
from __future__ import annotations

import argparse

EXAMPLE = """examples:
  tfbert pretrain --config bert_tiny --corpus wiki_*.txt --vocab vocab.txt --out models/tiny \\
      --steps 10000 --batch-size 256 --seq-length 128
  tfbert pretrain --init models/bert_base --corpus domain.txt --out models/domain_bert \\
      --steps 20000 --batch-size 64 --seq-length 128 --learning-rate 2e-5   # continued pretraining
  tfbert pretrain ... --strategy mirrored               # all local GPUs
  TF_CONFIG='{"cluster": ..., "task": ...}' tfbert pretrain ... --strategy multi_worker
  tfbert pretrain ... --strategy tpu --tpu my-tpu --dtype mixed_bfloat16 --steps-per-execution 100

The corpus is plain text, one sentence per line, a blank line between documents; it is
masked afresh every epoch. --records reads TFRecords of original BERT's
create_pretraining_data.py instead. Every --steps-per-epoch steps the run logs (TensorBoard in
OUT.work/logs), writes a backup and a model-directory checkpoint; a killed run restarted with
the same command resumes where the last backup was taken. OUT is written atomically at the end,
with history.json."""


def register(subparsers) -> None:
    from tfbert.training.options import TrainingOptions

    parser = subparsers.add_parser(
        "pretrain", help="pretrain BERT (masked LM + next sentence) on text files",
        description="Pretrain BERT with model.fit, on one device or under tf.distribute.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", metavar="NAME|PATH",
                        help="preset (bert_tiny ... bert_large) or bert_config.json")
    source.add_argument("--init", metavar="DIR", help="start from this model directory")
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--corpus", nargs="+", metavar="FILE", help="text files")
    data.add_argument("--records", nargs="+", metavar="FILE",
                      help="TFRecords of original BERT's create_pretraining_data.py")
    parser.add_argument("--vocab", metavar="FILE",
                        help="vocab.txt (default: the --init directory's); a --config preset "
                             "takes its size as vocab_size")
    parser.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    parser.add_argument("--steps", type=int, required=True, metavar="N", help="optimizer steps")
    parser.add_argument("--batch-size", type=int, required=True, metavar="B",
                        help="global batch size (all replicas together)")
    parser.add_argument("--seq-length", type=int, default=128, metavar="L")
    parser.add_argument("--max-predictions-per-seq", type=int, default=20, metavar="P")
    parser.add_argument("--masking-rate", type=float, default=0.15)
    parser.add_argument("--whole-word-masking", action="store_true")
    parser.add_argument("--no-next-sentence", dest="next_sentence", action="store_false",
                        help="masked LM only (RoBERTa style)")
    parser.add_argument("--lower-case", action=argparse.BooleanOptionalAction, default=None,
                        help="lowercase and strip accents (uncased), or not (default: the "
                             "vocabulary's casing: uncased if no token has upper case)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    TrainingOptions.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.training import TrainingOptions, pretrain

    history = pretrain(
        corpus=args.corpus or (), records=args.records or (), vocab_file=args.vocab,
        out=args.out, steps=args.steps, batch_size=args.batch_size, seq_length=args.seq_length,
        config=args.config, init=args.init,
        max_predictions_per_seq=args.max_predictions_per_seq, masking_rate=args.masking_rate,
        whole_word_masking=args.whole_word_masking, next_sentence=args.next_sentence,
        lower_case=args.lower_case, overwrite=args.overwrite,
        options=TrainingOptions.from_args(args))
    last = history[-1] if history else {}
    summary = ", ".join(f"{key} {last[key]:.4f}" for key in ("loss", "mlm_logits_accuracy")
                        if key in last)
    print(f"wrote {args.out} after {last.get('step', 0)} steps"
          + (f": {summary}" if summary else ""))
    return 0
