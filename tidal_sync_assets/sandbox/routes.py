"""The TIDAL endpoints tidalapi 0.8.11 calls, answered from the catalog.

OAuth (``/v1/oauth2/...``, the PKCE login page ``/authorize``) and audio
(``/_audio/...``, signed URLs instead) need no token; every other endpoint answers 401
without a valid Bearer token, as TIDAL does. An audio URL whose signature expired answers
403, as TIDAL's CDN does. List endpoints page with ``limit``/``offset`` and clamp
``limit`` to TIDAL's maximum for the endpoint (``/items`` 100,
``playlistsAndFavoritePlaylists`` and v2 folders 50, others 10000).
``order``/``orderDirection`` are honoured for v2 folders; playlists keep their own order.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tidal_sync_assets.sandbox import manifests, payloads
from tidal_sync_assets.sandbox.auth import ACCESS_TOKEN_SECONDS, Grant, TokenAuthority, TokenState
from tidal_sync_assets.sandbox.catalog import Catalog, Folder, Playlist
from tidal_sync_assets.sandbox.exchange import Request, Response, json_response
from tidal_sync_assets.sandbox.images import cover_jpeg
from tidal_sync_assets.sandbox.media import RENDITIONS, dash_rendition, plain_mp4

Handler = Callable[["TidalApi", Request, re.Match[str]], Response]
_DEFAULT_MAX_LIMIT = 10_000
_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def not_found(what: str) -> Response:
    return json_response(404, payloads.error(404, 2001, f"{what} was not found"))


def token_expired() -> Response:
    # tidalapi refreshes only when userMessage starts with "The token has expired."
    message = "The token has expired. (Expired on time)"
    return json_response(401, payloads.error(401, 11003, message))


class TidalApi:
    """Answers one request against the live catalog; stateless apart from the tokens and
    an index of the cover image ids."""

    def __init__(
        self, catalog: Catalog, tokens: TokenAuthority, base_url: str, signer: manifests.UrlSigner
    ) -> None:
        self.catalog = catalog
        self.tokens = tokens
        self.base_url = base_url
        self.signer = signer
        self._cover_albums: dict[str, int] = {}  # cover image id -> album id

    def handle(self, request: Request) -> Response:
        for method, pattern, needs_token, handler in _ROUTES:
            match = pattern.fullmatch(request.path)
            if match is None or method != request.method:
                continue
            if needs_token:
                refusal = self._refuse_token(request)
                if refusal is not None:
                    return refusal
            return handler(self, request, match)
        return not_found(f"{request.method} {request.path}")

    def _refuse_token(self, request: Request) -> Response | None:
        check = self.tokens.check(request.headers.get("authorization"))
        if check.state is TokenState.VALID:
            return None
        if check.state is TokenState.EXPIRED:
            return token_expired()
        message = (
            "Missing authorization"
            if check.state is TokenState.MISSING
            else ("Token could not be verified")
        )
        return json_response(401, payloads.error(401, 11002, message))

    # OAuth ---------------------------------------------------------------------------------

    def device_authorization(self, request: Request, _: re.Match[str]) -> Response:
        code = self.tokens.start_device_login()
        user_code = code[:5].upper()
        return json_response(
            200,
            {
                "deviceCode": code,
                "userCode": user_code,
                "verificationUri": "link.tidal.com",
                "verificationUriComplete": f"link.tidal.com/{user_code}",
                "expiresIn": 300,
                "interval": 2,
            },
        )

    def token(self, request: Request, _: re.Match[str]) -> Response:
        form = request.form()
        grant_type = form.get("grant_type")
        if grant_type == _DEVICE_GRANT:
            grant = self.tokens.redeem_device_code(form.get("device_code", ""))
            if grant is None:
                return _oauth_error("expired_token", "Device code expired or unknown")
            return json_response(200, self._token_document(grant, with_refresh=True))
        if grant_type == "authorization_code":
            grant = self.tokens.redeem_authorization_code(
                form.get("code", ""), form.get("code_verifier", ""), form.get("redirect_uri", "")
            )
            if grant is None:
                return _oauth_error("invalid_grant", "Authorization code invalid or used")
            return json_response(200, self._token_document(grant, with_refresh=True))
        if grant_type == "refresh_token":
            grant = self.tokens.refresh(form.get("refresh_token", ""))
            if grant is None:
                return _oauth_error("invalid_grant", "Token could not be verified")
            return json_response(200, self._token_document(grant, with_refresh=False))
        return _oauth_error("unsupported_grant_type", "Unsupported grant type")

    def authorize(self, request: Request, _: re.Match[str]) -> Response:
        """The PKCE login page: the user logs in at once and is sent to ``redirect_uri``."""
        challenge = request.query.get("code_challenge", "")
        redirect_uri = request.query.get("redirect_uri", "")
        if request.query.get("code_challenge_method") != "S256" or not challenge:
            return _oauth_error("invalid_request", "PKCE needs an S256 code_challenge")
        if not redirect_uri.startswith("https://"):
            return _oauth_error("invalid_request", "redirect_uri must be https")
        code = self.tokens.start_pkce_login(challenge, redirect_uri)
        location = f"{redirect_uri}?{urlencode({'code': code})}"
        return Response(302, b"", headers={"Location": location})

    def _token_document(self, grant: Grant, *, with_refresh: bool) -> dict[str, Any]:
        document: dict[str, Any] = {
            "scope": "r_usr w_usr w_sub",
            "user": payloads.token_user(self.catalog),
            "clientName": "tidal-sync sandbox",
            "token_type": "Bearer",
            "access_token": grant.access_token,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "user_id": grant.user_id,
        }
        if with_refresh:
            document["refresh_token"] = grant.refresh_token
        return document

    # Session and user ----------------------------------------------------------------------

    def sessions(self, request: Request, _: re.Match[str]) -> Response:
        check = self.tokens.check(request.headers.get("authorization"))
        user = self.catalog.user
        return json_response(
            200,
            {
                "sessionId": check.session_id,
                "userId": user.id,
                "countryCode": user.country,
                "channelId": 1000,
                "partnerId": 1,
                "client": {
                    "id": 1,
                    "name": "tidal-sync sandbox",
                    "authorizedForOffline": True,
                    "authorizedForOfflineDate": None,
                },
            },
        )

    def user(self, request: Request, match: re.Match[str]) -> Response:
        if not self._is_user(match):
            return not_found("User")
        return json_response(200, payloads.user_json(self.catalog))

    def subscription(self, request: Request, match: re.Match[str]) -> Response:
        if not self._is_user(match):
            return not_found("User")
        return json_response(
            200,
            {
                "validUntil": "2099-01-01T00:00:00.000+0000",
                "status": "ACTIVE",
                "subscription": {"type": "HIFI_PLUS", "offlineGracePeriod": 30},
                "highestSoundQuality": manifests.HI_RES,
                "premiumAccess": True,
                "canGetTrial": False,
                "paymentType": "ADYEN_CREDIT_CARD",
            },
        )

    def user_playlists(self, request: Request, match: re.Match[str]) -> Response:
        if not self._is_user(match):
            return not_found("User")
        render = functools.partial(payloads.playlist_json, self.catalog)
        return json_response(200, _page(request, self.catalog.own_playlists(), render=render))

    def playlists_and_favourites(self, request: Request, match: re.Match[str]) -> Response:
        if not self._is_user(match):
            return not_found("User")
        own = self.catalog.user.id

        def render(p: Playlist) -> dict[str, Any]:
            return {
                "type": "USER_CREATED" if p.creator == own else "USER_FAVORITE",
                "created": payloads.tidal_time(p.created or p.last_updated),
                "playlist": payloads.playlist_json(self.catalog, p),
            }

        listed = self.catalog.listed_playlists()
        return json_response(200, _page(request, listed, max_limit=50, render=render))

    def favorite_tracks(self, request: Request, match: re.Match[str]) -> Response:
        """My Collection's tracks, each with the time it was favourited (``created``), in
        the asked ``order`` (``DATE`` by default, ``NAME``, ``ARTIST``, ``ALBUM``,
        ``LENGTH``) and ``orderDirection`` (``DESC`` by default: newest first)."""
        if not self._is_user(match):
            return not_found("User")
        order = request.query.get("order", "DATE")
        if order not in _FAVORITE_ORDERS:
            return json_response(400, payloads.error(400, 1002, f"Invalid order {order}"))
        items = [
            (added, payloads.catalog_track(self.catalog, t))
            for t, added in self.catalog.favorites()
        ]
        items.sort(
            key=_FAVORITE_ORDERS[order], reverse=request.query.get("orderDirection") != "ASC"
        )

        def render(entry: tuple[datetime, Any]) -> dict[str, Any]:
            added, track = entry
            return {
                "created": payloads.tidal_time(added),
                "item": payloads.track_json(self.catalog, track),
            }

        return json_response(200, _page(request, items, render=render))

    def collection_folders(self, request: Request, _: re.Match[str]) -> Response:
        """One folder's items (folders, then playlists), a cursor page at a time: like
        TIDAL, the page after this one is asked for by ``cursor``; ``offset`` is ignored."""
        folder_id = request.query.get("folderId", "root")
        parent = None if folder_id == "root" else folder_id
        if parent is not None and parent not in {f.id for f in self.catalog.folders}:
            return not_found("Folder")
        only = request.query.get("includeOnly")
        folders = [f for f in self.catalog.folders if f.parent == parent and only != "PLAYLIST"]
        playlists = [
            p for p in self.catalog.listed_playlists() if p.folder == parent and only != "FOLDER"
        ]
        by_name = request.query.get("order") == "NAME"
        descending = request.query.get("orderDirection") == "DESC"
        folders.sort(key=lambda f: f.name.casefold(), reverse=descending)
        playlists.sort(
            key=lambda p: p.title.casefold() if by_name else (p.created or p.last_updated),
            reverse=descending,
        )
        items: list[Folder | Playlist] = [*folders, *playlists]
        start = _cursor_offset(request.query.get("cursor"))
        limit = min(max(1, request.int_param("limit", 50)), 50)
        # Only the page's items are rendered: a playlist's JSON sums its tracks.
        page = [
            self._folder_item(i) if isinstance(i, Folder) else self._playlist_item(i)
            for i in items[start : start + limit]
        ]
        following = start + limit if start + limit < len(items) else None
        return json_response(
            200,
            {
                "items": page,
                "cursor": None if following is None else _cursor(following),
                "lastModifiedAt": payloads.tidal_time(datetime.now(UTC)),
            },
        )

    def _folder_item(self, folder: Folder) -> dict[str, Any]:
        created = payloads.tidal_time(datetime(2024, 1, 1, tzinfo=UTC))
        inside = sum(1 for f in self.catalog.folders if f.parent == folder.id) + sum(
            1 for p in self.catalog.listed_playlists() if p.folder == folder.id
        )
        return {
            "trn": f"trn:folder:{folder.id}",
            "itemType": "FOLDER",
            "addedAt": created,
            "lastModifiedAt": created,
            "name": folder.name,
            "parent": None,
            "data": {
                "trn": f"trn:folder:{folder.id}",
                "itemType": "FOLDER",
                "id": folder.id,
                "name": folder.name,
                "createdAt": created,
                "lastModifiedAt": created,
                "totalNumberOfItems": inside,
            },
        }

    def _playlist_item(self, playlist: Playlist) -> dict[str, Any]:
        return {
            "trn": f"trn:playlist:{playlist.uuid}",
            "itemType": "PLAYLIST",
            "addedAt": payloads.tidal_time(playlist.created or playlist.last_updated),
            "lastModifiedAt": payloads.tidal_time(playlist.last_updated),
            "name": playlist.title,
            "parent": None,
            "data": {
                **payloads.playlist_json(self.catalog, playlist),
                "itemType": "PLAYLIST",
                "trn": f"trn:playlist:{playlist.uuid}",
            },
        }

    def _is_user(self, match: re.Match[str]) -> bool:
        return int(match["user"]) == self.catalog.user.id

    # Playlists -----------------------------------------------------------------------------

    def playlist(self, request: Request, match: re.Match[str]) -> Response:
        playlist = self.catalog.playlist(match["uuid"])
        if playlist is None:
            return not_found(f"Playlist with uuid {match['uuid']}")
        return json_response(
            200, payloads.playlist_json(self.catalog, playlist), {"ETag": payloads.etag(playlist)}
        )

    def playlist_tracks(self, request: Request, match: re.Match[str]) -> Response:
        playlist = self.catalog.playlist(match["uuid"])
        if playlist is None:
            return not_found(f"Playlist with uuid {match['uuid']}")
        positions = range(len(playlist.track_ids))
        document = _page(
            request,
            positions,
            render=lambda position: payloads.playlist_entry_json(self.catalog, playlist, position),
        )
        return json_response(200, document, {"ETag": payloads.etag(playlist)})

    def playlist_items(self, request: Request, match: re.Match[str]) -> Response:
        playlist = self.catalog.playlist(match["uuid"])
        if playlist is None:
            return not_found(f"Playlist with uuid {match['uuid']}")
        created = payloads.tidal_time(playlist.created or playlist.last_updated)
        positions = range(len(playlist.track_ids))
        document = _page(
            request,
            positions,
            max_limit=100,
            render=lambda position: {
                "item": payloads.playlist_entry_json(self.catalog, playlist, position),
                "type": "track",
                "cut": None,
                "created": created,
            },
        )
        return json_response(200, document, {"ETag": payloads.etag(playlist)})

    # Tracks, albums and audio --------------------------------------------------------------

    def track(self, request: Request, match: re.Match[str]) -> Response:
        track = self.catalog.track(int(match["id"]))
        if track is None:
            return not_found(f"Track with id {match['id']}")
        return json_response(200, payloads.track_json(self.catalog, track))

    def tracks_by_isrc(self, request: Request, _: re.Match[str]) -> Response:
        isrc = request.query.get("filter[isrc]", "")
        data = [
            {"id": str(t.id), "type": "tracks"} for t in self.catalog.tracks() if t.isrc == isrc
        ]
        return json_response(200, {"data": data, "links": {"self": "/tracks"}})

    def album(self, request: Request, match: re.Match[str]) -> Response:
        tracks = self.catalog.album_tracks(int(match["id"]))
        if not tracks:
            return not_found(f"Album with id {match['id']}")
        return json_response(200, payloads.album_json(self.catalog, tracks[0], len(tracks)))

    def playback_info(self, request: Request, match: re.Match[str]) -> Response:
        track = self.catalog.track(int(match["id"]))
        if track is None:
            return not_found(f"Track with id {match['id']}")
        if not track.allow_streaming:
            return json_response(401, payloads.error(401, 4005, "Asset is not ready for playback"))
        quality = request.query.get("audioquality", "HIGH")
        if quality not in manifests.QUALITIES:
            return json_response(400, payloads.error(400, 1002, f"Invalid audioquality {quality}"))
        pkce = self.tokens.check(request.headers.get("authorization")).pkce
        document = manifests.playback_info(
            self.base_url, track, quality, pkce=pkce, signer=self.signer
        )
        return json_response(200, document)

    def audio_file(self, request: Request, match: re.Match[str]) -> Response:
        track_id, rendition = int(match["id"]), match["rendition"]
        scope = manifests.whole_file_scope(track_id, rendition)
        refusal = self._refuse_audio(request, scope, track_id, rendition)
        if refusal is not None:
            return refusal
        track = self.catalog.track(track_id)
        assert track is not None
        return Response(200, plain_mp4(track.id, track.audio_seconds, rendition), "audio/mp4")

    def audio_segment(self, request: Request, match: re.Match[str]) -> Response:
        track_id, rendition = int(match["id"]), match["rendition"]
        scope = manifests.dash_scope(track_id, rendition)
        refusal = self._refuse_audio(request, scope, track_id, rendition)
        if refusal is not None:
            return refusal
        track = self.catalog.track(track_id)
        assert track is not None
        number = int(match["number"])
        part = dash_rendition(track.id, track.audio_seconds, rendition).part(number)
        if part is None:
            return not_found("Audio segment")
        if number == 0 and track.encrypted:
            part = _encrypted_sample_entry(part, RENDITIONS[rendition][0])
        return Response(200, part, content_type="audio/mp4")

    def cover_image(self, request: Request, match: re.Match[str]) -> Response:
        """An album cover as TIDAL's image server sends it: a JPEG at any listed size (the
        same picture; its comment names the image, so each album's bytes differ)."""
        image = match["image"].replace("/", "-")
        album = self._album_of_cover(image)
        if (
            album is None
            or not self.catalog.album_tracks(album)
            or match["size"] not in _COVER_SIZES
        ):
            return not_found("Image")
        return Response(200, cover_jpeg(image), content_type="image/jpeg")

    def _album_of_cover(self, image: str) -> int | None:
        """The album whose cover ``image`` is. The index is built again only when the
        catalog has numbered a new album: a cover request never walks every track (at
        50,000 tracks that made each one cost more than the download it belongs to)."""
        albums = self.catalog.album_ids()
        if len(albums) != len(self._cover_albums):
            self._cover_albums = {payloads.cover_id(album): album for album in albums}
        return self._cover_albums.get(image)

    def _refuse_audio(
        self, request: Request, scope: str, track_id: int, rendition: str
    ) -> Response | None:
        track = self.catalog.track(track_id)
        if track is None or not track.allow_streaming or rendition not in RENDITIONS:
            return not_found("Audio")
        if not self.signer.is_valid(scope, request.query.get("token", "")):
            return Response(403, b"Forbidden: the URL's token is invalid or expired", "text/plain")
        return None


