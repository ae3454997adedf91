"""`tfbert convert`: another format's BERT -> a tfbert model directory."""
from __future__ import annotations

import argparse

from tfbert.names import CONVERT_SOURCES, CONVERT_TARGETS

_EXAMPLE = """example:
  tfbert convert --from hf ./bert-base-uncased --out ./models/bert_base
  tfbert convert --from hf google-bert/bert-base-uncased@main --out ./models/bert_base
  tfbert convert --from keras-hub bert_tiny_en_uncased --out ./models/bert_tiny
  python -c "import tfbert; print(tfbert.load('./models/bert_base').summary())"
  tfbert convert --to hf ./models/classifier --out ./hf_classifier   # back to transformers

sources:
  garden     a TF Model Garden (tf-models-official) TF2 checkpoint: a folder (latest checkpoint,
             or bert_model.ckpt; bert_config.json and vocab.txt used if present) or a prefix
             such as run/ckpt-10000; a BertEncoder, BertPretrainerV2, BertClassifier or
             BertSpanLabeler, wherever it sits in the checkpoint
  google     an original Google BERT folder: bert_config.json, vocab.txt, bert_model.ckpt
             (or an --output_dir of run_classifier.py / run_squad.py: latest model.ckpt-N)
  hf         an HF transformers folder (save_pretrained): config.json, model.safetensors
             (or shards, or pytorch_model.bin with torch installed), vocab.txt; or a
             sentence-transformers folder (modules.json: Transformer, Pooling cls or mean,
             optional Normalize), whose pooling, Normalize and max_seq_length `tfbert export
             --task embed` then uses; or an HF hub id ORG/NAME[@REVISION], fetched with
             huggingface_hub into its cache (HF_HUB_CACHE; offline: HF_HUB_OFFLINE=1 reads
             the cache only)
  keras-hub  a keras-hub BertBackbone preset folder (save_to_preset), or a preset name such
             as bert_tiny_en_uncased, loaded by keras-hub through kagglehub's cache
             (KAGGLEHUB_CACHE)

A local folder always wins over a hub name of the same spelling.

targets (--to):
  hf         an HF transformers folder (config.json, model.safetensors, vocab.txt,
             tokenizer_config.json, special_tokens_map.json) that AutoModelFor*.from_pretrained
             and AutoTokenizer.from_pretrained load: BertModel, BertForPreTraining,
             BertForMaskedLM, BertForSequenceClassification (classify, regress),
             BertForTokenClassification, BertForQuestionAnswering
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert", help="convert a BERT checkpoint to a tfbert model directory (or back to HF)",
        description="Converts a BERT checkpoint of another format to a tfbert model directory "
                    "(config.json, vocab.txt, bert_model.ckpt). Works offline, except for "
                    "a hub name that is not in its hub's cache yet.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    direction = parser.add_mutually_exclusive_group(required=True)
    direction.add_argument("--from", dest="source_format", choices=CONVERT_SOURCES,
                           help="format of SRC (SRC -> tfbert model directory)")
    direction.add_argument("--to", dest="target_format", choices=CONVERT_TARGETS,
                           help="format to write (SRC, a tfbert model directory -> --out)")
    parser.add_argument("source", metavar="SRC",
                        help="the folder (or checkpoint) to convert, or a hub name (hf, "
                             "keras-hub)")
    parser.add_argument("--out", required=True,
                        help="model directory to write (with --to: the folder to write)")
    parser.add_argument("--vocab", metavar="FILE",
                        help="the vocabulary the weights were trained with, when SRC has none "
                             "(or to replace it)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if it exists (atomically)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from tfbert.convert import READERS, WRITERS

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.target_format is not None:
        if args.vocab is not None:
            raise ValueError("--vocab is for --from; with --to the model directory's own "
                             "vocab.txt is written.")
        progress(f"reading {args.source}; writing {args.out} ({args.target_format})")
        written = WRITERS[args.target_format](args.source, args.out, overwrite=args.overwrite)
        print(f"wrote {written.path}: {written.architecture}")
        for note in written.notes:
            print(f"note: {note}")
        return 0

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
