"""A real stage worker whose pool process may spend at most CPU_SECONDS_PER_RECORD of CPU on one record (tests only).

    python -m tests.integration.cpu_limited_worker run clean     # the arguments of `newswire run`

Why this way: the worker-crash test needs one record that kills the stage's pool process, as a page that
exhausts a container's memory does in production (the OOM killer's SIGKILL). Production code has no switch
for that, and gets none (a hook that crashes on demand would be a backdoor). Instead this launcher, which only
the tests use, sets a real kernel limit in the pool process: before each record its RLIMIT_CPU soft limit is
set to the CPU time used so far plus CPU_SECONDS_PER_RECORD, so a page that really costs more CPU than that is
killed by the kernel (SIGXCPU) in the middle of its work, and pages of normal cost are not. The stage code that
runs is the shipped one; only the limit is the test's. The pool process is forked from the worker (Python
3.11's default on Linux), so the wrapped transform is in every pool process the worker starts, the fresh ones
after a crash included: the killing record kills its retry too and is dead-lettered as `worker_crash`.
The cleaner's wall-clock cap is raised for this worker, so that on a loaded machine the CPU limit, not the
clock, is what stops the expensive page.
"""

from __future__ import annotations

import math
import os
import resource
import sys

from workers.cli import main
from workers.runtime import records

CPU_SECONDS_PER_RECORD = 1  # normal pages cost ~15 ms of cleaning; the test's expensive page several seconds
CLEAN_TIMEOUT_SECONDS = "300"


def _limit_cpu(transform):
    def limited(record, max_bytes):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + CPU_SECONDS_PER_RECORD)
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))  # no core file
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))
        return transform(record, max_bytes)

    return limited


if __name__ == "__main__":
    os.environ["NEWSWIRE_CLEAN_TIMEOUT_SECONDS"] = CLEAN_TIMEOUT_SECONDS
    records.TRANSFORMS.update({stage: _limit_cpu(transform) for stage, transform in records.TRANSFORMS.items()})
    sys.exit(main(sys.argv[1:]))
