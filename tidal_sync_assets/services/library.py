"""The library service: run the latest plan's actions for some playlists, under the
library lock, one playlist's outcome at a time (the scheduler is ``library.scheduler``,
the work of each action ``library.handlers``).

Before the first action, in this order and in the open: temporary files a killed
writer left are removed, the work a killed run did not record is recorded
(``library.recovery``), and the plan is loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import tidalapi
from sqlalchemy import Engine

from tidal_sync_assets.database import PlanStatus, action_store, plan_store, scan_store
from tidal_sync_assets.database.tidal_store import load_tracks
from tidal_sync_assets.disk.atomic import remove_stale_temp_files
from tidal_sync_assets.disk.lock import LibraryBusy, library_lock
from tidal_sync_assets.library.albums import AlbumLookup
from tidal_sync_assets.library.handlers import LibrarySettings, Workbench
from tidal_sync_assets.library.ledger import Ledger
from tidal_sync_assets.library.recovery import record_interrupted_work
from tidal_sync_assets.library.scheduler import LoadedPlan, PlaylistOutcome, Scheduler
from tidal_sync_assets.progress import PROGRESS
from tidal_sync_assets.tidal.session import abandon_session

LOCK_TIMEOUT_SECONDS = 60.0


class PlanNotReady(Exception):
    """There is no plan to run, or the latest one is held; ``final``: retrying won't help."""

    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.final = final


def ready_plan(engine: Engine) -> int:
    """The latest plan's id, when it may run."""
    latest = plan_store.latest_plan(engine)
    if latest is None:
        raise PlanNotReady("There is no plan yet; materialize dedup_plan first.", final=False)
    plan_id, status, held_reason = latest
    if status is PlanStatus.HELD:
        raise PlanNotReady(f"The latest plan is held: {held_reason}.", final=True)
    return plan_id


def load_plan(engine: Engine, plan_id: int) -> LoadedPlan:
    actions = plan_store.load_actions(engine, plan_id)
    wanted = {a.track_id for a in actions if a.track_id is not None}
    return LoadedPlan(
        plan_id, actions, action_store.action_statuses(engine, plan_id), load_tracks(engine, wanted)
    )


def settle_interrupted_run(engine: Engine, root: Path) -> int:
    """Record what a killed library run did but did not record; how many actions.

    Only while no library run is under way (one holds the lock: it records its own).
    """
    try:
        with library_lock(root, timeout=0):
            return record_interrupted_work(engine, root)
    except LibraryBusy:
        return 0


def run_playlists(
    engine: Engine,
    root: Path,
    playlists: Sequence[str],
    settings: LibrarySettings,
    open_session: Callable[[], tidalapi.Session],
) -> Iterator[PlaylistOutcome]:
    """Run the latest plan's actions of each of ``playlists`` in turn, holding the
    library lock throughout (``LibraryBusy`` when another sync holds it)."""
    plan_id = ready_plan(engine)
    with library_lock(root, LOCK_TIMEOUT_SECONDS):
        # Under the library lock no other writer is at work: any temporary file in the
        # library was left by a killed one.
        remove_stale_temp_files(root, older_than=timedelta(0))
        record_interrupted_work(engine, root)
        plan = load_plan(engine, plan_id)
        plan_store.mark_started(engine, plan_id)
        session = _SharedSession(open_session)
        bench = Workbench(
            root=root,
            settings=settings,
            ledger=Ledger(engine),
            albums=AlbumLookup(engine, session, root),
            tidal=session,
            abandon_tidal=session.abandon,
            damaged=dict(scan_store.load_damaged(engine)),
        )
        scheduler = Scheduler(plan, bench)
        PROGRESS.begin_downloads(plan.pending_downloads())
        for playlist in playlists:
            yield scheduler.run_playlist(playlist)


class _SharedSession:
    """``open_session``, called the first time a session is needed and shared after;
    ``abandon`` stops the requests of the one opened (if any)."""

    def __init__(self, open_session: Callable[[], tidalapi.Session]) -> None:
        self._open = open_session
        self._opened: tidalapi.Session | None = None
        self._lock = threading.Lock()

    def __call__(self) -> tidalapi.Session:
        with self._lock:
            if self._opened is None:
                self._opened = self._open()
            return self._opened

    def abandon(self) -> None:
        with self._lock:
            opened = self._opened
        if opened is not None:
            abandon_session(opened)
