"""Memory of the stage processes: large blocks go back to the system as soon as they are freed.

glibc serves a block larger than its mmap threshold with a mapping of its own, which `free` unmaps. By default the
threshold rises to the largest block freed so far (up to 32 MB), so after the first stage batch the encoder's
multi-megabyte inputs and activations come from the heap instead, and the heap keeps the pages they leave behind:
an enrich process that tagged 419 articles in batches of 32 peaked at 808–826 MB, against 587 MB with the
threshold fixed at 1 MB (2–3 % more CPU for the mappings; docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes

MMAP_THRESHOLD_BYTES = 1 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h


def return_large_blocks_to_the_system() -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD_BYTES (which also stops it rising); False where the C library is
    not glibc (musl, for one, has no such threshold to fix)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    return bool(mallopt and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
