"""Fetching what the TIDAL account holds into a ``TidalSnapshot``.

Owns the listing of the user's playlists, the explicit limit/offset paging of
each playlist's tracks (tidalapi's threaded helpers swallow failed pages and
return short lists, so they are not used), the rule that a playlist whose
``lastUpdated`` is unchanged is not fetched again (the favourite tracks, which
have none: whose count and first page are unchanged), and the conversion of
tracks' JSON into ``TidalTrack``. A playlist whose pages fail or come back
short is kept but marked incomplete; a playlist list that holds fewer
playlists than TIDAL's ``totalNumberOfItems`` marks the snapshot's listing
incomplete (no playlist may then count as deleted); only failing to list the
playlists at all is an error (``TidalUnavailable``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import tidalapi
from tidalapi.exceptions import AuthenticationError, TidalAPIError

from tidal_sync_assets.dj.keys import classic_key
from tidal_sync_assets.progress import PROGRESS
from tidal_sync_assets.tidal.http import Abandoned, describe_failure, requests_made
from tidal_sync_assets.tidal.session import (
    REAL_TIDAL_ORIGIN,
    TidalLoginRequired,
    TidalUnavailable,
    abandon_session,
)
from tidal_sync_assets.tidal.snapshot import TidalPlaylist, TidalSnapshot, TidalTrack

log = logging.getLogger(__name__)

# What a page of TIDAL JSON can fail with once the transport has given up:
# HTTP/transport errors, tidalapi's own errors, and malformed or cut JSON.
_PAGE_ERRORS = (requests.RequestException, TidalAPIError, ValueError, KeyError, TypeError)

# TIDAL refuses more than 50 playlists per page.
_PLAYLIST_PAGE_LIMIT = 50
# "My Collection" favourite tracks, synced as one more playlist under this key and name.
FAVORITE_TRACKS_KEY = "favorites:tracks"
FAVORITE_TRACKS_NAME = "Favorite Tracks"
# Playlists whose tracks are fetched at the same time.
FETCH_WORKERS = 4


_REFUSED = "TIDAL refused the saved login; run `tidal-sync login` again."


@dataclass(frozen=True, slots=True)
class _Listed:
    playlist: tidalapi.Playlist
    favourite: bool


@dataclass(frozen=True, slots=True)
class _Listing:
    """The playlists the list's pages held, and whether that is all TIDAL announced."""

    entries: list[_Listed]
    announced: int | None  # TIDAL's totalNumberOfItems; None if it gave none
    consistent: bool  # every page announced the same total

    @property
    def complete(self) -> bool:
        return self.consistent and (self.announced is None or len(self.entries) == self.announced)