def _page(
    request: Request,
    items: Sequence[Any],
    *,
    max_limit: int = _DEFAULT_MAX_LIMIT,
    render: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    offset = max(0, request.int_param("offset", 0))
    limit = min(max(0, request.int_param("limit", max_limit)), max_limit)
    window = items[offset : offset + limit]
    return {
        "limit": limit,
        "offset": offset,
        "totalNumberOfItems": len(items),
        "items": [render(item) for item in window] if render else list(window),
    }


def _cursor(offset: int) -> str:
    # Opaque to clients, as TIDAL's cursors are.
    return base64.urlsafe_b64encode(f"after:{offset}".encode()).decode()


def _cursor_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)[1]))
    except (ValueError, IndexError, UnicodeDecodeError):
        return 0


def _encrypted_sample_entry(init: bytes, codec: str) -> bytes:
    """The init segment as a DRM stream has it: the sample entry says ``enca``."""
    entry = b"fLaC" if codec == "flac" else b"mp4a"
    return init.replace(entry, b"enca", 1)


def _oauth_error(error: str, description: str) -> Response:
    return json_response(
        400, {"status": 400, "error": error, "sub_status": 1002, "error_description": description}
    )


_FAVORITE_ORDERS: dict[str, Callable[[tuple[datetime, Any]], Any]] = {
    "DATE": lambda entry: entry[0],
    "NAME": lambda entry: entry[1].title.casefold(),
    "ARTIST": lambda entry: entry[1].artists[0].casefold(),
    "ALBUM": lambda entry: entry[1].album.casefold(),
    "LENGTH": lambda entry: entry[1].reported_duration,
}
_COVER_SIZES = {"80x80", "160x160", "320x320", "640x640", "1280x1280"}
_USER = r"/v1/users/(?P<user>\d+)"
_PLAYLIST = r"/v1/playlists/(?P<uuid>[0-9A-Za-z-]+)"
_ROUTES: list[tuple[str, re.Pattern[str], bool, Handler]] = [
    (method, re.compile(path), needs_token, handler)
    for method, path, needs_token, handler in [
        ("POST", r"/v1/oauth2/device_authorization", False, TidalApi.device_authorization),
        ("POST", r"/v1/oauth2/token", False, TidalApi.token),
        ("GET", r"/authorize", False, TidalApi.authorize),
        ("GET", r"/v1/sessions", True, TidalApi.sessions),
        ("GET", _USER, True, TidalApi.user),
        ("GET", _USER + "/subscription", True, TidalApi.subscription),
        ("GET", _USER + "/playlists", True, TidalApi.user_playlists),
        ("GET", _USER + "/favorites/tracks", True, TidalApi.favorite_tracks),
        ("GET", _USER + "/playlistsAndFavoritePlaylists", True, TidalApi.playlists_and_favourites),
        ("GET", r"/v2/my-collection/playlists/folders", True, TidalApi.collection_folders),
        ("GET", _PLAYLIST, True, TidalApi.playlist),
        ("GET", _PLAYLIST + "/tracks", True, TidalApi.playlist_tracks),
        ("GET", _PLAYLIST + "/items", True, TidalApi.playlist_items),
        ("GET", r"/v1/tracks/(?P<id>\d+)", True, TidalApi.track),
        ("GET", r"/v1/tracks/(?P<id>\d+)/playbackinfopostpaywall", True, TidalApi.playback_info),
        ("GET", r"/v1/albums/(?P<id>\d+)", True, TidalApi.album),
        ("GET", r"/openapi/v2/tracks", True, TidalApi.tracks_by_isrc),
        (
            "GET",
            r"/images/(?P<image>[0-9a-f]{8}(?:/[0-9a-f]{4}){3}/[0-9a-f]{12})/(?P<size>\d+x\d+)\.jpg",
            False,
            TidalApi.cover_image,
        ),
        ("GET", r"/_audio/(?P<id>\d+)/(?P<rendition>\w+)\.mp4", False, TidalApi.audio_file),
        (
            "GET",
            r"/_audio/(?P<id>\d+)/(?P<rendition>\w+)/(?P<number>\d+)\.mp4",
            False,
            TidalApi.audio_segment,
        ),
    ]
]
