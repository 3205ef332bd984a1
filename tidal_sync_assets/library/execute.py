"""Carrying out one playlist's actions from the latest plan.

Partitions are order-independent and idempotent: folder actions of the
whole plan are done first by whichever partition comes first; a primary
shared by several playlists is produced by whichever partition needs it
first (under a per-track lock), the others link to it. A failed action does
not stop the rest; the outcome names every failure.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import tidalapi
from sqlalchemy import Engine

from tidal_sync_assets.database import ActionStatus, DownloadStatus
from tidal_sync_assets.database import action_store as store
from tidal_sync_assets.database.plan_store import load_actions
from tidal_sync_assets.database.scan_store import damage_at
from tidal_sync_assets.database.status_store import playlist_synced
from tidal_sync_assets.database.tidal_store import load_tracks
from tidal_sync_assets.disk.atomic import atomic_move, remove_stale_temp_files
from tidal_sync_assets.disk.links import make_link, remove_link
from tidal_sync_assets.disk.lock import key_lock, track_lock
from tidal_sync_assets.disk.m3u8 import M3UEntry, render_m3u8, write_m3u8
from tidal_sync_assets.disk.paths import LibraryPaths
from tidal_sync_assets.disk.tags import write_tags
from tidal_sync_assets.disk.trash import Trash, remove_empty_folder
from tidal_sync_assets.dj.keys import KeyNotation
from tidal_sync_assets.library.albums import AlbumLookup
from tidal_sync_assets.library.download import (
    download_primary,
    tags_for,
    with_extension,
)
from tidal_sync_assets.library.errors import describe
from tidal_sync_assets.planning.actions import Action, ActionKind
from tidal_sync_assets.progress import PROGRESS
from tidal_sync_assets.settings import LinkMode, M3U8Paths
from tidal_sync_assets.tidal.snapshot import TidalTrack
from tidal_sync_assets.tidal.stream import TrackUnavailable

log = logging.getLogger(__name__)

FOLDER_KINDS = (ActionKind.RENAME_FOLDER, ActionKind.CREATE_FOLDER)
PRIMARY_KINDS = (ActionKind.MOVE_PRIMARY, ActionKind.ADOPT, ActionKind.DOWNLOAD)


@dataclass
class PlaylistOutcome:
    playlist: str
    done: int = 0
    downloaded: int = 0  # files that came from TIDAL for this playlist
    bytes_downloaded: int = 0
    skipped: list[tuple[Action, str]] = field(default_factory=list)
    failed: list[tuple[Action, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class Executor:
    """Everything the actions of one plan need; shared by the partitions of a run."""

    engine: Engine
    root: Path
    plan_id: int
    link_mode: LinkMode
    quality: str
    workers: int
    open_session: Callable[[], tidalapi.Session]
    min_quality: str | None = None
    key_notation: KeyNotation = "classic"
    m3u8_paths: M3U8Paths = "folder"
    _session: tidalapi.Session | None = None
    _session_lock: threading.Lock = field(default_factory=threading.Lock)
    _actions: list[Action] = field(default_factory=list)
    _status: dict[int, ActionStatus] = field(default_factory=dict)
    _tracks: dict[int, TidalTrack] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # An executor only exists under the library lock (one sync at a time), so
        # any temporary file in the library was left by a killed writer: clear it.
        remove_stale_temp_files(self.root, older_than=timedelta(0))
        self._actions = load_actions(self.engine, self.plan_id)
        self._status = store.action_statuses(self.engine, self.plan_id)
        wanted = {a.track_id for a in self._actions if a.track_id is not None}
        self._tracks = load_tracks(self.engine, wanted)
        self._primary_action = {
            a.track_id: a for a in self._actions if a.kind in PRIMARY_KINDS and a.track_id
        }
        self._trash = Trash(self.root)
        self._albums = AlbumLookup(self.engine, self._tidal, self.root)
        self._paths = LibraryPaths(self.root)
        PROGRESS.begin_downloads(
            sum(
                a.kind is ActionKind.DOWNLOAD
                and self._status.get(a.seq) in (None, ActionStatus.PENDING)
                for a in self._actions
            )
        )

    # -- the partition's entry point ------------------------------------------------

    def run_playlist(self, playlist: str) -> PlaylistOutcome:
        outcome = PlaylistOutcome(playlist)
        self._ensure_folders(outcome)
        own = [a for a in self._actions if a.playlist_id == playlist]
        primaries = [a for a in own if a.kind in PRIMARY_KINDS]
        # The pending primaries this playlist's links lead to are made in the pool too,
        # rather than one at a time when each link comes up (another partition's primary).
        linked = [
            a.track_id
            for a in own
            if a.kind is ActionKind.LINK
            and a.track_id in self._primary_action
            and self._status.get(self._primary_action[a.track_id].seq)
            in (None, ActionStatus.PENDING)
        ]
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            futures = [
                pool.submit(self._ensure_primary, track, outcome)
                for track in [a.track_id or 0 for a in primaries] + list(dict.fromkeys(linked))
            ]
            try:
                wait(futures)
            except BaseException:  # the sync was stopped: no new download starts
                pool.shutdown(cancel_futures=True)
                raise
        for action in own:
            if action.kind in FOLDER_KINDS or action.kind in PRIMARY_KINDS:
                continue
            self._attempt(action, outcome)
        playlist_synced(self.engine, playlist, in_sync=outcome.ok)
        return outcome

    # -- ordering and bookkeeping ---------------------------------------------------

    def _ensure_folders(self, outcome: PlaylistOutcome) -> None:
        pending = [a for a in self._actions if a.kind in FOLDER_KINDS and not self._settled(a)]
        if not pending:
            return
        with key_lock(self.root, "folders"):
            self._status = store.action_statuses(self.engine, self.plan_id)
            for action in pending:
                if not self._settled(action):
                    self._attempt(action, outcome)

    def _ensure_primary(self, track: int, outcome: PlaylistOutcome) -> bool:
        """Make sure ``track``'s primary exists; True when it does."""
        action = self._primary_action.get(track)
        if action is None:
            return store.primary_path(self.engine, track) is not None
        if not self._settled(action):  # settled ones need no lock: their status never reverts
            with track_lock(self.root, track):
                if not self._settled(action):
                    self._attempt(action, outcome)
        return self._status.get(action.seq) is ActionStatus.DONE

    def _settled(self, action: Action) -> bool:
        return self._status.get(action.seq) in (ActionStatus.DONE, ActionStatus.SKIPPED)

    def _attempt(self, action: Action, outcome: PlaylistOutcome) -> None:
        started = store.now()
        status, error = ActionStatus.DONE, None
        try:
            skipped = self._perform(action, outcome)
        except Exception as exc:  # one action's failure never stops the others
            status, error = ActionStatus.FAILED, describe(exc)
            log.warning("%s failed: %s", _label(action), error)
        else:
            if skipped:
                status, error = ActionStatus.SKIPPED, skipped
        with outcome.lock:
            if status is ActionStatus.FAILED:
                outcome.failed.append((action, error or ""))
            elif status is ActionStatus.SKIPPED:
                outcome.skipped.append((action, error or ""))
            else:
                outcome.done += 1
        self._status[action.seq] = status
        store.record_outcomes(
            self.engine,
            self.plan_id,
            [
                {
                    "seq": action.seq,
                    "status": status,
                    "error": error,
                    "started_at": started,
                    "finished_at": store.now(),
                }
            ],
        )

    # -- the actions ----------------------------------------------------------------

    def _perform(self, action: Action, outcome: PlaylistOutcome) -> str | None:
        """Carry out ``action``; returns a reason when it was skipped."""
        handler: dict[ActionKind, Callable[[Action, PlaylistOutcome], str | None]] = {
            ActionKind.CREATE_FOLDER: self._create_folder,
            ActionKind.RENAME_FOLDER: self._rename_folder,
            ActionKind.DOWNLOAD: self._download,
            ActionKind.ADOPT: self._adopt,
            ActionKind.MOVE_PRIMARY: self._move_primary,
            ActionKind.LINK: self._link,
            ActionKind.UNLINK: self._unlink,
            ActionKind.TRASH: self._trash_file,
            ActionKind.REMOVE_FOLDER: self._remove_folder,
            ActionKind.WRITE_M3U8: self._write_m3u8,
        }
        return handler[action.kind](action, outcome)

    def _create_folder(self, action: Action, _: PlaylistOutcome) -> None:
        target = self._paths.resolve(_need(action.target))
        target.mkdir(parents=True, exist_ok=True)
        store.set_folder(self.engine, _need(action.playlist_id), _need(action.target))

    def _rename_folder(self, action: Action, _: PlaylistOutcome) -> None:
        source, target = _need(action.source), _need(action.target)
        if os.path.lexists(self._paths.resolve(source)):
            atomic_move(source, target, root=self.root)
        else:
            self._paths.resolve(target).mkdir(parents=True, exist_ok=True)
        store.rename_folder(self.engine, _need(action.playlist_id), source, target)

    def _download(self, action: Action, outcome: PlaylistOutcome) -> str | None:
        track = self._tracks[_need(action.track_id)]
        target = _need(action.target)
        self._clear(target, track.tidal_id)
        store.set_download_state(self.engine, track.tidal_id, DownloadStatus.DOWNLOADING)
        try:
            track = self._albums.with_album(track)
            stored = download_primary(
                self._tidal(),
                track,
                self.quality,
                target,
                self.root,
                self.min_quality,
                self.key_notation,
                cover=self._albums.cover(track),
            )
        except TrackUnavailable as exc:
            PROGRESS.file_failed()
            store.set_download_state(self.engine, track.tidal_id, DownloadStatus.ERROR, str(exc))
            return str(exc)
        except Exception as exc:
            PROGRESS.file_failed()
            store.set_download_state(
                self.engine, track.tidal_id, DownloadStatus.ERROR, describe(exc)
            )
            raise
        PROGRESS.file_downloaded(stored.bytes_downloaded)
        with outcome.lock:
            outcome.downloaded += 1
            outcome.bytes_downloaded += stored.bytes_downloaded
        store.set_primary(self.engine, track.tidal_id, action.playlist_id, stored.path, stored.size)
        audio = stored.audio
        store.record_delivery(
            self.engine,
            track.tidal_id,
            store.Delivery(stored.audio_quality, audio.codec, audio.sample_rate, audio.bit_depth),
        )
        return None

    def _adopt(self, action: Action, _: PlaylistOutcome) -> None:
        track = self._tracks[_need(action.track_id)]
        source, target = _need(action.source), _need(action.target)
        if source != target:
            self._clear(target, track.tidal_id)
            atomic_move(source, target, root=self.root)
        write_tags(
            self._paths.resolve(target),
            tags_for(self._albums.with_album(track), self.key_notation),
            cover=self._albums.cover(track),
        )
        size = self._paths.resolve(target).stat().st_size
        store.set_primary(self.engine, track.tidal_id, action.playlist_id, target, size)

    def _move_primary(self, action: Action, _: PlaylistOutcome) -> None:
        track = self._tracks[_need(action.track_id)]
        source, target = _need(action.source), _need(action.target)
        self._clear(target, track.tidal_id, keep=source)
        atomic_move(source, target, root=self.root, overwrite=True)
        write_tags(
            self._paths.resolve(target),
            tags_for(self._albums.with_album(track), self.key_notation),
        )
        size = self._paths.resolve(target).stat().st_size
        store.set_primary(self.engine, track.tidal_id, action.playlist_id, target, size)

    def _link(self, action: Action, outcome: PlaylistOutcome) -> str | None:
        track = _need(action.track_id)
        if not self._ensure_primary(track, outcome):
            reason = self._primary_problem(track)
            if reason is not None:
                return reason
            raise RuntimeError("its primary file could not be made")
        primary = _need(store.primary_path(self.engine, track))
        target = with_extension(_need(action.target), os.path.splitext(primary)[1])
        self._clear(target, track, keep=primary)
        make_link(primary, target, self.link_mode, root=self.root)
        store.set_link(self.engine, _need(action.playlist_id), track, target)
        return None

    def _unlink(self, action: Action, _: PlaylistOutcome) -> None:
        source = _need(action.source)
        try:
            remove_link(source, root=self.root)
        except OSError:  # a real file after all: recoverable, never deleted outright
            self._trash.put(source, "no playlist wants it", playlist=action.playlist_id)
        store.forget_path(self.engine, source)

    def _trash_file(self, action: Action, _: PlaylistOutcome) -> None:
        source = _need(action.source)
        if os.path.lexists(self._paths.resolve(source)):
            self._trash.put(
                source,
                "no playlist wants it",
                track_id=action.track_id,
                playlist=action.playlist_id,
            )
        store.forget_path(self.engine, source)

    def _remove_folder(self, action: Action, outcome: PlaylistOutcome) -> str | None:
        folder = _need(action.source)
        # Primaries that other playlists take over leave this folder first,
        # whichever partition would otherwise have moved them later.
        for pending in self._actions:
            if (
                pending.kind in PRIMARY_KINDS
                and pending.track_id is not None
                and (pending.source or "").startswith(folder + "/")
            ):
                self._ensure_primary(pending.track_id, outcome)
        removed = remove_empty_folder(folder, root=self.root)
        store.remove_playlist(self.engine, _need(action.playlist_id))
        return None if removed else "the folder still holds the user's own files"

    def _write_m3u8(self, action: Action, _: PlaylistOutcome) -> None:
        target = _need(action.target)
        entries = [
            M3UEntry(path=path, artist=artist, title=title, duration=duration)
            for path, artist, title, duration in store.m3u8_entries(
                self.engine, _need(action.playlist_id), primaries=self.m3u8_paths == "primary"
            )
        ]
        write_m3u8(target, render_m3u8(entries, target), root=self.root)

    # -- helpers --------------------------------------------------------------------

    def _clear(self, target: str, track: int, keep: str | None = None) -> None:
        """Make room at ``target``: a stale link goes, a real file goes to the trash."""
        path = self._paths.resolve(target)
        if target == keep or not os.path.lexists(path):
            return
        stat = path.lstat()
        if path.is_symlink() or stat.st_nlink > 1:
            path.unlink()
        else:
            damaged = damage_at(self.engine, target)
            reason = f"damaged ({damaged})" if damaged else "replaced by the track's managed file"
            self._trash.put(target, reason, track_id=track)
            store.forget_path(self.engine, target)

    def _primary_problem(self, track: int) -> str | None:
        action = self._primary_action.get(track)
        if action is not None and self._status.get(action.seq) is ActionStatus.SKIPPED:
            return "its primary is unavailable on TIDAL"
        return None

    def _tidal(self) -> tidalapi.Session:
        with self._session_lock:
            if self._session is None:
                self._session = self.open_session()
            return self._session


def _need(value: Any) -> Any:
    if value is None:
        raise ValueError("the plan's action lacks a field it needs")
    return value


def _label(action: Action) -> str:
    what = action.target or action.source or ""
    return f"{action.kind.value} {what}".strip()
