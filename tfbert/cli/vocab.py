"""`tfbert vocab`: learn a WordPiece vocabulary from text files."""
from __future__ import annotations

import argparse
import sys
import time

EXAMPLE = """example:
  tfbert vocab --corpus wiki_*.txt books.txt --size 30522 --out vocab.txt --lower-case

Words are split exactly as tfbert.BertTokenizer splits them, then tf-text's WordPiece learner
picks the pieces. Special tokens keep the ids of Google's uncased vocabulary: [PAD]=0,
[unused0..98]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "vocab",
        help="learn a WordPiece vocabulary from a corpus",
        description="Learn a WordPiece vocabulary (vocab.txt) from text files, one sentence or "
        "paragraph per line.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", nargs="+", required=True, metavar="FILE", help="text files")
    parser.add_argument(
        "--size", type=int, required=True, metavar="N",
        help="largest vocabulary size, special tokens included (the learner aims within 5%% "
        "below it)",
    )
    parser.add_argument("--out", required=True, metavar="PATH", help="where to write vocab.txt")
    parser.add_argument(
        "--lower-case", action="store_true",
        help="lowercase and strip accents, for uncased models (default: cased)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.text.vocab_learner import learn_vocab, write_vocab

    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    progress(f"counting words in {len(args.corpus)} file(s)")
    tokens = learn_vocab(args.corpus, args.size, lower_case=args.lower_case, progress=progress)
    write_vocab(tokens, args.out)
    progress(f"wrote {len(tokens):,} tokens to {args.out}")
    return 0
