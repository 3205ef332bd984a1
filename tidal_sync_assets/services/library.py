"""The library service: run the latest plan's actions for some playlists, under the
library lock, one playlist's outcome at a time (the executor is ``library.execute``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import tidalapi
from sqlalchemy import Engine

from tidal_sync_assets.database import PlanStatus
from tidal_sync_assets.database.plan_store import latest_plan
from tidal_sync_assets.disk.lock import library_lock
from tidal_sync_assets.dj.keys import KeyNotation
from tidal_sync_assets.library.execute import Executor, PlaylistOutcome
from tidal_sync_assets.settings import LinkMode, M3U8Paths

LOCK_TIMEOUT_SECONDS = 60.0


class PlanNotReady(Exception):
    """There is no plan to run, or the latest one is held; ``final``: retrying won't help."""

    def __init__(self, reason: str, *, final: bool) -> None:
        super().__init__(reason)
        self.final = final


def ready_plan(engine: Engine) -> int:
    """The latest plan's id, when it may run."""
    latest = latest_plan(engine)
    if latest is None:
        raise PlanNotReady("There is no plan yet; materialize dedup_plan first.", final=False)
    plan_id, status, held_reason = latest
    if status is PlanStatus.HELD:
        raise PlanNotReady(f"The latest plan is held: {held_reason}.", final=True)
    return plan_id


def run_playlists(
    engine: Engine,
    root: Path,
    playlists: Sequence[str],
    *,
    link_mode: LinkMode,
    quality: str,
    min_quality: str | None,
    workers: int,
    open_session: Callable[[], tidalapi.Session],
    key_notation: KeyNotation,
    m3u8_paths: M3U8Paths,
) -> Iterator[PlaylistOutcome]:
    """Run the latest plan's actions of each of ``playlists`` in turn, holding the
    library lock throughout (``LibraryBusy`` when another sync holds it)."""
    plan_id = ready_plan(engine)
    with library_lock(root, LOCK_TIMEOUT_SECONDS):
        executor = Executor(
            engine=engine,
            root=root,
            plan_id=plan_id,
            link_mode=link_mode,
            quality=quality,
            min_quality=min_quality,
            workers=workers,
            open_session=open_session,
            key_notation=key_notation,
            m3u8_paths=m3u8_paths,
        )
        for playlist in playlists:
            yield executor.run_playlist(playlist)
