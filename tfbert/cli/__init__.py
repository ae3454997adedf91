"""The `tfbert` command line: one sub-command per module in this package.

Each command module exposes ``register(subparsers)``, which adds its parser and sets ``func``
to a function taking the parsed arguments. Registering imports no TensorFlow, so `--help`
answers at once; ``python -m tfbert`` is the same. Unless `--verbose` is given (or the
environment already chose a level), TensorFlow's own C++ and Python logs are kept to errors
that end the command, which tfbert reports itself.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys

from tfbert.runtime import use_caching_cpu_allocator, without_native_info_logs

# Sub-command name -> module in tfbert.cli that implements it.
_COMMANDS = {
    "vocab": "tfbert.cli.vocab",
    "segment": "tfbert.cli.segment",
    "convert": "tfbert.cli.convert",
    "pretrain": "tfbert.cli.pretrain",
    "finetune": "tfbert.cli.finetune",
    "evaluate": "tfbert.cli.evaluate",
    "export": "tfbert.cli.export",
    "serve": "tfbert.cli.serve",
    "predict": "tfbert.cli.predict",
}

_EXAMPLE = """examples:
  tfbert vocab --corpus corpus.txt --size 8000 --out vocab.txt
  tfbert pretrain --config bert_tiny --corpus corpus.txt --vocab vocab.txt --out models/tiny \\
      --steps 1000 --batch-size 32
  tfbert finetune --task classify --model models/tiny --train train.csv --out models/clf
  tfbert export --model models/clf --task classify --out saved_models/clf/1
  tfbert COMMAND --help    (every command has examples)"""

# TF's C++ log level when the user did not choose one: 3 hides INFO, WARNING and ERROR lines
# (CUDA probing on CPU machines logs errors); real failures still raise and are reported.
QUIET_CPP_LOG_LEVEL = "3"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfbert", description="BERT for TensorFlow: convert, train, export and serve.",
        epilog=_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in _COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    for subparser in subparsers.choices.values():
        subparser.add_argument("--verbose", action="store_true",
                               help="show TensorFlow's own log lines (INFO and up)")
    return parser


def quiet_tensorflow(verbose: bool) -> None:
    """Before TensorFlow is imported: its C++ log level (unless the environment set one, or
    `verbose`), and, once imported, its Python logger."""
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        logging.basicConfig(level=logging.INFO)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_CPP_LOG_LEVEL)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the process exit code."""
    use_caching_cpu_allocator()  # before any TF op; set TF_CPU_ALLOCATOR_USE_BFC=false to opt out
    args = build_parser().parse_args(argv)
    quiet_tensorflow(args.verbose)
    quiet = contextlib.nullcontext() if args.verbose else without_native_info_logs()
    try:
        with quiet:
            return args.func(args) or 0
    except (ValueError, TypeError, OSError) as error:
        print(f"tfbert {args.command}: error: {error}", file=sys.stderr)
        return 2


__all__ = ["main", "build_parser"]
