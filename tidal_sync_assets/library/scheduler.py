"""Carrying out one playlist's actions from a plan: their order, the locks, the pool, the
outcomes. The work of each action is its handler's (``library.handlers``).

Partitions are order-independent and idempotent: folder actions of the whole plan are
done first by whichever partition comes first; a primary shared by several playlists
is produced by whichever partition needs it first (under a per-track lock), the others
link to it. Primaries are made in a pool of threads, the rest in plan order. A failed
action does not stop the rest; the outcome names every failure. Outcomes and what the
handlers did go to the ledger, which writes them in batches; each playlist ends with
all of its bookkeeping written.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tidal_sync_assets.disk.lock import key_lock, track_lock
from tidal_sync_assets.library.errors import describe
from tidal_sync_assets.library.handlers import HANDLERS, InvalidAction, Result, Workbench
from tidal_sync_assets.planning.actions import Action, ActionKind, ActionStatus
from tidal_sync_assets.planning.placement import ActionFinished, PlaylistSynced
from tidal_sync_assets.tidal.snapshot import TidalTrack

log = logging.getLogger(__name__)

FOLDER_KINDS = (ActionKind.RENAME_FOLDER, ActionKind.CREATE_FOLDER)
PRIMARY_KINDS = (ActionKind.MOVE_PRIMARY, ActionKind.ADOPT, ActionKind.DOWNLOAD)
POOL_KINDS = (*FOLDER_KINDS, *PRIMARY_KINDS, ActionKind.RETAG)  # done before the rest
SETTLED = (ActionStatus.DONE, ActionStatus.SKIPPED)  # never reverts: no lock needed to see it


@dataclass
class PlaylistOutcome:
    playlist: str
    done: int = 0
    downloaded: int = 0  # files that came from TIDAL for this playlist
    bytes_downloaded: int = 0
    retagged: int = 0  # primaries re-tagged in place for TIDAL's new values
    skipped: list[tuple[Action, str]] = field(default_factory=list)
    failed: list[tuple[Action, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class LoadedPlan:
    """A plan as the executor needs it: its actions in order, how each stands, and the
    tracks they name."""

    plan_id: int
    actions: Sequence[Action]
    statuses: Mapping[int, ActionStatus]
    tracks: Mapping[int, TidalTrack]

    def pending_downloads(self) -> int:
        return sum(
            a.kind is ActionKind.DOWNLOAD
            and self.statuses.get(a.seq, ActionStatus.PENDING) is ActionStatus.PENDING
            for a in self.actions
        )


@dataclass(frozen=True, slots=True)
class _Step:
    """An action with its handler's typed fields, or why they could not be read."""

    action: Action
    fields: Any
    invalid: str | None


def _step(action: Action, tracks: Mapping[int, TidalTrack]) -> _Step:
    try:
        return _Step(action, HANDLERS[action.kind].fields(action, tracks), None)
    except InvalidAction as exc:
        return _Step(action, None, str(exc))


