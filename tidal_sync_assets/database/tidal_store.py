"""Persisting TIDAL snapshots: playlists, tracks and positions, in bulk.

A playlist's positions are replaced only after a *complete* fetch; an
incomplete one keeps the stored list and does not advance the
``fetched_last_updated`` watermark, so the next snapshot fetches it again.
Entries TIDAL dropped keep their row (position NULL, ``needs_removal``)
until the library has cleaned up what the product placed for them. Stored
tracks are read back here too: all of them, or those the library serves.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, union, update

from tidal_sync_assets.database import status_store
from tidal_sync_assets.database.bulk import ROWS_PER_STATEMENT, insert_many, upsert
from tidal_sync_assets.database.models import (
    Playlist,
    PlaylistTrack,
    TidalSnapshotRecord,
    Track,
    TrackSyncStatus,
)
from tidal_sync_assets.tidal.snapshot import (
    PlaylistChange,
    PlaylistLabel,
    SnapshotOutcome,
    TidalPlaylist,
    TidalSnapshot,
    TidalTrack,
)

# What a snapshot says of a track; the album artist and release date are the album
# lookup's (``album_store``), which a snapshot never overwrites.
_TRACK_FIELDS = (
    "title",
    "artist",
    "album",
    "album_id",
    "track_number",
    "isrc",
    "duration",
    "version",
    "allow_streaming",
    "bpm",
    "musical_key",
)
_TRACK_COLUMNS = (*_TRACK_FIELDS, "artists")  # a track's columns a snapshot writes
# An entry's state, copied as it is when its playlist's positions are replaced (what
# the status becomes is ``status_store``'s to say); a new entry's is the columns' default.
_CARRIED = ("is_primary", "symlink_path", "symlink_valid", "sync_status", "synced_at")
_NEW_ENTRY: dict[str, object] = {
    "is_primary": False,
    "symlink_path": None,
    "symlink_valid": None,
    "sync_status": TrackSyncStatus.UNKNOWN,
    "synced_at": None,
}


def _track_row(track: TidalTrack) -> dict[str, object]:
    return {
        "tidal_id": track.tidal_id,
        **{f: getattr(track, f) for f in _TRACK_FIELDS},
        "artists": json.dumps(track.artists, ensure_ascii=False),
    }


def _changed_track_rows(
    connection: Connection, tracks: Iterable[TidalTrack]
) -> Iterator[dict[str, object]]:
    """The rows of ``tracks`` that are new or differ from the stored ones: a playlist
    fetched again brings back mostly tracks stored as they are (writing those again was
    most of a small change's snapshot write)."""
    stored = {
        row[0]: tuple(row[1:])
        for row in connection.execute(
            select(Track.tidal_id, *[getattr(Track, c) for c in _TRACK_COLUMNS])
        )
    }
    for track in tracks:
        row = _track_row(track)
        if stored.get(track.tidal_id) != tuple(row[c] for c in _TRACK_COLUMNS):
            yield row


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def previous_playlists(engine: Engine) -> dict[str, TidalPlaylist]:
    """The stored playlists, for deciding which need their tracks fetched again."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                Playlist.id,
                Playlist.tidal_id,
                Playlist.name,
                Playlist.number_of_tracks,
                Playlist.fetched_last_updated,
                Playlist.fetch_complete,
            ).where(Playlist.removed_from_tidal.is_(False))
        ).all()
        positions = connection.execute(
            select(PlaylistTrack.playlist_id, Track.tidal_id)
            .join(Track, Track.id == PlaylistTrack.track_id)
            .where(PlaylistTrack.position.is_not(None))
            .order_by(PlaylistTrack.playlist_id, PlaylistTrack.position)
        ).all()
    tracks: dict[int, list[int]] = defaultdict(list)
    for playlist_id, track in positions:
        tracks[playlist_id].append(track)
    return {
        row.tidal_id: TidalPlaylist(
            tidal_id=row.tidal_id,
            name=row.name,
            number_of_tracks=row.number_of_tracks,
            last_updated=_utc(row.fetched_last_updated),
            track_ids=tuple(tracks[row.id]),
            complete=row.fetch_complete,
        )
        for row in rows
    }


def save_snapshot(engine: Engine, snapshot: TidalSnapshot) -> SnapshotOutcome:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        before = {
            row.tidal_id: row
            for row in connection.execute(
                select(Playlist.id, Playlist.tidal_id, Playlist.name, Playlist.removed_from_tidal)
            )
        }
        upsert(
            connection,
            Track.__table__,  # type: ignore[arg-type]
            _changed_track_rows(connection, snapshot.tracks.values()),
            keys=["tidal_id"],
            update=_TRACK_COLUMNS,
        )
        upsert(
            connection,
            Playlist.__table__,  # type: ignore[arg-type]
            (_playlist_row(p) for p in snapshot.playlists),
            keys=["tidal_id"],
            update=[
                "name",
                "description",
                "number_of_tracks",
                "favourite",
                "last_updated_tidal",
                "removed_from_tidal",
            ],
        )
        fetched = [p for p in snapshot.playlists if p.fetched]
        _record_fetches(connection, [p for p in fetched if p.complete], complete=True)
        _record_fetches(connection, [p for p in fetched if not p.complete], complete=False)
        ids = dict(connection.execute(select(Playlist.tidal_id, Playlist.id)).tuples().all())
        track_ids = dict(connection.execute(select(Track.tidal_id, Track.id)).tuples().all())
        counts = _replace_positions(
            connection,
            {ids[p.tidal_id]: p.track_ids for p in fetched if p.complete},
            track_ids,
        )
        changes: list[PlaylistChange] = []
        entries = 0
        for playlist in snapshot.playlists:
            old = before.get(playlist.tidal_id)
            entries += len(playlist.track_ids)
            if not playlist.complete:
                changes.append(PlaylistChange(playlist.tidal_id, playlist.name, "incomplete"))
                continue
            added, dropped = counts.get(ids[playlist.tidal_id], (0, 0))
            if old is None or old.removed_from_tidal:
                changes.append(PlaylistChange(playlist.tidal_id, playlist.name, "new", added))
            elif old.name != playlist.name:
                changes.append(
                    PlaylistChange(playlist.tidal_id, playlist.name, "renamed", added, dropped)
                )
            elif added or dropped:
                changes.append(
                    PlaylistChange(
                        playlist.tidal_id, playlist.name, "tracks changed", added, dropped
                    )
                )
        seen = {p.tidal_id for p in snapshot.playlists}
        # A short list says nothing about the playlists it left out: none counts as deleted.
        gone = [
            tid
            for tid, row in before.items()
            if tid not in seen and not row.removed_from_tidal and snapshot.listing_complete
        ]
        if gone:
            connection.execute(
                update(Playlist).where(Playlist.tidal_id.in_(gone)).values(removed_from_tidal=True)
            )
            status_store.playlists_removed(connection, gone)
            changes += [PlaylistChange(tid, before[tid].name, "removed") for tid in gone]
        # Fetched again means TIDAL's lastUpdated moved: the M3U8 is rewritten at least.
        changed = bool(changes) or any(p.fetched for p in snapshot.playlists)
        record = connection.execute(
            TidalSnapshotRecord.__table__.insert().values(  # type: ignore[attr-defined]
                taken_at=now,
                complete=snapshot.complete,
                playlists=len(snapshot.playlists),
                tracks=len(snapshot.tracks),
                entries=entries,
                playlists_fetched=sum(p.fetched for p in snapshot.playlists),
                requests_made=snapshot.requests_made,
                incomplete_playlists=json.dumps(
                    [p.tidal_id for p in snapshot.playlists if not p.complete]
                ),
                changed=changed,
            )
        )
        partitions = tuple(sorted(ids))
    return SnapshotOutcome(
        snapshot_id=record.inserted_primary_key[0],  # type: ignore[index]
        changes=tuple(changes),
        partitions=partitions,
        entries=entries,
    )


def save_folders(engine: Engine, placed: Mapping[str, tuple[str, ...]]) -> int:
    """Store where each playlist sits in the account's folders (absent: at the top);
    returns how many playlists moved to another folder."""
    with engine.begin() as connection:
        changed = [
            {"b_tidal_id": uuid, "b_folder": folder}
            for uuid, folder in _moved_folders(connection, placed).items()
        ]
        if changed:
            connection.execute(
                update(Playlist)
                .where(Playlist.tidal_id == bindparam("b_tidal_id"))
                .values(tidal_folder=bindparam("b_folder")),
                changed,
            )
    return len(changed)


def folders_moved(engine: Engine, placed: Mapping[str, tuple[str, ...]]) -> int:
    """How many playlists ``save_folders(placed)`` would move to another folder."""
    with engine.connect() as connection:
        return len(_moved_folders(connection, placed))


def _moved_folders(
    connection: Connection, placed: Mapping[str, tuple[str, ...]]
) -> dict[str, str | None]:
    """Each stored playlist whose folder ``placed`` changes -> its new ``tidal_folder``."""
    before = connection.execute(select(Playlist.tidal_id, Playlist.tidal_folder)).tuples()
    return {
        uuid: folder
        for uuid, old in before
        if old != (folder := json.dumps(placed[uuid]) if uuid in placed else None)
    }


@dataclass(frozen=True, slots=True)
class ListedPlaylistRow:
    """A playlist TIDAL still lists, as the last snapshot stored it."""

    name: str
    description: str | None
    number_of_tracks: int
    favourite: bool
    last_updated: datetime | None  # lastUpdated as last listed
    fetched_last_updated: datetime | None  # lastUpdated as last fetched whole
    fetch_complete: bool
    entries: int  # the entries it holds (TIDAL's, not those pending removal)


def listed_playlists(engine: Engine) -> dict[str, ListedPlaylistRow]:
    """Every stored playlist not removed from TIDAL, by UUID (no tracks: a light read)."""
    entries = (
        select(PlaylistTrack.playlist_id, func.count().label("entries"))
        .where(PlaylistTrack.position.is_not(None))
        .group_by(PlaylistTrack.playlist_id)
        .subquery()
    )
    query = (
        select(
            Playlist.tidal_id,
            Playlist.name,
            Playlist.description,
            Playlist.number_of_tracks,
            Playlist.favourite,
            Playlist.last_updated_tidal,
            Playlist.fetched_last_updated,
            Playlist.fetch_complete,
            func.coalesce(entries.c.entries, 0),
        )
        .outerjoin(entries, entries.c.playlist_id == Playlist.id)
        .where(Playlist.removed_from_tidal.is_(False))
    )
    with engine.connect() as connection:
        rows = connection.execute(query).tuples().all()
    return {
        uuid: ListedPlaylistRow(
            name, description, number, favourite, _utc(listed), _utc(fetched), complete, count
        )
        for uuid, name, description, number, favourite, listed, fetched, complete, count in rows
    }


def playlist_track_ids(engine: Engine, tidal_id: str) -> list[int]:
    """The TIDAL tracks of one stored playlist, in its order."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(Track.tidal_id)
                .join(PlaylistTrack, PlaylistTrack.track_id == Track.id)
                .join(Playlist, Playlist.id == PlaylistTrack.playlist_id)
                .where(Playlist.tidal_id == tidal_id, PlaylistTrack.position.is_not(None))
                .order_by(PlaylistTrack.position)
            ).scalars()
        )


