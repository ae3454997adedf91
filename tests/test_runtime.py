"""tfbert.runtime: the command line selects the caching allocator before TensorFlow can allocate,
and an explicit choice is kept. (The allocator's effect, page faults and speed, depends on the CPU
and kernel: it is measured in benchmarks/, not asserted here.)"""
import os
import subprocess
import sys
import textwrap

import pytest

from tfbert.cli import main
from tfbert.runtime import CPU_ALLOCATOR_VARIABLE, use_caching_cpu_allocator

# Runs the command line's entry point in a fresh process and reports, when the command starts,
# the allocator variable and whether TensorFlow was imported yet (it allocates only once it is).
_PROBE = textwrap.dedent("""
    import os, sys
    import tfbert.cli.vocab
    from tfbert.cli import main
    def probe(args):
        print(os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"), "tensorflow" in sys.modules)
    tfbert.cli.vocab.run = probe  # registered as the command's function when main() parses
    main(["vocab", "--corpus", "x", "--size", "9", "--out", "y"])
""")


def _probe(allocator: str | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != CPU_ALLOCATOR_VARIABLE}
    if allocator is not None:
        env[CPU_ALLOCATOR_VARIABLE] = allocator
    result = subprocess.run([sys.executable, "-c", _PROBE], env=env, check=True,
                            capture_output=True, text=True, timeout=120)
    return result.stdout.strip()


def test_command_line_selects_it_before_tensorflow_is_imported():
    assert _probe(None) == "true False"


def test_command_line_keeps_an_explicit_choice():
    assert _probe("false") == "false False"


def test_explicit_choice_is_kept(monkeypatch):
    monkeypatch.setenv(CPU_ALLOCATOR_VARIABLE, "False")
    assert use_caching_cpu_allocator() is False
    assert os.environ[CPU_ALLOCATOR_VARIABLE] == "False"


def test_command_line_selects_it_before_parsing(monkeypatch):
    monkeypatch.delenv(CPU_ALLOCATOR_VARIABLE, raising=False)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert os.environ[CPU_ALLOCATOR_VARIABLE] == "true"
