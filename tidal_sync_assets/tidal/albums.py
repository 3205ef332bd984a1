"""An album's own document and its front cover, as TIDAL serves them.

A track's JSON carries its album's id, title and cover id only; the album artist and
the release date a file is tagged with are in the album's document. Both requests go
through the session's TIDAL adapter (its rate limit and retry policy).
"""

from __future__ import annotations

import tidalapi
from tidalapi.exceptions import ObjectNotFound

from tidal_sync_assets.tidal.snapshot import TidalAlbum

COVER_SIZE = 640  # px: TIDAL's sizes are 80, 160, 320, 640, 1280
JPEG_START = b"\xff\xd8"


def fetch_album(session: tidalapi.Session, album_id: int) -> TidalAlbum:
    """Album ``album_id`` as TIDAL describes it; an album TIDAL no longer has is one
    with nothing known (a 404 is TIDAL's answer, not a failure to try again)."""
    try:
        album = session.album(str(album_id))
    except ObjectNotFound:
        return TidalAlbum(album_id)
    return TidalAlbum(
        album_id,
        artist=album.artist.name if album.artist is not None and album.artist.name else None,
        release_date=album.release_date.date().isoformat() if album.release_date else None,
        cover=album.cover or None,
    )


def fetch_cover(session: tidalapi.Session, cover: str) -> bytes | None:
    """The front cover with image id ``cover`` as a JPEG (``COVER_SIZE`` px); None when
    TIDAL's image server answers with something else. Raises on a failed request."""
    image = tidalapi.Album(session, None)  # tidalapi's image URLs, without fetching the album
    image.cover = cover
    response = session.request_session.get(image.image(COVER_SIZE))
    response.raise_for_status()
    return response.content if response.content.startswith(JPEG_START) else None
