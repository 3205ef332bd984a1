"""How far a sync has come: playlists fetched, files downloaded of total, bytes, waits.

A small thread-safe model that the TIDAL fetch and the library executor report into
(downloads run in a pool) and that the renderers read (``progress_display`` on the
command line, the run's log in the Dagster UI). It holds names, counts and rates only,
never a URL or a token, so nothing it says can leak one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Progress lines for the run's log (a managed python logger of the instance).
PROGRESS_LOG = logging.getLogger("tidal_sync_assets.progress")
PROGRESS_LOG.setLevel(logging.INFO)  # INFO lines, though the root logger says WARNING
LOG_EVERY_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ProgressView:
    """One consistent reading of the counters."""

    playlists_fetched: int
    playlists_to_fetch: int
    files_downloaded: int
    files_failed: int
    files_total: int
    bytes_downloaded: int
    seconds_downloading: float
    waits: int

    @property
    def begun(self) -> bool:
        """Whether there is anything to tell yet (playlists or files ahead, or a wait)."""
        return bool(self.playlists_to_fetch or self.files_total or self.waits)

    @property
    def files_finished(self) -> int:
        return self.files_downloaded + self.files_failed

    @property
    def megabytes_per_second(self) -> float:
        if self.seconds_downloading <= 0:
            return 0.0
        return self.bytes_downloaded / 1e6 / self.seconds_downloading

    @property
    def eta_seconds(self) -> float | None:
        """Seconds until every file is done, at the pace so far (None before the first)."""
        if not self.files_finished or self.files_total <= self.files_finished:
            return None if not self.files_finished else 0.0
        per_file = self.seconds_downloading / self.files_finished
        return per_file * (self.files_total - self.files_finished)

    def line(self) -> str:
        """The whole reading in one plain line."""
        parts = []
        if self.playlists_to_fetch:
            parts.append(f"playlists fetched {self.playlists_fetched}/{self.playlists_to_fetch}")
        if self.files_total:
            failed = f" ({self.files_failed} failed)" if self.files_failed else ""
            parts.append(f"files {self.files_finished}/{self.files_total}{failed}")
            parts.append(
                f"{self.bytes_downloaded / 1e6:.1f} MB at {self.megabytes_per_second:.2f} MB/s"
            )
            eta = self.eta_seconds
            if eta:
                parts.append(f"ETA {format_seconds(eta)}")
        if self.waits:
            parts.append(f"rate-limit waits {self.waits}")
        return ", ".join(parts) or "starting"


def format_seconds(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """The counters of one sync; every method may be called from any thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._logged_at: float | None = None
        self.start_over()

    def start_over(self) -> None:
        """A new sync: nothing counted yet."""
        with self._lock:
            self._waits = 0
        self.begin_fetch(0)

    def begin_fetch(self, playlists: int) -> None:
        """``playlists`` are to be fetched (the list is in): the playlist and file
        counters start over; the waits for TIDAL so far still count."""
        with self._lock:
            self._playlists_fetched, self._playlists_to_fetch = 0, playlists
            self._reset_files(0)

    def begin_downloads(self, files: int) -> None:
        """``files`` downloads are ahead: the file counters and the clock start over."""
        with self._lock:
            self._reset_files(files)

    def _reset_files(self, files: int) -> None:
        self._files_total, self._downloaded, self._failed, self._bytes = files, 0, 0, 0
        self._downloads_started = self._clock()
        self._downloads_ended: float | None = None  # the rate stays that of the downloads

    def playlist_fetched(self) -> None:
        with self._lock:
            self._playlists_fetched += 1
        self._log_now_and_then()

    def file_downloaded(self, size: int) -> None:
        with self._lock:
            self._downloaded += 1
            self._bytes += size
            self._note_last_file()
        self._log_now_and_then()

    def file_failed(self) -> None:
        with self._lock:
            self._failed += 1
            self._note_last_file()
        self._log_now_and_then()

    def _note_last_file(self) -> None:
        if self._downloaded + self._failed == self._files_total:
            self._downloads_ended = self._clock()

    def waited(self) -> None:
        with self._lock:
            self._waits += 1

    def view(self) -> ProgressView:
        with self._lock:
            return ProgressView(
                playlists_fetched=self._playlists_fetched,
                playlists_to_fetch=self._playlists_to_fetch,
                files_downloaded=self._downloaded,
                files_failed=self._failed,
                files_total=self._files_total,
                bytes_downloaded=self._bytes,
                seconds_downloading=(self._downloads_ended or self._clock())
                - self._downloads_started,
                waits=self._waits,
            )

    def _log_now_and_then(self) -> None:
        """A line in the run's log every few seconds, and when the files are all done."""
        view = self.view()
        now = self._clock()
        with self._lock:
            done = bool(view.files_total) and view.files_finished == view.files_total
            recent = self._logged_at is not None and now - self._logged_at < LOG_EVERY_SECONDS
            if recent and not done:
                return
            self._logged_at = now
        PROGRESS_LOG.info("progress: %s", view.line())


class WaitCounter(logging.Handler):
    """Counts the retry code's waits for TIDAL (``tidal_sync_assets.waits``) into a
    ``Progress``: the waits are logged once, where they happen, and counted here."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.WARNING)
        self._progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self._progress.waited()


#: The process's sync: one at a time per process (the library lock sees to it).
PROGRESS = Progress()
