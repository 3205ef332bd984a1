"""Stopping a sync: SIGTERM or Ctrl-C ends it at the next safe point, as ``Stopped``.

Dagster's ``execute_in_process`` takes SIGINT and SIGTERM over while a run executes
(a signal interrupts the running step and fails the run) and afterwards leaves
SIGTERM mapped to whatever handles SIGINT. So a sync cannot rely on its own handler
seeing the signal: the signal numbers are read from Python's wakeup fd instead, which
the interpreter writes whichever Python handler is installed, and the sync asks
``raise_if_stopped`` between runs.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOPPED_SENTENCE = "stopped; nothing is left half-written, the next sync finishes the job"


class Stopped(BaseException):
    """The command was stopped by ``signum`` (a ``BaseException``, like KeyboardInterrupt:
    no ``except Exception`` on the way up may swallow it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # as a shell reports a command a signal ended: 130, 143


@contextmanager
def stoppable() -> Iterator[Callable[[], None]]:
    """Note SIGINT and SIGTERM instead of dying of them; yields ``raise_if_stopped``.

    Must be entered on the main thread (signal handlers live there).
    """
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    # A handler that does nothing: only so the signal does not kill the process or
    # raise KeyboardInterrupt mid-statement; the wakeup fd records it.
    for signum in STOP_SIGNALS:
        signal.signal(signum, _note)
    previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    received: list[int] = []

    def raise_if_stopped() -> None:
        with suppress(BlockingIOError):  # none: no signal since the last look
            received.extend(os.read(read, 256))
        stops = [signum for signum in received if signum in STOP_SIGNALS]
        if stops:
            raise Stopped(stops[0])

    try:
        yield raise_if_stopped
    finally:
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(read)
        os.close(write)


def _note(_signum: int, _frame: object) -> None:
    """The signal is read from the wakeup fd."""
