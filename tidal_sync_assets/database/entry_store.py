"""Reading the library as one table: a row per playlist entry TIDAL lists, with its
track's place on disk, delivered quality, BPM, key and download status."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, case, select

from tidal_sync_assets.database.models import Playlist, PlaylistTrack, Track

ENTRY_COLUMNS = (
    "playlist",
    "position",
    "artist",
    "title",
    "file",
    "quality",
    "codec",
    "bpm",
    "key",
    "status",
)


def load_entries(engine: Engine) -> pd.DataFrame:
    """Every listed entry (``ENTRY_COLUMNS``), by playlist name then TIDAL order.

    ``position`` counts from 1; ``file`` is the entry's own path under the library root
    (the primary, or its link or copy), empty while the entry is not placed.
    """
    file = case((PlaylistTrack.is_primary, Track.file_path), else_=PlaylistTrack.symlink_path)
    query = (
        select(
            Playlist.name.label("playlist"),
            (PlaylistTrack.position + 1).label("position"),
            Track.artist,
            Track.title,
            file.label("file"),
            Track.audio_quality.label("quality"),
            Track.codec,
            Track.bpm,
            Track.musical_key.label("key"),
            Track.download_status.label("status"),
        )
        .join(PlaylistTrack, PlaylistTrack.playlist_id == Playlist.id)
        .join(Track, Track.id == PlaylistTrack.track_id)
        .where(PlaylistTrack.position.is_not(None))
        .order_by(Playlist.name, Playlist.id, PlaylistTrack.position)
    )
    with engine.connect() as connection:
        return pd.read_sql(query, connection)
