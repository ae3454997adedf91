"""Process-wide TensorFlow settings that tfbert's command line applies before any TF op runs.

TensorFlow's default CPU allocator hands large tensors to the C library, which maps fresh pages
for each one and unmaps them when freed: every training step of a BERT model then page-faults
hundreds of MB back in (a quarter of a bert_tiny step's CPU time on a 2-core VM was kernel time).
TF's BFC allocator keeps freed blocks for reuse instead. It is chosen by an environment variable
that TF reads once, when the first tensor is allocated, so it must be set before any op runs.
"""
from __future__ import annotations

import os

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
