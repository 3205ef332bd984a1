"""Persisting what TIDAL said about albums: one ``albums`` row per album ever looked up,
and the album artist and release date copied onto its tracks (which the Rekordbox
export and ``status`` read)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, update

from tidal_sync_assets.database.bulk import upsert
from tidal_sync_assets.database.models import Album, Track
from tidal_sync_assets.tidal.snapshot import TidalAlbum


def load_albums(engine: Engine) -> dict[int, TidalAlbum]:
    """Every album looked up so far, by TIDAL id."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Album.tidal_id, Album.artist, Album.release_date, Album.cover)
        ).tuples()
        return {row[0]: TidalAlbum(*row) for row in rows}


def save_album(engine: Engine, album: TidalAlbum) -> None:
    """Keep ``album`` and give its tracks its artist and release date (where known)."""
    with engine.begin() as connection:
        upsert(
            connection,
            Album.__table__,  # type: ignore[arg-type]
            [
                {
                    "tidal_id": album.tidal_id,
                    "artist": album.artist,
                    "release_date": album.release_date,
                    "cover": album.cover,
                    "looked_up_at": datetime.now(UTC),
                }
            ],
            keys=["tidal_id"],
            update=["artist", "release_date", "cover", "looked_up_at"],
        )
        _give_tracks(connection, album)


def give_tracks(engine: Engine, album: TidalAlbum) -> None:
    """Give ``album``'s artist and release date to its tracks, also those a later
    snapshot added (a snapshot never writes them)."""
    with engine.begin() as connection:
        _give_tracks(connection, album)


def _give_tracks(connection: Connection, album: TidalAlbum) -> None:
    known = {
        column: value
        for column, value in (("album_artist", album.artist), ("release_date", album.release_date))
        if value is not None
    }
    if known:
        connection.execute(update(Track).where(Track.album_id == album.tidal_id).values(known))
