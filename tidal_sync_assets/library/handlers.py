"""One handler per action kind: the disk and network work of carrying out an action.

``HANDLERS`` is the table: for each ``ActionKind``, how to read the action's fields
(typed, checked once when the plan is loaded: an action that lacks one fails alone)
and the function that does the work. A handler says what it changed as
``planning.placement`` records in the ledger, right after each change on disk; it
orders nothing, locks nothing and writes no row itself (``library.scheduler`` does
the ordering, the locks and the pool; the ledger writes the records in batches).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import tidalapi

from tidal_sync_assets.disk.atomic import atomic_move
from tidal_sync_assets.disk.links import make_link, remove_link
from tidal_sync_assets.disk.m3u8 import M3UEntry, render_m3u8, write_m3u8
from tidal_sync_assets.disk.paths import LibraryPaths
from tidal_sync_assets.disk.tags import read_tags, write_tags
from tidal_sync_assets.disk.trash import Trash, remove_empty_folder
from tidal_sync_assets.dj.keys import KeyNotation
from tidal_sync_assets.dj.tags import DjValues
from tidal_sync_assets.library.albums import AlbumLookup
from tidal_sync_assets.library.download import download_primary, tags_for, with_extension
from tidal_sync_assets.library.errors import describe
from tidal_sync_assets.library.ledger import Ledger
from tidal_sync_assets.planning.actions import Action, ActionKind
from tidal_sync_assets.planning.placement import (
    Delivered,
    DownloadFailed,
    DownloadStarted,
    FileRewritten,
    FolderPlaced,
    FolderRenamed,
    LinkPlaced,
    M3U8Written,
    PathForgotten,
    PlaylistRemoved,
    PrimaryPlaced,
    Tagged,
)
from tidal_sync_assets.progress import PROGRESS
from tidal_sync_assets.settings import LinkMode, M3U8Paths
from tidal_sync_assets.tidal.snapshot import TidalTrack
from tidal_sync_assets.tidal.stream import TrackUnavailable

UNWANTED = "no playlist wants it"


class InvalidAction(ValueError):
    """The plan's action lacks a field its kind needs, or names a track not stored."""


@dataclass(frozen=True, slots=True)
class LibrarySettings:
    """The settings the library's actions are carried out with."""

    link_mode: LinkMode
    quality: str
    min_quality: str | None
    workers: int
    key_notation: KeyNotation
    m3u8_paths: M3U8Paths


@dataclass(frozen=True)
class Workbench:
    """What the handlers work with; shared by the threads of the pool."""

    root: Path
    settings: LibrarySettings
    ledger: Ledger
    albums: AlbumLookup
    tidal: Callable[[], tidalapi.Session]
    abandon_tidal: Callable[[], None]  # the sync is being stopped: stop waiting for TIDAL
    damaged: Mapping[str, str]  # path -> why the latest scan found its audio damaged
    paths: LibraryPaths = field(init=False)
    trash: Trash = field(init=False)  # one batch for the whole run

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", LibraryPaths(self.root))
        object.__setattr__(self, "trash", Trash(self.root))


@dataclass(frozen=True, slots=True)
class Result:
    skipped: str | None = None  # why there was nothing to do (settled all the same)
    downloaded: int = 0  # bytes that came from TIDAL


DONE = Result()


# -- the typed fields of each kind ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetFields:
    """A playlist's folder to make, or its M3U8 to write."""

    playlist: str
    target: str


@dataclass(frozen=True, slots=True)
class RenameFields:
    playlist: str
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class PrimaryFields:
    """A download (no source), an adoption or a move of ``track``'s primary to ``target``,
    or a re-tag of the primary at ``target``."""

    playlist: str
    track: TidalTrack
    source: str | None
    target: str


@dataclass(frozen=True, slots=True)
class LinkFields:
    playlist: str
    track: int
    target: str


@dataclass(frozen=True, slots=True)
class RemovalFields:
    """A file, a link or (with no track) a playlist's folder to remove."""

    playlist: str | None
    track: int | None
    source: str


_ACTION_FIELD = {
    "playlist": "playlist_id",
    "track": "track_id",
    "source": "source",
    "target": "target",
}


def _required(action: Action, *names: str) -> dict[str, Any]:
    """The action's fields ``names`` (of ``_ACTION_FIELD``), each of which it must have."""
    found = {name: getattr(action, _ACTION_FIELD[name]) for name in names}
    missing = [name for name, value in found.items() if value is None]
    if missing:
        raise InvalidAction(f"the plan's {action.kind.value} action lacks its {missing[0]}")
    return found


def _stored(action: Action, tracks: Mapping[int, TidalTrack]) -> TidalTrack:
    track = _required(action, "track")["track"]
    if track not in tracks:
        raise InvalidAction(f"track {track} of the plan's {action.kind.value} is not stored")
    return tracks[track]


def _target(action: Action, _: Mapping[int, TidalTrack]) -> TargetFields:
    return TargetFields(**_required(action, "playlist", "target"))


