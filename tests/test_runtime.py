"""tfbert.runtime: the command line's CPU allocator is in effect, and an explicit choice is kept."""
import os
import subprocess
import sys
import textwrap

import pytest

from tfbert.cli import main
from tfbert.runtime import CPU_ALLOCATOR_VARIABLE, use_caching_cpu_allocator

# Frees and re-allocates a 64 MB tensor 20 times, after importing tfbert; prints the page faults.
_FAULTS_SCRIPT = textwrap.dedent("""
    import resource, sys
    import tfbert, tensorflow as tf
    from tfbert.runtime import use_caching_cpu_allocator
    use_caching_cpu_allocator()
    f = tf.function(lambda x: tf.reduce_sum(tf.tile(x, [4096, 1])))
    x = tf.ones([1, 4096])
    f(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        f(x)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _page_faults(allocator: str | None) -> int:
    env = {key: value for key, value in os.environ.items() if key != CPU_ALLOCATOR_VARIABLE}
    if allocator is not None:
        env[CPU_ALLOCATOR_VARIABLE] = allocator
    result = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], env=env, check=True,
                            capture_output=True, text=True, timeout=300)
    return int(result.stdout.split()[-1])


def test_caching_allocator_reuses_memory_instead_of_faulting_it_back_in():
    # 20 fresh 64 MB tensors are 320k pages; the caching allocator maps them once.
    assert _page_faults(allocator=None) < 2_000
    assert _page_faults(allocator="false") > 100_000


def test_explicit_choice_is_kept(monkeypatch):
    monkeypatch.setenv(CPU_ALLOCATOR_VARIABLE, "False")
    assert use_caching_cpu_allocator() is False
    assert os.environ[CPU_ALLOCATOR_VARIABLE] == "False"


def test_command_line_selects_it_before_parsing(monkeypatch):
    monkeypatch.delenv(CPU_ALLOCATOR_VARIABLE, raising=False)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert os.environ[CPU_ALLOCATOR_VARIABLE] == "true"
