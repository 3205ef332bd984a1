"""Catalog records rendered as the JSON documents TIDAL's API returns (as tidalapi reads them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from tidal_sync_assets.sandbox.catalog import Catalog, Playlist, Track

_RELEASE = "2020-01-01T00:00:00.000+0000"
_EDITORIAL_CREATOR = 0


def tidal_time(moment: datetime) -> str:
    """TIDAL's timestamp format, e.g. ``2024-03-01T20:15:00.123+0000``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def etag(playlist: Playlist) -> str:
    return f'"{int(playlist.last_updated.timestamp() * 1000)}"'


def error(status: int, sub_status: int, message: str) -> dict[str, Any]:
    return {"status": status, "subStatus": sub_status, "userMessage": message}


def artist_json(catalog: Catalog, name: str, role: str = "MAIN") -> dict[str, Any]:
    return {"id": catalog.artist_id(name), "name": name, "type": role, "picture": None}


def cover_id(album_id: int) -> str:
    """The image id TIDAL gives an album's cover (a UUID; its URL path has ``/`` for ``-``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-cover/{album_id}"))


def album_ref(catalog: Catalog, track: Track) -> dict[str, Any]:
    """The album as a track's JSON carries it: no artist and no release date (those are
    in the album's own document only, as on TIDAL)."""
    return {
        "id": catalog.album_id(track),
        "title": track.album,
        "cover": cover_id(catalog.album_id(track)),
        "vibrantColor": None,
        "videoCover": None,
    }


def album_json(catalog: Catalog, track: Track, tracks_on_album: int) -> dict[str, Any]:
    main = artist_json(catalog, track.album_artist)
    return {
        **album_ref(catalog, track),
        "releaseDate": track.release_date,
        "duration": 0,
        "streamReady": True,
        "adSupportedStreamReady": True,
        "djReady": True,
        "stemReady": False,
        "allowStreaming": True,
        "premiumStreamingOnly": False,
        "streamStartDate": _RELEASE,
        "numberOfTracks": tracks_on_album,
        "numberOfVideos": 0,
        "numberOfVolumes": 1,
        "copyright": "(P) Sandbox Records",
        "type": "ALBUM",
        "version": None,
        "explicit": False,
        "upc": f"{catalog.album_id(track):012d}",
        "popularity": 0,
        "audioQuality": "LOSSLESS",
        "audioModes": ["STEREO"],
        "mediaMetadata": {"tags": ["LOSSLESS", "HIRES_LOSSLESS"]},
        "artist": main,
        "artists": [main],
    }


def track_json(catalog: Catalog, track: Track) -> dict[str, Any]:
    artists = [
        artist_json(catalog, name, "MAIN" if i == 0 else "FEATURED")
        for i, name in enumerate(track.artists)
    ]
    return {
        "id": track.id,
        "title": track.title,
        "duration": track.reported_duration,
        "replayGain": -9.5,
        "peak": 0.98,
        "allowStreaming": track.allow_streaming,
        "streamReady": track.allow_streaming,
        "adSupportedStreamReady": track.allow_streaming,
        "djReady": track.allow_streaming,
        "stemReady": False,
        "streamStartDate": _RELEASE,
        "premiumStreamingOnly": False,
        "trackNumber": track.track_number,
        "volumeNumber": 1,
        "version": track.version,
        "popularity": 0,
        "copyright": "(P) Sandbox Records",
        "bpm": track.bpm,
        "key": track.key,
        "keyScale": track.key_scale,
        "url": f"http://www.tidal.com/track/{track.id}",
        "isrc": track.isrc,
        "editable": False,
        "explicit": False,
        "audioQuality": "LOSSLESS",
        "audioModes": ["STEREO"],
        "mediaMetadata": {"tags": ["LOSSLESS", "HIRES_LOSSLESS"]},
        "upload": False,
        "accessType": "PUBLIC",
        "spotlighted": False,
        "artist": artists[0],
        "artists": artists,
        "album": album_ref(catalog, track),
        "mixes": {},
    }


def playlist_entry_json(catalog: Catalog, playlist: Playlist, position: int) -> dict[str, Any]:
    """The track at ``position`` as a playlist lists it (with when and where it was added)."""
    entry = track_json(catalog, catalog_track(catalog, playlist.track_ids[position]))
    entry["dateAdded"] = tidal_time(playlist.created or playlist.last_updated)
    entry["index"] = position
    entry["itemUuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{playlist.uuid}/{position}"))
    return entry


def playlist_json(catalog: Catalog, playlist: Playlist) -> dict[str, Any]:
    durations = (catalog_track(catalog, t).reported_duration for t in playlist.track_ids)
    editorial = playlist.creator == _EDITORIAL_CREATOR
    return {
        "uuid": playlist.uuid,
        "title": playlist.title,
        "numberOfTracks": len(playlist.track_ids),
        "numberOfVideos": 0,
        "creator": {"id": playlist.creator},
        "description": playlist.description,
        "duration": sum(durations),
        "lastUpdated": tidal_time(playlist.last_updated),
        "created": tidal_time(playlist.created or playlist.last_updated),
        "type": "EDITORIAL" if editorial else "USER",
        "publicPlaylist": False,
        "url": f"http://www.tidal.com/playlist/{playlist.uuid}",
        "image": None,
        "popularity": 0,
        "squareImage": None,
        "promotedArtists": [],
        "lastItemAddedAt": tidal_time(playlist.last_updated),
    }


def user_json(catalog: Catalog) -> dict[str, Any]:
    u = catalog.user
    return {
        "id": u.id,
        "username": u.username,
        "firstName": "Sandbox",
        "lastName": "DJ",
        "email": f"{u.username}@sandbox.invalid",
        "countryCode": u.country,
        "created": _RELEASE,
        "picture": None,
        "newsletter": False,
        "acceptedEULA": True,
        "gender": None,
        "dateOfBirth": None,
        "facebookUid": 0,
        "appleUid": None,
    }


def token_user(catalog: Catalog) -> dict[str, Any]:
    """The ``user`` object inside an OAuth token response."""
    u = catalog.user
    return {
        "userId": u.id,
        "email": f"{u.username}@sandbox.invalid",
        "countryCode": u.country,
        "fullName": None,
        "firstName": "Sandbox",
        "lastName": "DJ",
        "nickname": None,
        "username": u.username,
        "address": None,
        "city": None,
        "postalcode": None,
        "usState": None,
        "phoneNumber": None,
        "birthday": None,
        "channelId": 1000,
        "parentId": 0,
        "acceptedEULA": True,
        "created": 0,
        "updated": 0,
        "facebookUid": 0,
        "appleUid": None,
        "googleUid": None,
        "accountLinkCreated": False,
        "emailVerified": True,
        "newUser": False,
    }


def catalog_track(catalog: Catalog, track_id: int) -> Track:
    found = catalog.track(track_id)
    if found is None:  # playlists only hold known tracks; a gap here is a sandbox bug
        raise LookupError(f"track {track_id} vanished from the catalog")
    return found
