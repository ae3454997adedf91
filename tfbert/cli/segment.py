"""`tfbert segment`: mark jieba's Chinese words in a corpus, for whole-word masking."""
from __future__ import annotations

import argparse
import logging
import sys
import time

EXAMPLE = """example:
  tfbert segment --in corpus.txt --out corpus.seg.txt
  tfbert pretrain --corpus corpus.seg.txt --whole-word-masking ...

A space is inserted between two jieba words only where both neighbouring characters are CJK
ideographs: BERT's tokens stay the same (the tokenizer splits around every CJK ideograph), and
`--whole-word-masking` masks the characters of a word together. The rest of the file is kept
byte for byte; the output is written to a staged file and renamed when complete."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="mark Chinese words (jieba) in a corpus for whole-word masking",
        description="Segment the Chinese text of a corpus into words with jieba.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--in", dest="source", required=True, metavar="FILE",
                        help="text file, one sentence per line")
    parser.add_argument("--out", required=True, metavar="FILE", help="the segmented copy")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import jieba

    from tfbert.data.segmentation import segment_file

    if not args.verbose:
        jieba.setLogLevel(logging.WARNING)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    result = segment_file(args.source, args.out, progress=progress)
    progress(f"wrote {args.out}: {result.lines:,} lines, {result.spaces:,} spaces inserted")
    return 0