def _rename(action: Action, _: Mapping[int, TidalTrack]) -> RenameFields:
    return RenameFields(**_required(action, "playlist", "source", "target"))


def _primary_at_target(action: Action, tracks: Mapping[int, TidalTrack]) -> PrimaryFields:
    found = _required(action, "playlist", "target")
    return PrimaryFields(track=_stored(action, tracks), source=None, **found)


def _moved_primary(action: Action, tracks: Mapping[int, TidalTrack]) -> PrimaryFields:
    found = _required(action, "playlist", "source", "target")
    return PrimaryFields(track=_stored(action, tracks), **found)


def _link(action: Action, _: Mapping[int, TidalTrack]) -> LinkFields:
    return LinkFields(**_required(action, "playlist", "track", "target"))


def _removal(action: Action, _: Mapping[int, TidalTrack]) -> RemovalFields:
    found = _required(action, "source")
    return RemovalFields(playlist=action.playlist_id, track=action.track_id, **found)


def _folder_removal(action: Action, _: Mapping[int, TidalTrack]) -> RemovalFields:
    return RemovalFields(track=None, **_required(action, "playlist", "source"))


# -- the work ---------------------------------------------------------------------------


def create_folder(folder: TargetFields, bench: Workbench) -> Result:
    bench.paths.resolve(folder.target).mkdir(parents=True, exist_ok=True)
    bench.ledger.add(FolderPlaced(folder.playlist, folder.target))
    return DONE


def rename_folder(rename: RenameFields, bench: Workbench) -> Result:
    if os.path.lexists(bench.paths.resolve(rename.source)):
        atomic_move(rename.source, rename.target, root=bench.root)
    else:  # renamed by an earlier run that was stopped before it recorded it
        bench.paths.resolve(rename.target).mkdir(parents=True, exist_ok=True)
    bench.ledger.add(FolderRenamed(rename.playlist, rename.source, rename.target))
    return DONE


def download(primary: PrimaryFields, bench: Workbench) -> Result:
    track, settings = primary.track, bench.settings
    clear(bench, primary.target, track.tidal_id)
    bench.ledger.add(DownloadStarted(track.tidal_id))
    try:
        track = bench.albums.with_album(track)
        stored = download_primary(
            bench.tidal(),
            track,
            settings.quality,
            primary.target,
            bench.root,
            settings.min_quality,
            settings.key_notation,
            cover=bench.albums.cover(track),
        )
    except TrackUnavailable as exc:
        PROGRESS.file_failed()
        bench.ledger.add(DownloadFailed(track.tidal_id, str(exc)))
        return Result(skipped=str(exc))
    except Exception as exc:
        PROGRESS.file_failed()
        bench.ledger.add(DownloadFailed(track.tidal_id, describe(exc)))
        raise
    PROGRESS.file_downloaded(stored.bytes_downloaded)
    audio = stored.audio
    bench.ledger.add(
        PrimaryPlaced(track.tidal_id, primary.playlist, stored.path, stored.size),
        Tagged(track.tidal_id, DjValues.of(track), settings.key_notation),
        Delivered(
            track.tidal_id, stored.audio_quality, audio.codec, audio.sample_rate, audio.bit_depth
        ),
    )
    return Result(downloaded=stored.bytes_downloaded)


def adopt(primary: PrimaryFields, bench: Workbench) -> Result:
    track, source, target = primary.track, primary.source or primary.target, primary.target
    if source != target:
        clear(bench, target, track.tidal_id)
        atomic_move(source, target, root=bench.root)
    _tag(bench, [target], track, cover=bench.albums.cover(track))
    bench.ledger.add(
        PrimaryPlaced(track.tidal_id, primary.playlist, target, _size(bench, target)),
        _tagged(bench, track),
    )
    return DONE


def move_primary(primary: PrimaryFields, bench: Workbench) -> Result:
    track, source, target = primary.track, primary.source or primary.target, primary.target
    clear(bench, target, track.tidal_id, keep=source)
    atomic_move(source, target, root=bench.root, overwrite=True)
    _tag(bench, [target], track, cover=None)
    bench.ledger.add(
        PrimaryPlaced(track.tidal_id, primary.playlist, target, _size(bench, target)),
        _tagged(bench, track),
    )
    return DONE


def retag(primary: PrimaryFields, bench: Workbench) -> Result:
    """The primary's tags as TIDAL's values now give them, written in place (the product's
    own file: never a user's), and its copies' too. The scan's rows follow the files, so
    the next scan neither reads nor decodes them again."""
    track, mode = primary.track, bench.settings.link_mode
    # A hard link is the primary's own inode (re-tagged with it); a copy is a file of its
    # own. A link that is not there now is made again later from the re-tagged primary.
    links = [
        path
        for path in (bench.ledger.link_paths(track.tidal_id) if mode != "symlink" else [])
        if bench.paths.resolve(path).is_file()
    ]
    _tag(bench, [primary.target, *(links if mode == "copy" else [])], track, cover=None)
    bench.ledger.add(
        _tagged(bench, track),
        *(_rewritten(bench, path) for path in [primary.target, *links]),
    )
    return DONE


