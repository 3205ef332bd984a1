"""The account's playlist folders, read from TIDAL's v2 ``my-collection`` endpoint.

Owns walking the folder tree (each folder's items page by page, following
TIDAL's ``cursor``: tidalapi 0.8.11 pages this endpoint by ``offset``, which
TIDAL ignores) into where each playlist sits. The disk stays flat; the tree
only shapes the Rekordbox XML.
"""

from __future__ import annotations

import logging

import requests
import tidalapi
from tidalapi.exceptions import TidalAPIError

from tidal_sync_assets.tidal.http import describe_failure

log = logging.getLogger(__name__)

_ENDPOINT = "my-collection/playlists/folders"
_PAGE_LIMIT = 50  # TIDAL refuses more
_MAX_PAGES = 10_000  # a cursor that never ends is TIDAL's bug, not a reason to hang
_ROOT = "root"
# What a page can fail with once the transport has given up (as in fetch.py).
_PAGE_ERRORS = (requests.RequestException, TidalAPIError, ValueError, KeyError, TypeError)


def fetch_folders(session: tidalapi.Session) -> dict[str, tuple[str, ...]] | None:
    """Each playlist in a folder → the folder names from the top (playlists at the top
    are left out); None when the tree could not be read whole (the caller keeps what it
    knew: a half-read tree would move playlists out of their folders)."""
    placed: dict[str, tuple[str, ...]] = {}
    pending: list[tuple[str, tuple[str, ...]]] = [(_ROOT, ())]
    seen = {_ROOT}
    pages = 0
    try:
        while pending:
            folder, path = pending.pop()
            cursor: str | None = None
            while True:
                pages += 1
                if pages > _MAX_PAGES:
                    raise ValueError("the folder listing never ended")
                params: dict[str, str | int | None] = {
                    "folderId": folder,
                    "limit": _PAGE_LIMIT,
                    "order": "NAME",
                }
                if cursor:
                    params["cursor"] = cursor
                body = session.request.request(
                    "GET", _ENDPOINT, base_url=session.config.api_v2_location, params=params
                ).json()
                for item in body["items"]:
                    data = item["data"]
                    if item["itemType"] == "FOLDER" and data["id"] not in seen:
                        seen.add(data["id"])
                        pending.append((data["id"], (*path, item["name"])))
                    elif item["itemType"] == "PLAYLIST" and path:
                        placed[str(data["uuid"])] = path
                cursor = body.get("cursor")
                if not cursor or not body["items"]:
                    break
    except _PAGE_ERRORS as exc:
        log.warning(
            "The playlist folders could not be read (%s); kept as they were.",
            describe_failure(exc),
        )
        return None
    return placed
