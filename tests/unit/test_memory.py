"""The stage processes' allocator setting (workers/runtime/memory.py), checked in fresh interpreters."""

import platform
import subprocess
import sys

import pytest

# Blocks of 2 MB freed between small blocks that live on: glibc's default threshold has risen to 16 MB by then,
# so they come from the heap, which cannot give their pages back; with the fixed threshold each is a mapping.
PROGRAM = """
import sys, numpy as np, psutil
from workers.runtime import memory
if sys.argv[1] == "fixed":
    assert memory.return_large_blocks_to_the_system()
big = np.ones(16 << 20, dtype=np.uint8); del big
before = psutil.Process().memory_info().rss
blocks, kept = [], []
for _ in range(64):
    blocks.append(np.ones(2 << 20, dtype=np.uint8))
    kept.append(np.ones(1024))
del blocks
print((psutil.Process().memory_info().rss - before) >> 20)
"""


def _retained_mb(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", PROGRAM, mode], check=True, capture_output=True, text=True).stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the threshold is glibc's")
def test_freed_large_blocks_go_back_to_the_system_only_with_the_fixed_threshold():
    assert _retained_mb("default") >= 100  # 128 MB freed, kept by the heap
    assert _retained_mb("fixed") <= 8