class Scheduler:
    """Runs a loaded plan's actions playlist by playlist; shared by the partitions of a
    run. Building one does nothing yet: each ``run_playlist`` does the work."""

    def __init__(self, plan: LoadedPlan, bench: Workbench) -> None:
        self._plan_id = plan.plan_id
        self._bench = bench
        self._steps = [_step(action, plan.tracks) for action in plan.actions]
        self._status: dict[int, ActionStatus] = dict(plan.statuses)
        self._stopping = threading.Event()  # the sync is being stopped
        self._primary_step = {
            s.action.track_id: s
            for s in self._steps
            if s.action.kind in PRIMARY_KINDS and s.action.track_id is not None
        }

    def run_playlist(self, playlist: str) -> PlaylistOutcome:
        outcome = PlaylistOutcome(playlist)
        try:
            self._ensure_folders(outcome)
            own = [s for s in self._steps if s.action.playlist_id == playlist]
            self._make_primaries(own, outcome)
            for step in own:
                if step.action.kind not in POOL_KINDS:
                    self._attempt(step, outcome)
            self._bench.ledger.add(PlaylistSynced(playlist, outcome.ok))
        finally:
            self._bench.ledger.flush()
        return outcome

    # -- order and locks ------------------------------------------------------------

    def _ensure_folders(self, outcome: PlaylistOutcome) -> None:
        pending = [s for s in self._steps if s.action.kind in FOLDER_KINDS and not self._settled(s)]
        if not pending:
            return
        with key_lock(self._bench.root, "folders"):
            for step in pending:
                if not self._settled(step):
                    self._attempt(step, outcome)
            # Every stored path below a renamed folder moves with it: written before
            # any primary's path is read again.
            self._bench.ledger.flush()

    def _make_primaries(self, own: list[_Step], outcome: PlaylistOutcome) -> None:
        """This playlist's primaries and re-tags, and the pending primaries its links lead
        to (another playlist's), in the pool rather than one at a time when each link
        comes up."""
        tracks = [s.action.track_id for s in own if s.action.kind in PRIMARY_KINDS]
        tracks += [
            s.action.track_id
            for s in own
            if s.action.kind is ActionKind.LINK
            and s.action.track_id in self._primary_step
            and not self._settled(self._primary_step[s.action.track_id])
        ]
        wanted = [t for t in dict.fromkeys(tracks) if t is not None]
        retags = [s for s in own if s.action.kind is ActionKind.RETAG and not self._settled(s)]
        if not wanted and not retags:
            return
        with ThreadPoolExecutor(max_workers=max(1, self._bench.settings.workers)) as pool:
            futures: list[Future[Any]] = [
                pool.submit(self._ensure_primary, track, outcome) for track in wanted
            ]
            futures += [pool.submit(self._retag, step, outcome) for step in retags]
            try:
                wait(futures)
            except BaseException:  # the sync was stopped: no new download starts, and
                # the running ones wait for TIDAL no longer (an outage, a rate limit)
                pool.shutdown(wait=False, cancel_futures=True)
                self._stopping.set()
                self._bench.abandon_tidal()
                raise  # leaving the pool waits for the running ones: moments now

    def _ensure_primary(self, track: int, outcome: PlaylistOutcome) -> bool:
        """Make sure ``track``'s primary exists; True when it does."""
        step = self._primary_step.get(track)
        if step is None:
            return self._bench.ledger.primary(track) is not None
        if not self._settled(step):
            with track_lock(self._bench.root, track):
                if not self._settled(step):
                    self._attempt(step, outcome)
        return self._status.get(step.action.seq) is ActionStatus.DONE

    def _retag(self, step: _Step, outcome: PlaylistOutcome) -> None:
        with track_lock(self._bench.root, step.action.track_id or 0):
            self._attempt(step, outcome)

    def _prerequisite(self, step: _Step, outcome: PlaylistOutcome) -> Result | None:
        """What must be done before ``step``: a link's primary; the primaries leaving a
        folder that is removed. A result when the step itself cannot be done."""
        action = step.action
        if action.kind is ActionKind.LINK and action.track_id is not None:
            if not self._ensure_primary(action.track_id, outcome):
                primary = self._primary_step.get(action.track_id)
                if primary is not None and self._status.get(primary.action.seq) is (
                    ActionStatus.SKIPPED
                ):
                    return Result(skipped="its primary is unavailable on TIDAL")
                raise RuntimeError("its primary file could not be made")
        elif action.kind is ActionKind.REMOVE_FOLDER and action.source is not None:
            # Primaries that other playlists take over leave this folder first,
            # whichever partition would otherwise have moved them later.
            prefix = action.source + "/"
            for track, primary in self._primary_step.items():
                if (primary.action.source or "").startswith(prefix):
                    self._ensure_primary(track, outcome)
        return None

    def _settled(self, step: _Step) -> bool:
        return self._status.get(step.action.seq) in SETTLED

    # -- outcomes -------------------------------------------------------------------

    def _attempt(self, step: _Step, outcome: PlaylistOutcome) -> None:
        action = step.action
        started = datetime.now(UTC)
        status, error, downloaded = ActionStatus.DONE, None, 0
        try:
            if step.invalid is not None:
                raise InvalidAction(step.invalid)
            result = self._prerequisite(step, outcome) or HANDLERS[action.kind].perform(
                step.fields, self._bench
            )
        except Exception as exc:  # one action's failure never stops the others
            if self._stopping.is_set():  # cut short by the stop: still to do, not failed
                return
            status, error = ActionStatus.FAILED, describe(exc)
            log.warning("%s failed: %s", _label(action), error)
        else:
            downloaded = result.downloaded
            if result.skipped is not None:
                status, error = ActionStatus.SKIPPED, result.skipped
        with outcome.lock:
            if status is ActionStatus.FAILED:
                outcome.failed.append((action, error or ""))
            elif status is ActionStatus.SKIPPED:
                outcome.skipped.append((action, error or ""))
            else:
                outcome.done += 1
                if action.kind is ActionKind.DOWNLOAD:
                    outcome.downloaded += 1
                    outcome.bytes_downloaded += downloaded
                elif action.kind is ActionKind.RETAG:
                    outcome.retagged += 1
        self._status[action.seq] = status
        self._bench.ledger.add(
            ActionFinished(self._plan_id, action.seq, status, error, started, datetime.now(UTC))
        )


def _label(action: Action) -> str:
    what = action.target or action.source or ""
    return f"{action.kind.value} {what}".strip()
