"""Size and time caps so that one hostile or broken page can never stall a worker.

Time cap, two mechanisms (both raise `CleanError("timeout")` through `clean`):
- on the main thread, when no one else uses the real-time interval timer, SIGALRM (`signal.setitimer`)
  interrupts the extraction wherever it is in Python code;
- elsewhere (worker threads, or a timer already in use) a cooperative `Deadline` that the extraction
  checks between its steps and, in the text cleaner, every few hundred lines. Inside one trafilatura call
  nothing can interrupt it there, so the size cap is what bounds that step.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_TIMEOUT_SECONDS = 10.0


class CleanError(Exception):
    """The page cannot be cleaned; `reason` is a short machine-friendly string (too_large, timeout, too_deep, empty, not_text)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class TimeLimitExceeded(BaseException):
    """Raised by the alarm; a BaseException so that library code catching Exception cannot swallow it."""


def max_bytes() -> int:
    return int(os.environ.get("NEWSWIRE_CLEAN_MAX_BYTES", DEFAULT_MAX_BYTES))


def timeout_seconds() -> float:
    return float(os.environ.get("NEWSWIRE_CLEAN_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def check_size(raw: str, limit: int) -> None:
    # A str holds at most 4 UTF-8 bytes per character: encode only when the cheap bounds cannot decide.
    if len(raw) > limit or (len(raw) * 4 > limit and len(raw.encode("utf-8", "surrogatepass")) > limit):
        raise CleanError("too_large", f"more than {limit} bytes")


class Deadline:
    def __init__(self, seconds: float):
        self.expires_at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.expires_at:
            raise TimeLimitExceeded()


def _alarm_available() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )


@contextmanager
def time_limit(seconds: float) -> Iterator[Deadline]:
    """Yields a Deadline for cooperative checks; also arms SIGALRM when that is safe. Raises CleanError("timeout")."""
    deadline = Deadline(seconds)
    armed = _alarm_available()

    def on_alarm(signum, frame) -> None:
        if armed:  # a late signal after the work finished is ignored
            raise TimeLimitExceeded()

    if armed:
        previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    try:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, seconds)
        yield deadline
    except TimeLimitExceeded:
        raise CleanError("timeout", f"over {seconds:g} s") from None
    finally:
        if armed:
            armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