def link(entry: LinkFields, bench: Workbench) -> Result:
    primary = bench.ledger.primary(entry.track)
    if primary is None:
        raise RuntimeError("its primary file could not be made")
    target = with_extension(entry.target, os.path.splitext(primary)[1])
    clear(bench, target, entry.track, keep=primary)
    make_link(primary, target, bench.settings.link_mode, root=bench.root)
    bench.ledger.add(LinkPlaced(entry.playlist, entry.track, target))
    return DONE


def unlink(removal: RemovalFields, bench: Workbench) -> Result:
    try:
        remove_link(removal.source, root=bench.root)
    except OSError:  # a real file after all: recoverable, never deleted outright
        bench.trash.put(removal.source, UNWANTED, playlist=removal.playlist)
    bench.ledger.add(PathForgotten(removal.source))
    return DONE


def trash_file(removal: RemovalFields, bench: Workbench) -> Result:
    if os.path.lexists(bench.paths.resolve(removal.source)):
        bench.trash.put(removal.source, UNWANTED, track_id=removal.track, playlist=removal.playlist)
    bench.ledger.add(PathForgotten(removal.source))
    return DONE


def remove_folder(removal: RemovalFields, bench: Workbench) -> Result:
    removed = remove_empty_folder(removal.source, root=bench.root)
    if removal.playlist is not None:
        bench.ledger.add(PlaylistRemoved(removal.playlist))
    return DONE if removed else Result(skipped="the folder still holds the user's own files")


def write_playlist_m3u8(m3u8: TargetFields, bench: Workbench) -> Result:
    primaries = bench.settings.m3u8_paths == "primary"
    entries = [
        M3UEntry(path=path, artist=artist, title=title, duration=duration)
        for path, artist, title, duration in bench.ledger.m3u8_entries(m3u8.playlist, primaries)
    ]
    write_m3u8(m3u8.target, render_m3u8(entries, m3u8.target), root=bench.root)
    bench.ledger.add(M3U8Written(m3u8.playlist, bench.settings.m3u8_paths))
    return DONE


def clear(bench: Workbench, target: str, track: int, keep: str | None = None) -> None:
    """Make room at ``target``: a stale link goes, a real file goes to the trash."""
    path = bench.paths.resolve(target)
    if target == keep or not os.path.lexists(path):
        return
    stat = path.lstat()
    if path.is_symlink() or stat.st_nlink > 1:
        path.unlink()
    else:
        damaged = bench.damaged.get(target)
        reason = f"damaged ({damaged})" if damaged else "replaced by the track's managed file"
        bench.trash.put(target, reason, track_id=track)
        bench.ledger.add(PathForgotten(target))


def _tag(bench: Workbench, files: list[str], track: TidalTrack, cover: bytes | None) -> None:
    """Write ``track``'s tags into ``files`` (``cover`` None: the embedded one stays)."""
    tags = tags_for(bench.albums.with_album(track), bench.settings.key_notation)
    for path in files:
        write_tags(bench.paths.resolve(path), tags, cover=cover)


def _tagged(bench: Workbench, track: TidalTrack) -> Tagged:
    """What ``_tag`` wrote: TIDAL's values with the album's (asked once per album)."""
    written = bench.albums.with_album(track)
    return Tagged(track.tidal_id, DjValues.of(written), bench.settings.key_notation)


def _rewritten(bench: Workbench, path: str) -> FileRewritten:
    absolute = bench.paths.resolve(path)
    info = absolute.stat()
    return FileRewritten(path, info.st_ino, info.st_size, info.st_mtime_ns, read_tags(absolute))


def _size(bench: Workbench, target: str) -> int:
    return bench.paths.resolve(target).stat().st_size


F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class Handler(Generic[F]):
    """How to read an action's fields, and the work that carries it out."""

    fields: Callable[[Action, Mapping[int, TidalTrack]], F]
    perform: Callable[[F, Workbench], Result]


HANDLERS: Mapping[ActionKind, Handler[Any]] = {
    ActionKind.CREATE_FOLDER: Handler(_target, create_folder),
    ActionKind.RENAME_FOLDER: Handler(_rename, rename_folder),
    ActionKind.DOWNLOAD: Handler(_primary_at_target, download),
    ActionKind.ADOPT: Handler(_moved_primary, adopt),
    ActionKind.MOVE_PRIMARY: Handler(_moved_primary, move_primary),
    ActionKind.RETAG: Handler(_primary_at_target, retag),
    ActionKind.LINK: Handler(_link, link),
    ActionKind.UNLINK: Handler(_removal, unlink),
    ActionKind.TRASH: Handler(_removal, trash_file),
    ActionKind.REMOVE_FOLDER: Handler(_folder_removal, remove_folder),
    ActionKind.WRITE_M3U8: Handler(_target, write_playlist_m3u8),
}