def fetch_snapshot(
    session: tidalapi.Session,
    previous: Mapping[str, TidalPlaylist],
    *,
    include_favourites: bool = False,
    include_favorite_tracks: bool = False,
    page_size: int = 100,
) -> TidalSnapshot:
    """Fetch the user's playlists (and favourited ones if asked) with their tracks.

    ``previous`` maps playlist UUIDs to the last stored playlists: one whose
    ``lastUpdated`` has not changed and that was complete is not fetched again.
    Raises ``TidalUnavailable`` when the playlists cannot be listed and
    ``TidalLoginRequired`` when TIDAL refuses the login.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    before = requests_made(session.request_session)
    listing = _listed(session, include_favourites)
    listed = listing.entries
    if not listing.complete:
        log.warning(
            "TIDAL announced %s playlists but its list held %d; "
            "no playlist counts as deleted until the list is whole.",
            listing.announced,
            len(listed),
        )

    changed = [
        entry
        for entry in listed
        if (known := previous.get(str(entry.playlist.id))) is None
        or not _unchanged(known, entry.playlist)
    ]
    # Several playlists at once (each one's pages in order): the waits for TIDAL
    # overlap, while the shared rate limiter still paces every request.
    PROGRESS.begin_fetch(len(changed) + int(include_favorite_tracks))
    with ThreadPoolExecutor(FETCH_WORKERS) as pool:
        try:
            results = pool.map(lambda e: _fetch_tracks(session, e.playlist, page_size), changed)
            fetched_by_id = {
                str(e.playlist.id): result for e, result in zip(changed, results, strict=True)
            }
        except BaseException:  # stopped: the pages under way wait for TIDAL no longer
            pool.shutdown(wait=False, cancel_futures=True)
            abandon_session(session)
            raise

    playlists: list[TidalPlaylist] = []
    tracks: dict[int, TidalTrack] = {}
    for entry in listed:
        found = fetched_by_id.get(str(entry.playlist.id))
        if found is None:
            known = previous[str(entry.playlist.id)]
            playlists.append(_to_playlist(entry, known.track_ids, complete=True, fetched=False))
            continue
        fetched, complete = found
        for track in fetched:
            tracks[track.tidal_id] = track
        track_ids = tuple(t.tidal_id for t in fetched)
        playlists.append(_to_playlist(entry, track_ids, complete=complete, fetched=True))
    if include_favorite_tracks:
        favourites, fetched = _fetch_favorite_tracks(
            session, page_size, previous.get(FAVORITE_TRACKS_KEY)
        )
        for track in fetched:
            tracks[track.tidal_id] = track
        playlists.append(favourites)
    return TidalSnapshot(
        playlists=tuple(playlists),
        tracks=tracks,
        requests_made=requests_made(session.request_session) - before,
        listing_complete=listing.complete,
        playlists_announced=listing.announced,
    )


@dataclass(frozen=True, slots=True)
class ListedPlaylist:
    """A playlist as the list shows it: enough to notice a change, no tracks."""

    tidal_id: str
    name: str
    last_updated: datetime | None
    number_of_tracks: int
    description: str | None
    favourite: bool


def list_playlists(
    session: tidalapi.Session, *, include_favourites: bool = False
) -> list[ListedPlaylist]:
    """Only the playlist list (a few requests): what the change sensor and a sync's quick
    check compare.

    A list shorter than TIDAL announced is ``TidalUnavailable``: it would look like
    deleted playlists."""
    listing = _listed(session, include_favourites)
    if not listing.complete:
        short = f"the playlist list held {len(listing.entries)} of {listing.announced}"
        raise TidalUnavailable(_origin(session), short)
    return [
        ListedPlaylist(
            str(e.playlist.id),
            e.playlist.name or "",
            e.playlist.last_updated,
            e.playlist.num_tracks,
            e.playlist.description or None,
            e.favourite,
        )
        for e in listing.entries
    ]


def _listed(session: tidalapi.Session, include_favourites: bool) -> _Listing:
    """The listing with its failures turned into the two user-facing errors."""
    try:
        return _list_playlists(session, include_favourites)
    except AuthenticationError:
        raise TidalLoginRequired(_REFUSED) from None
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code == 401:
            raise TidalLoginRequired(_REFUSED) from None
        raise TidalUnavailable.from_error(exc, _origin(session)) from None
    except _PAGE_ERRORS as exc:
        raise TidalUnavailable.from_error(exc, _origin(session)) from None


def _list_playlists(session: tidalapi.Session, include_favourites: bool) -> _Listing:
    """The user's playlists page by page; favourited ones too when asked."""
    user = session.user
    if user is None:
        raise TidalAPIError("the session is not logged in")
    endpoint = (
        f"users/{user.id}/playlistsAndFavoritePlaylists"
        if include_favourites
        else f"users/{user.id}/playlists"
    )
    parser = session.playlist()
    entries: list[_Listed] = []
    seen: set[str] = set()
    totals: set[int] = set()
    offset = 0
    while True:
        body = session.request.request(
            "GET", endpoint, params={"limit": _PLAYLIST_PAGE_LIMIT, "offset": offset}
        ).json()
        items = body["items"]
        for item in items:
            data = item.get("playlist", item)
            playlist = parser.parse(data)
            if str(playlist.id) in seen:
                continue
            seen.add(str(playlist.id))
            entries.append(_Listed(playlist, favourite=item.get("type") == "USER_FAVORITE"))
        offset += len(items)
        total = body.get("totalNumberOfItems")
        if total is not None:
            totals.add(int(total))
        # A playlist missing from the list would look deleted: the caller compares the
        # distinct playlists found with the total TIDAL announced, never trusting offsets.
        if not items or (total is not None and offset >= int(total)):
            return _Listing(entries, max(totals) if totals else None, len(totals) <= 1)


