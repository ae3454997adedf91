"""`tfbert vocab`: learn a WordPiece vocabulary from text files."""
from __future__ import annotations

import argparse
import sys
import time

EXAMPLE = """example:
  tfbert vocab --corpus wiki_*.txt books.txt --size 30522 --out vocab.txt --lower-case

Words are split exactly as tfbert.BertTokenizer splits them. Every character seen at least
--min-char-count times is a token, whatever its script (a ## form too where it occurs inside a
word; Chinese characters are one-character words and need none); tf-text's WordPiece learner
picks the longer pieces. Special tokens keep the ids of Google's vocabularies: [PAD]=0,
[unused0..98]=1..99, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103. At the end the corpus is
tokenized with the written vocabulary and the share of its characters (and of its Chinese
characters) that become [UNK] is reported."""

COVERAGE_LINES = 1_000_000  # lines tokenized to measure the [UNK] share


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
        help="vocabulary size wanted, special tokens included (reached within 5%%, or the "
        "report says why not)",
    )
    parser.add_argument("--out", required=True, metavar="PATH", help="where to write vocab.txt")
    parser.add_argument(
        "--lower-case", action="store_true",
        help="lowercase and strip accents, for uncased models (default: cased)",
    )
    parser.add_argument(
        "--min-char-count", type=int, default=2, metavar="N",
        help="characters seen fewer times become [UNK] (default: 2; characters seen once are "
        "mostly typos and stray symbols)",
    )
    parser.add_argument(
        "--coverage-lines", type=int, default=COVERAGE_LINES, metavar="N",
        help=f"lines (from the start of the corpus) tokenized to measure the [UNK] share "
        f"(default: {COVERAGE_LINES:,})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfbert.text.vocab_coverage import unknown_share
    from tfbert.text.vocab_learner import learn_vocab, write_vocab

    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    progress(f"counting words in {len(args.corpus)} file(s)")
    tokens = learn_vocab(args.corpus, args.size, lower_case=args.lower_case,
                         min_char_count=args.min_char_count, progress=progress)
    write_vocab(tokens, args.out)
    progress(f"wrote {len(tokens):,} tokens to {args.out}")
    progress(f"tokenizing up to {args.coverage_lines:,} lines with it")
    share = unknown_share(args.corpus, args.out, lower_case=args.lower_case,
                          max_lines=args.coverage_lines)
    progress(share.describe())
    return 0
