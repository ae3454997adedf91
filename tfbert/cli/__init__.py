"""The `tfbert` command line: one sub-command per module in this package.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a function taking the parsed arguments. ``python -m tfbert`` is the same.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from tfbert.runtime import use_caching_cpu_allocator

# Sub-command name -> module in tfbert.cli that implements it.
_COMMANDS = {
    "vocab": "tfbert.cli.vocab",
    "convert": "tfbert.cli.convert",
    "pretrain": "tfbert.cli.pretrain",
    "finetune": "tfbert.cli.finetune",
    "export": "tfbert.cli.export",
    "serve": "tfbert.cli.serve",
    "predict": "tfbert.cli.predict",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tfbert",
        description="BERT for TensorFlow: convert, train, export and serve.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in _COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the process exit code."""
    use_caching_cpu_allocator()  # before any TF op; set TF_CPU_ALLOCATOR_USE_BFC=false to opt out
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (ValueError, TypeError, OSError) as error:
        print(f"tfbert {args.command}: error: {error}", file=sys.stderr)
        return 2


__all__ = ["main", "build_parser"]
