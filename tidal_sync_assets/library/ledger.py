"""The executor's bookkeeping: what the handlers did, written to the database in batches.

Handlers add ``planning.placement`` records right after each change on disk; the
ledger keeps them in order and hands them to the action store as one transaction
when a batch is full or old enough, and whenever the executor asks (before it reads
what it wrote, and at the end of each playlist). On PostgreSQL every transaction
costs a round trip and a commit: a thousand links are a few transactions, not a
thousand.

A killed process loses at most the batch it had not written. Nothing is lost on
disk by that: ``library.recovery`` finds the unwritten work from the plan's pending
actions before the next scan reads the placement.

Reads of what the executor wrote go through the ledger: a primary placed or
forgotten by a batch not yet written is answered from the batch (so a link made
in the same batch leads to the right file), and an M3U8's entries are read after
the batch is written.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine

from tidal_sync_assets.database import action_store
from tidal_sync_assets.planning.placement import PathForgotten, PrimaryPlaced, Record

BATCH_RECORDS = 500
BATCH_SECONDS = 2.0  # the longest a record waits while others keep coming


class Ledger:
    """Records waiting to be written, thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._records: list[Record] = []
        self._since = time.monotonic()
        self._lock = threading.RLock()
        # The unwritten records' effect on primaries: the ones they place, the paths
        # they forget.
        self._placed: dict[int, str] = {}
        self._forgotten: set[str] = set()

    def add(self, *records: Record) -> None:
        with self._lock:
            if not self._records:
                self._since = time.monotonic()
            for record in records:
                self._records.append(record)
                if isinstance(record, PrimaryPlaced):
                    self._placed[record.track] = record.path
                    self._forgotten.discard(record.path)
                elif isinstance(record, PathForgotten):
                    self._forgotten.add(record.path)
            if (
                len(self._records) >= BATCH_RECORDS
                or time.monotonic() - self._since >= BATCH_SECONDS
            ):
                self._write()

    def flush(self) -> None:
        """Write every waiting record now."""
        with self._lock:
            self._write()

    def primary(self, track: int) -> str | None:
        """``track``'s primary path, unwritten records included."""
        with self._lock:
            path = self._placed.get(track) or action_store.primary_path(self._engine, track)
            return None if path in self._forgotten else path

    def link_paths(self, track: int) -> list[str]:
        """Where ``track``'s links are, after every waiting record is written."""
        self.flush()
        return action_store.link_paths(self._engine, track)

    def m3u8_entries(
        self, playlist: str, primaries: bool
    ) -> list[tuple[str, str, str, int | None]]:
        """``playlist``'s M3U8 entries (``action_store.m3u8_entries``), after every
        waiting record is written."""
        self.flush()
        return action_store.m3u8_entries(self._engine, playlist, primaries=primaries)

    def _write(self) -> None:
        if not self._records:
            return
        action_store.write_records(self._engine, self._records)
        self._records = []
        self._placed = {}
        self._forgotten = set()