def _playlist_row(playlist: TidalPlaylist) -> dict[str, object]:
    return {
        "tidal_id": playlist.tidal_id,
        "name": playlist.name,
        "description": playlist.description,
        "number_of_tracks": playlist.number_of_tracks,
        "favourite": playlist.favourite,
        "last_updated_tidal": playlist.last_updated,
        "removed_from_tidal": False,
    }


def _record_fetches(
    connection: Connection, playlists: list[TidalPlaylist], *, complete: bool
) -> None:
    """Note the fetch; only a complete one moves the ``fetched_last_updated`` watermark."""
    if not playlists:
        return
    values: dict[str, Any] = {"fetch_complete": complete}
    if complete:
        values["fetched_last_updated"] = bindparam("b_last_updated")
    connection.execute(
        update(Playlist).where(Playlist.tidal_id == bindparam("b_tidal_id")).values(**values),
        [
            {"b_tidal_id": p.tidal_id, **({"b_last_updated": p.last_updated} if complete else {})}
            for p in playlists
        ],
    )


def _replace_positions(
    connection: Connection,
    wanted: Mapping[int, tuple[int, ...]],
    track_ids: dict[int, int],
) -> dict[int, tuple[int, int]]:
    """Store each playlist's ``wanted`` tracks (by playlist key) as its positions,
    carrying each entry's state over; all playlists in a few statements. A row that
    stays as it is (the same track at the same position, in the same state) is left
    alone: an entry added or dropped on TIDAL rewrites the rows after it, not the
    whole playlist.

    Returns per playlist (entries added, entries dropped) counted by track, against
    the tracks it listed before: an entry already pending removal is not dropped again.
    """
    playlist_pks = list(wanted)
    columns = ("playlist_id", "track_id", "position", *_CARRIED)
    stored: dict[tuple[Any, ...], list[int]] = defaultdict(list)  # row -> its ids
    for batch in range(0, len(playlist_pks), ROWS_PER_STATEMENT):
        pks = playlist_pks[batch : batch + ROWS_PER_STATEMENT]
        for row_id, *values in connection.execute(
            select(PlaylistTrack.id, *[getattr(PlaylistTrack, c) for c in columns]).where(
                PlaylistTrack.playlist_id.in_(pks)
            )
        ):
            stored[tuple(values)].append(row_id)
    state: dict[int, dict[int, dict[str, object]]] = defaultdict(dict)
    listed: dict[int, set[int]] = defaultdict(set)
    for playlist_id, track_id, position, *entry in stored:
        state[playlist_id][track_id] = dict(zip(_CARRIED, entry, strict=True))
        if position is not None:
            listed[playlist_id].add(track_id)
    rows: list[dict[str, object]] = []
    counts: dict[int, tuple[int, int]] = {}
    for playlist_id, tracks in wanted.items():
        carried = state[playlist_id]
        wanted_db = [track_ids[t] for t in tracks]
        wanted_set = set(wanted_db)
        rows += [
            {
                "playlist_id": playlist_id,
                "track_id": track,
                "position": position,
                **carried.get(track, _NEW_ENTRY),
            }
            for position, track in enumerate(wanted_db)
        ]
        rows += [
            {"playlist_id": playlist_id, "track_id": track, "position": None, **carried[track]}
            for track in carried
            if track not in wanted_set
            and (carried[track]["symlink_path"] or carried[track]["is_primary"])
        ]
        was = listed[playlist_id]
        counts[playlist_id] = (len(wanted_set - was), len(was - wanted_set))
    new_rows = []
    for row in rows:
        kept = stored.get(tuple(row[c] for c in columns))
        if kept:
            kept.pop()
        else:
            new_rows.append(row)
    gone = [row_id for ids in stored.values() for row_id in ids]
    for batch in range(0, len(gone), ROWS_PER_STATEMENT):
        ids = gone[batch : batch + ROWS_PER_STATEMENT]
        connection.execute(delete(PlaylistTrack).where(PlaylistTrack.id.in_(ids)))
    insert_many(connection, PlaylistTrack.__table__, new_rows)  # type: ignore[arg-type]
    status_store.entries_after_snapshot(connection, playlist_pks)
    return counts


