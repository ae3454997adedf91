"""Process-wide settings that tfbert's command line applies: the CPU allocator, chosen before any
TF op runs, a stderr without TensorFlow's native INFO lines, and what `--dtype auto` means on
this machine.

TensorFlow's default CPU allocator hands large tensors to the C library, which maps fresh pages
for each one and unmaps them when freed: every training step of a BERT model then page-faults
hundreds of MB back in (a quarter of a bert_tiny step's CPU time on a 2-core VM was kernel time).
TF's BFC allocator keeps freed blocks for reuse instead. It is chosen by an environment variable
that TF reads once, when the first tensor is allocated, so it must be set before any op runs.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from typing import Iterator

CPU_ALLOCATOR_VARIABLE = "TF_CPU_ALLOCATOR_USE_BFC"


def use_caching_cpu_allocator() -> bool:
    """Selects TF's caching (BFC) CPU allocator unless the environment already chose; returns
    whether it is selected.

    Call it before the first TensorFlow op of the process; later calls have no effect on the
    allocator already in use. The cost: memory freed by TF stays with the process for reuse.

    >>> import os
    >>> os.environ[CPU_ALLOCATOR_VARIABLE] = "false"  # an explicit choice is kept
    >>> use_caching_cpu_allocator()
    False
    >>> del os.environ[CPU_ALLOCATOR_VARIABLE]
    """
    value = os.environ.setdefault(CPU_ALLOCATOR_VARIABLE, "true")
    return value.strip().lower() in ("1", "true")


# What TensorFlow's native code prints through absl at INFO or WARNING level, which no
# environment variable silences (e.g. the TF1 session loader's "MLIR V1 optimization pass is not
# enabled"), and absl's notice before its first line.
_NATIVE_LOG_LINE = re.compile(
    rb"^([IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] |WARNING: All log messages before "
    rb"absl::InitializeLog\(\) is called)")


@contextlib.contextmanager
def without_native_info_logs() -> Iterator[None]:
    """Drops TensorFlow's native INFO/WARNING log lines from the process's stderr (file
    descriptor 2) while the block runs; every other line passes through as it is written.

    For the command line only: it owns the process's stderr. Errors (E/F lines) still show.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not _NATIVE_LOG_LINE.match(line):
                    os.write(saved, line)

    thread = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the thread drains and ends
        thread.join(timeout=5)
        os.close(saved)


# CPU flags (/proc/cpuinfo) of native bfloat16 matrix arithmetic: AVX512_BF16 dot products, or
# AMX's bfloat16 tile multiply (amx_tile alone is the tile registers, not bf16 arithmetic).
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = "/proc/cpuinfo"


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags in /proc/cpuinfo text (its first "flags" line; none if it has none).

    >>> sorted(cpu_flags("processor : 0\\nflags : fpu avx2 avx512_bf16\\n"))
    ['avx2', 'avx512_bf16', 'fpu']
    """
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def read_cpuinfo(path: str = CPUINFO) -> str:
    """The text of /proc/cpuinfo ("" where there is none, e.g. macOS)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return ""


def choose_dtype(requested: str, *, tpu: bool = False, gpu: bool = False,
                 cpuinfo: str = "") -> tuple[str, str]:
    """The Keras dtype policy for `requested` ("auto" or a policy) and why, in a few words.

    auto: mixed_bfloat16 on TPU and on CPUs with native bfloat16 math (`BF16_CPU_FLAGS` in
    `cpuinfo`); float32 elsewhere, including GPUs, where mixed_float16 is faster on tensor
    cores but needs loss scaling, so it stays an explicit choice.

    >>> choose_dtype("auto", cpuinfo="flags : avx2 amx_tile amx_bf16")
    ('mixed_bfloat16', 'the CPU has amx_bf16 (native bfloat16 matrix math)')
    >>> choose_dtype("auto", cpuinfo="flags : avx2 fma")[0], choose_dtype("float32", tpu=True)
    ('float32', ('float32', 'as requested'))
    """
    if requested != "auto":
        return requested, "as requested"
    if tpu:
        return "mixed_bfloat16", "TPU (bfloat16 matrix units)"
    if gpu:
        return "float32", ("GPU; mixed_float16 (--dtype mixed_float16, with loss scaling) is "
                           "faster on tensor cores")
    found = [flag for flag in BF16_CPU_FLAGS if flag in cpu_flags(cpuinfo)]
    if found:
        return "mixed_bfloat16", f"the CPU has {', '.join(found)} (native bfloat16 matrix math)"
    return "float32", (f"the CPU has none of {', '.join(BF16_CPU_FLAGS)}, so bfloat16 would be "
                       "emulated, slower than float32")
