"""Process-wide settings that tfbert's command line applies: the CPU allocator, chosen before any
TF op runs, and a stderr without TensorFlow's native INFO lines.

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