def playlist_names(engine: Engine) -> dict[str, str]:
    """Every stored playlist's UUID -> name."""
    with engine.connect() as connection:
        return dict(connection.execute(select(Playlist.tidal_id, Playlist.name)).tuples().all())


def playlist_labels(
    engine: Engine, tidal_ids: Iterable[str] | None = None
) -> dict[str, PlaylistLabel]:
    """Every stored playlist's (or just ``tidal_ids``') UUID -> its name, TIDAL folders
    and library folder."""
    query = select(
        Playlist.tidal_id, Playlist.name, Playlist.tidal_folder, Playlist.local_folder_path
    )
    if tidal_ids is not None:
        query = query.where(Playlist.tidal_id.in_(list(tidal_ids)))
    with engine.connect() as connection:
        rows = connection.execute(query).tuples()
        return {
            uuid: PlaylistLabel(uuid, name, tuple(json.loads(folders or "[]")), folder)
            for uuid, name, folders, folder in rows
        }


_FEW = 1_000  # more ids than this: read every row and keep the wanted ones


def load_tracks(engine: Engine, tidal_ids: Iterable[int] | None = None) -> dict[int, TidalTrack]:
    """Stored TIDAL tracks as snapshot records (all, or just ``tidal_ids``)."""
    wanted = None if tidal_ids is None else set(tidal_ids)
    query = select(
        Track.tidal_id,
        Track.title,
        Track.artists,
        Track.album,
        Track.album_artist,
        Track.album_id,
        Track.track_number,
        Track.isrc,
        Track.duration,
        Track.version,
        Track.allow_streaming,
        Track.bpm,
        Track.musical_key,
        Track.release_date,
    )
    if wanted is not None and len(wanted) <= _FEW:
        query = query.where(Track.tidal_id.in_(wanted))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return {
        row.tidal_id: TidalTrack(
            tidal_id=row.tidal_id,
            title=row.title,
            artists=tuple(json.loads(row.artists)),
            album=row.album,
            album_artist=row.album_artist,
            album_id=row.album_id,
            track_number=row.track_number,
            isrc=row.isrc,
            duration=row.duration,
            version=row.version,
            allow_streaming=row.allow_streaming,
            bpm=row.bpm,
            musical_key=row.musical_key,
            release_date=row.release_date,
        )
        for row in rows
        if wanted is None or row.tidal_id in wanted
    }


def wanted_track_ids(engine: Engine) -> set[int]:
    """The tracks the library serves: listed in a playlist, or holding a primary."""
    listed = (
        select(Track.tidal_id)
        .join(PlaylistTrack, PlaylistTrack.track_id == Track.id)
        .where(PlaylistTrack.position.is_not(None))
    )
    placed = select(Track.tidal_id).where(Track.file_path.is_not(None), Track.file_path != "")
    with engine.connect() as connection:
        return set(connection.execute(union(listed, placed)).scalars())


class WantedTracks(Mapping[int, TidalTrack]):
    """The tracks the library serves, for matching: the ids at once, the rows on first need.

    Files the product tagged match by ``TIDAL_TRACK_ID``, which needs only the
    ids; the rows (and the name index built from them) are loaded only when a
    file has to be matched by ISRC or by name.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._ids = wanted_track_ids(engine)
        self._rows: dict[int, TidalTrack] | None = None

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __getitem__(self, key: int) -> TidalTrack:
        if key not in self._ids:
            raise KeyError(key)
        if self._rows is None:
            self._rows = load_tracks(self._engine, self._ids)
        return self._rows[key]
