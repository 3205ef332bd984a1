"""The DJ export's rows: stable TrackIDs, what the XML lists, and each export's record.

SQL only: which tracks have a file (with their TrackID, assigned here once
and never changed), the playlists and their entries in TIDAL order, and the
record of an export (with where each track was located, so the next export
can tell which primaries moved).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, insert, select, update

from tidal_sync_assets.database.models import (
    DjExport,
    Playlist,
    PlaylistTrack,
    RekordboxTrack,
    Track,
)


@dataclass(frozen=True, slots=True)
class ExportRows:
    """What the library holds, as the export reads it."""

    tracks: Sequence[Any]  # each track with a file, by TrackID
    playlists: Sequence[Any]  # tidal_id, name, tidal_folder; the playlists TIDAL still lists
    entries: dict[str, list[int]]  # playlist UUID -> TrackIDs in TIDAL order


def export_rows(engine: Engine) -> ExportRows:
    """Assign a TrackID to every track that newly has a file, then read what to export."""
    with engine.begin() as connection:
        connection.execute(
            insert(RekordboxTrack).from_select(
                ["tidal_id"],
                select(Track.tidal_id)
                .outerjoin(RekordboxTrack, RekordboxTrack.tidal_id == Track.tidal_id)
                .where(Track.file_path.is_not(None), RekordboxTrack.id.is_(None))
                .order_by(Track.id),
            )
        )
        tracks = connection.execute(
            select(
                RekordboxTrack.id.label("track_id"),
                RekordboxTrack.location,
                Track.tidal_id,
                Track.title,
                Track.version,
                Track.artist,
                Track.album,
                Track.file_path,
                Track.duration,
                Track.bpm,
                Track.musical_key,
                Track.release_date,
                Track.file_size,
                Track.codec,
                Track.sample_rate,
            )
            .join(RekordboxTrack, RekordboxTrack.tidal_id == Track.tidal_id)
            .where(Track.file_path.is_not(None))
            .order_by(RekordboxTrack.id)
        ).all()
        playlists = connection.execute(
            select(Playlist.tidal_id, Playlist.name, Playlist.tidal_folder)
            .where(Playlist.removed_from_tidal.is_(False))
            .order_by(Playlist.name, Playlist.tidal_id)
        ).all()
        listed = connection.execute(
            select(Playlist.tidal_id, RekordboxTrack.id)
            .join(PlaylistTrack, PlaylistTrack.playlist_id == Playlist.id)
            .join(Track, Track.id == PlaylistTrack.track_id)
            .join(RekordboxTrack, RekordboxTrack.tidal_id == Track.tidal_id)
            .where(
                Playlist.removed_from_tidal.is_(False),
                PlaylistTrack.position.is_not(None),
                Track.file_path.is_not(None),
            )
            .order_by(Playlist.tidal_id, PlaylistTrack.position)
        ).tuples()
        entries: dict[str, list[int]] = defaultdict(list)
        for playlist, track_id in listed:
            entries[playlist].append(track_id)
    return ExportRows(tracks=tracks, playlists=playlists, entries=dict(entries))


@dataclass(frozen=True, slots=True)
class ExportRecord:
    path: str
    digest: str
    written: bool
    tracks: int
    playlists: int
    locations: Sequence[tuple[int, str]]  # TrackID, the primary's path it was exported at
    moved: int


def record_export(engine: Engine, record: ExportRecord) -> None:
    """Store the export and the location each track was exported at."""
    with engine.begin() as connection:
        if record.locations:
            connection.execute(
                update(RekordboxTrack)
                .where(RekordboxTrack.id == bindparam("b_id"))
                .values(location=bindparam("b_location")),
                [{"b_id": i, "b_location": where} for i, where in record.locations],
            )
        connection.execute(
            insert(DjExport).values(
                exported_at=datetime.now(UTC),
                path=record.path,
                digest=record.digest,
                written=record.written,
                tracks=record.tracks,
                playlists=record.playlists,
                moved=record.moved,
            )
        )


def export_count(engine: Engine) -> int:
    """How many exports were recorded (0: the library was never exported)."""
    with engine.connect() as connection:
        return len(connection.execute(select(DjExport.id).limit(1)).all())