def _unchanged(known: TidalPlaylist, playlist: tidalapi.Playlist) -> bool:
    return (
        known.complete
        and playlist.last_updated is not None
        and known.last_updated == playlist.last_updated
        and len(known.track_ids) == playlist.num_tracks
    )


def _fetch_tracks(
    session: tidalapi.Session, playlist: tidalapi.Playlist, page_size: int
) -> tuple[list[TidalTrack], bool]:
    """All tracks of ``playlist`` in order, and whether exactly all of them came back."""
    expected = playlist.num_tracks
    path = f"playlists/{playlist.id}/tracks"
    fetched: list[TidalTrack] = []
    consistent = True
    try:
        while len(fetched) < expected:
            body = session.request.request(
                "GET", path, params={"limit": page_size, "offset": len(fetched)}
            ).json()
            total = body.get("totalNumberOfItems")
            if total is not None and int(total) != expected:
                # The playlist changed while we were paging it: the pages don't fit together.
                consistent = False
            items = body["items"]
            if not items:
                break
            fetched.extend(_to_track(item) for item in items)
    except Abandoned:  # the command is being stopped: nothing to report
        return fetched, False
    except _PAGE_ERRORS as exc:
        log.warning(
            "Playlist %r: tracks from position %d could not be fetched (%s); "
            "it is marked incomplete.",
            playlist.name,
            len(fetched),
            describe_failure(exc),
        )
        PROGRESS.playlist_fetched()
        return fetched, False
    PROGRESS.playlist_fetched()
    complete = consistent and len(fetched) == expected
    if not complete:
        log.warning(
            "Playlist %r: TIDAL announced %d tracks but %d came back; it is marked incomplete.",
            playlist.name,
            expected,
            len(fetched),
        )
    return fetched, complete


def _fetch_favorite_tracks(
    session: tidalapi.Session, page_size: int, known: TidalPlaylist | None
) -> tuple[TidalPlaylist, list[TidalTrack]]:
    """My Collection's tracks as one more playlist, newest first, and the tracks fetched.

    Paged and checked like a playlist: a short list is incomplete. TIDAL gives the
    favourites no ``lastUpdated``, but lists them by when each was added: a favourite
    added since the last snapshot comes first, one removed lowers the count. So when
    the count and the first page are what the last complete fetch stored, nothing
    changed, and the rest of the list is not fetched again.
    """
    fetched: list[TidalTrack] = []
    expected: int | None = None
    consistent = True
    try:
        while expected is None or len(fetched) < expected:
            body = _favourites_page(session, len(fetched), page_size)
            total = int(body["totalNumberOfItems"])
            items = body["items"]
            if expected is None:
                expected = total
                if known is not None and known.complete and _same(known.track_ids, total, items):
                    PROGRESS.playlist_fetched()
                    return _favourites(known.track_ids, total, known, fetched=False), []
            elif total != expected:
                consistent = False  # changed while we were paging it
            if not items:
                break
            fetched.extend(_to_track(item["item"]) for item in items)
    except _PAGE_ERRORS as exc:
        log.warning(
            "Favourite tracks from position %d could not be fetched (%s); marked incomplete.",
            len(fetched),
            describe_failure(exc),
        )
        PROGRESS.playlist_fetched()
        announced = expected if expected is not None else len(fetched)
        return _favourites(_ids(fetched), announced, known, complete=False), fetched
    PROGRESS.playlist_fetched()
    announced = expected or 0
    complete = consistent and len(fetched) == announced
    return _favourites(_ids(fetched), announced, known, complete=complete), fetched


