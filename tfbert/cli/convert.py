"""`tfbert convert`: another format's BERT -> a tfbert model directory."""
from __future__ import annotations

import argparse

from tfbert.names import CONVERT_SOURCES

_EXAMPLE = """example:
  tfbert convert --from hf ./bert-base-uncased --out ./models/bert_base
  python -c "import tfbert; print(tfbert.load('./models/bert_base').summary())"

sources:
  garden     a TF Model Garden (tf-models-official) TF2 checkpoint: a folder (latest checkpoint,
             or bert_model.ckpt; bert_config.json and vocab.txt used if present) or a prefix
             such as run/ckpt-10000; a BertEncoder, BertPretrainerV2, BertClassifier or
             BertSpanLabeler, wherever it sits in the checkpoint
  google     an original Google BERT folder: bert_config.json, vocab.txt, bert_model.ckpt
             (or an --output_dir of run_classifier.py / run_squad.py: latest model.ckpt-N)
  hf         an HF transformers folder (save_pretrained): config.json, model.safetensors
             (or shards, or pytorch_model.bin with torch installed), vocab.txt
  keras-hub  a keras-hub BertBackbone preset folder (save_to_preset)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert", help="convert a BERT checkpoint to a tfbert model directory",
        description="Converts a BERT checkpoint of another format to a tfbert model directory "
                    "(config.json, vocab.txt, bert_model.ckpt). Works offline.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source_format", required=True, choices=CONVERT_SOURCES,
                        help="format of SRC")
    parser.add_argument("source", metavar="SRC", help="the folder (or checkpoint) to convert")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--vocab", metavar="FILE",
                        help="the vocabulary the weights were trained with, when SRC has none "
                             "(or to replace it)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if it exists (atomically)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from tfbert.convert import READERS

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    progress(f"reading {args.source} ({args.source_format})")
    converted = READERS[args.source_format](args.source)
    progress(f"read {len(converted.weights)} tensors; writing {args.out}")
    path = converted.save(args.out, overwrite=args.overwrite, vocab_file=args.vocab)
    task = converted.task["class"]
    config = converted.config
    print(f"wrote {path}: {task}, {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
          f"{sum(w.size for w in converted.weights.values()):,} parameters")
    for note in converted.notes:
        print(f"note: {note}")
    return 0
