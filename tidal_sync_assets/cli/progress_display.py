"""Showing a sync's ``Progress`` on the command line while it runs.

On a terminal, a live display drawn by ``rich`` (it redraws in place and prints the
lines others write to stderr above itself); without one (cron, CI, a pipe), a plain
line every few seconds and one at the end, so a log shows how far a sync came.
Only names, counts and rates are shown: the model holds nothing else.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from tidal_sync_assets.progress import PROGRESS, Progress, WaitCounter
from tidal_sync_assets.tidal.http import WAITS

PLAIN_EVERY_SECONDS = 3.0
LIVE_REFRESHES_PER_SECOND = 4


class _Reading:
    """What rich draws on each refresh: the model's current line."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def __rich__(self) -> Text:
        return Text(f"tidal-sync: {self._progress.view().line()}")


@contextmanager
def show_progress(stream: IO[str] | None = None, progress: Progress = PROGRESS) -> Iterator[None]:
    """Show ``progress`` on ``stream`` (stderr by default) while the block runs."""
    out = stream if stream is not None else sys.stderr
    progress.start_over()  # nothing of an earlier sync in this process is shown
    counter = WaitCounter(progress)
    WAITS.addHandler(counter)
    try:
        if out.isatty():
            console = Console(file=out)
            with Live(
                _Reading(progress),
                console=console,
                refresh_per_second=LIVE_REFRESHES_PER_SECOND,
                redirect_stderr=True,
                transient=False,
            ):
                yield
        else:
            with _plain_lines(out, progress):
                yield
    finally:
        WAITS.removeHandler(counter)


@contextmanager
def _plain_lines(out: IO[str], progress: Progress) -> Iterator[None]:
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(PLAIN_EVERY_SECONDS):
            _print(out, progress)

    ticker = threading.Thread(target=tick, name="tidal-sync progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        stop.set()
        ticker.join()
        _print(out, progress)  # where the sync ended


def _print(out: IO[str], progress: Progress) -> None:
    view = progress.view()
    if not view.begun:  # until TIDAL answers, its waits (if any) speak for the sync
        return
    try:
        print(f"tidal-sync: {view.line()}", file=out, flush=True)
    except (OSError, ValueError):  # the reader went away: progress is not worth a failure
        logging.getLogger(__name__).debug("progress line not written", exc_info=True)