def favourite_tracks_unchanged(
    session: tidalapi.Session, known: tuple[int, ...], page_size: int = 100
) -> bool:
    """Whether My Collection's tracks are still ``known`` (stored from a complete fetch),
    told as a snapshot tells it: by the count and the newest page, in one request."""
    try:
        body = _favourites_page(session, 0, page_size)
    except _PAGE_ERRORS:
        return False
    return _same(known, int(body["totalNumberOfItems"]), body["items"])


def _favourites_page(session: tidalapi.Session, offset: int, page_size: int) -> Any:
    user = session.user
    return session.request.request(
        "GET",
        f"users/{user.id if user else 0}/favorites/tracks",
        params={"limit": page_size, "offset": offset, "order": "DATE", "orderDirection": "DESC"},
    ).json()


def _same(known: tuple[int, ...], total: int, first_page: list[Any]) -> bool:
    """TIDAL lists favourites newest first: one added comes first, one removed lowers
    the count. So an unchanged count and first page mean an unchanged list."""
    newest = tuple(int(item["item"]["id"]) for item in first_page)
    return total == len(known) and newest == known[: len(newest)] and (bool(newest) or total == 0)


def _favourites(
    track_ids: tuple[int, ...],
    announced: int,
    known: TidalPlaylist | None,
    *,
    complete: bool = True,
    fetched: bool = True,
) -> TidalPlaylist:
    """My Collection as a playlist. TIDAL gives it no ``lastUpdated``, so it gets one of
    its own, as planning tells a changed playlist by it: the stored one while the list
    is as stored, now when it moved."""
    same = (
        complete
        and known is not None
        and known.complete
        and known.last_updated is not None
        and known.track_ids == track_ids
    )
    return TidalPlaylist(
        tidal_id=FAVORITE_TRACKS_KEY,
        name=FAVORITE_TRACKS_NAME,
        number_of_tracks=announced,
        last_updated=known.last_updated if same and known is not None else datetime.now(UTC),
        track_ids=track_ids,
        complete=complete,
        fetched=fetched,
    )


def _ids(tracks: list[TidalTrack]) -> tuple[int, ...]:
    return tuple(t.tidal_id for t in tracks)


def _to_playlist(
    entry: _Listed, track_ids: tuple[int, ...], *, complete: bool, fetched: bool
) -> TidalPlaylist:
    playlist = entry.playlist
    return TidalPlaylist(
        tidal_id=str(playlist.id),
        name=playlist.name or "",
        number_of_tracks=playlist.num_tracks,
        last_updated=playlist.last_updated,
        track_ids=track_ids,
        description=playlist.description or None,
        complete=complete,
        fetched=fetched,
        favourite=entry.favourite,
    )


def _to_track(item: Mapping[str, Any]) -> TidalTrack:
    """A track of a page, read from its JSON as tidalapi's ``Track`` reads it.

    Not through ``session.parse_track``: that builds artist and album objects and parses
    two dates with dateutil per entry (about 40 µs; half the fetch threads' CPU in a 1%
    change at 10,000 tracks), for the dozen fields kept here. JSON
    without ``id``, ``title`` or ``duration`` is a malformed page (``KeyError``), as it
    is to tidalapi; fields of an unavailable track may be missing or null.
    """
    album = item.get("album") or {}
    key, scale = item.get("key"), item.get("keyScale")
    # A playlist's track JSON carries no album artist (tidalapi fills in the
    # track's own artist) and no release date: both are the album document's, looked
    # up once per album when a file is tagged (``library.albums``).
    return TidalTrack(
        tidal_id=int(item["id"]),
        title=item["title"],
        artists=tuple(a["name"] for a in item.get("artists") or () if a.get("name")),
        album=album.get("title"),
        album_id=int(album["id"]) if album.get("id") else None,
        track_number=item.get("trackNumber"),
        isrc=item.get("isrc") or None,
        duration=item["duration"],
        version=item.get("version") or None,
        allow_streaming=bool(item.get("allowStreaming") and item.get("streamReady")),
        bpm=float(item["bpm"]) if item.get("bpm") else None,
        musical_key=classic_key(key, scale),
    )


def _origin(session: tidalapi.Session) -> str:
    return getattr(session, "api_origin", REAL_TIDAL_ORIGIN)
