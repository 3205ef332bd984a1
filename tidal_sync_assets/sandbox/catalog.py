"""The sandbox's catalog: one user, their tracks and playlists, and how tests change them.

A catalog file is JSON::

    {
      "user": {"id": 4242, "username": "dj.sandbox", "country": "US"},
      "tracks": [
        {"id": 1001, "title": "Afterglow", "artists": ["Kollektiv Nacht"],
         "album": "Afterglow EP", "album_artist": "Kollektiv Nacht", "track_number": 1,
         "isrc": "QZSBX2400001", "duration": 412, "version": "Extended Mix",
         "allowStreaming": true, "audio_seconds": 1.5, "hiResMaster": false, "bpm": 124,
         "key": "FSharp", "keyScale": "MINOR", "release_date": "2024-02-09"}
      ],
      "playlists": [
        {"uuid": "0b6c...", "title": "Warm Up", "description": "", "lastUpdated":
         "2024-03-01T20:15:00.000+00:00", "creator": 4242, "tracks": [1001, 1001],
         "favourite": false}
      ]
    }

* ``version`` may be ``null``; ``audio_seconds`` (length of the synthesized audio) is optional.
* ``bpm``, ``key`` and ``keyScale`` are optional, spelled as TIDAL's JSON has them (``key``:
  ``C``, ``CSharp``, ``Eb``, ``FSharp``, ``Ab``, ``Bb``, ...; ``keyScale``: ``MAJOR``/``MINOR``);
  ``release_date`` (the album's ``releaseDate``) defaults to 2020-01-01.
* ``hiResMaster`` (default true): the release has a hi-res master, so TIDAL serves its FLAC
  even to a device-code session; without one, such a session asking LOSSLESS gets AAC.
  ``encrypted`` (default false): TIDAL streams it only DRM-protected.
  The API reports a track's length as the whole seconds of the audio it serves
  (``audio_seconds``), as real TIDAL's ``duration`` agrees with its audio: a decoded
  download must agree with it. The file's ``duration`` is not served.
* A playlist's ``tracks`` are track ids in playlist order; duplicates are allowed.
* A playlist whose ``creator`` is the user is the user's own. A playlist of another creator is
  listed only when ``favourite`` is true (the user favourited it); otherwise it can still be
  fetched by its UUID.
* ``created`` (ISO) is optional on a playlist and defaults to ``lastUpdated``.
* ``folders`` (optional) are the user's playlist folders, ``{"id", "name", "parent"}``
  (``parent``: a folder id or ``null`` for the top); a playlist's optional ``folder`` is the
  id of the folder it sits in.
* ``favorite_tracks`` (optional): the track ids in "My Collection", newest first; each was
  added a day before the one above it (the newest on 2024-06-01), and one added while the
  sandbox runs is newer than all of them, as on TIDAL.

A :class:`Catalog` is shared by the server's threads: every change goes through its methods,
which replace immutable records under a lock, and every change to a playlist moves its
``lastUpdated`` strictly forward (as TIDAL does).
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEMO_CATALOG_PATH = Path(__file__).with_name("demo_catalog.json")
DEFAULT_AUDIO_SECONDS = 1.5
DEFAULT_RELEASE_DATE = "2020-01-01"
_ONE_MS = timedelta(milliseconds=1)
_NEWEST_FAVORITE = datetime(2024, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class User:
    id: int
    username: str
    country: str


@dataclass(frozen=True)
class Track:
    id: int
    title: str
    artists: tuple[str, ...]
    album: str
    album_artist: str
    track_number: int
    isrc: str
    duration: int
    version: str | None = None
    allow_streaming: bool = True
    audio_seconds: float = DEFAULT_AUDIO_SECONDS
    bpm: int | None = None
    key: str | None = None
    key_scale: str | None = None
    release_date: str = DEFAULT_RELEASE_DATE
    hires_master: bool = True
    encrypted: bool = False

    @property
    def reported_duration(self) -> int:
        """The ``duration`` TIDAL reports: the served audio's length in whole seconds."""
        return max(1, round(self.audio_seconds))


@dataclass(frozen=True)
class Playlist:
    uuid: str
    title: str
    description: str
    last_updated: datetime
    creator: int
    track_ids: tuple[int, ...]
    favourite: bool = False
    created: datetime | None = None
    folder: str | None = None  # the id of the playlist folder it sits in; None: the top


@dataclass(frozen=True)
class Folder:
    id: str
    name: str
    parent: str | None = None


class Catalog:
    """The live catalog the sandbox serves; safe to read and change from any thread."""

    def __init__(
        self,
        user: User,
        tracks: Iterable[Track],
        playlists: Iterable[Playlist],
        folders: Iterable[Folder] = (),
        favorite_tracks: Iterable[int] = (),
    ):
        self.user = user
        # (track id, when the user favourited it), newest first.
        self._favorites: list[tuple[int, datetime]] = [
            (track, _NEWEST_FAVORITE - timedelta(days=i))
            for i, track in enumerate(dict.fromkeys(favorite_tracks))
        ]
        self.folders: tuple[Folder, ...] = tuple(folders)
        self._lock = threading.RLock()
        self._tracks: dict[int, Track] = {}
        self._playlists: dict[str, Playlist] = {}
        self._album_ids: dict[tuple[str, str], int] = {}
        self._album_tracks: dict[int, dict[int, None]] = {}  # album id -> track ids, in order
        self._artist_ids: dict[str, int] = {}
        for track in tracks:
            if track.id in self._tracks:
                raise ValueError(f"track {track.id} appears twice in the catalog")
            self._add_track(track)
        for playlist in playlists:
            if playlist.uuid in self._playlists:
                raise ValueError(f"playlist {playlist.uuid} appears twice in the catalog")
            self._check_tracks_known(playlist.track_ids)
            self._playlists[playlist.uuid] = playlist

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Catalog:
        user = data["user"]
        return cls(
            User(id=int(user["id"]), username=str(user["username"]), country=user["country"]),
            (track_from_dict(t) for t in data["tracks"]),
            (playlist_from_dict(p) for p in data["playlists"]),
            (Folder(str(f["id"]), f["name"], f.get("parent")) for f in data.get("folders", ())),
            (int(t) for t in data.get("favorite_tracks", ())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": {
                "id": self.user.id,
                "username": self.user.username,
                "country": self.user.country,
            },
            "tracks": [track_to_dict(t) for t in self.tracks()],
            "playlists": [playlist_to_dict(p) for p in self.playlists()],
            "folders": [dataclasses.asdict(f) for f in self.folders],
            "favorite_tracks": list(self.favorite_tracks),
        }

    # Reading -------------------------------------------------------------------------------

    def track(self, track_id: int) -> Track | None:
        return self._tracks.get(track_id)

    def tracks(self) -> list[Track]:
        return list(self._tracks.values())

    def playlist(self, playlist_uuid: str) -> Playlist | None:
        return self._playlists.get(playlist_uuid)

    def playlists(self) -> list[Playlist]:
        return list(self._playlists.values())

    def own_playlists(self) -> list[Playlist]:
        return [p for p in self.playlists() if p.creator == self.user.id]

    def listed_playlists(self) -> list[Playlist]:
        """The user's own playlists and the ones they favourited, as TIDAL lists them."""
        return [p for p in self.playlists() if p.creator == self.user.id or p.favourite]

    @property
    def favorite_tracks(self) -> tuple[int, ...]:
        """The track ids in "My Collection", newest first."""
        with self._lock:
            return tuple(track for track, _ in self._favorites)

    def favorites(self) -> list[tuple[int, datetime]]:
        """(track id, when it was favourited) of "My Collection", newest first."""
        with self._lock:
            return list(self._favorites)

    def album_id(self, track: Track) -> int:
        """The id of the track's album (albums are numbered in catalog order)."""
        return self._album_ids[(track.album, track.album_artist)]

    def artist_id(self, name: str) -> int:
        """The id of an artist of a catalog track (numbered in catalog order)."""
        return self._artist_ids[name]

    def album_ids(self) -> list[int]:
        """Every album id the catalog has numbered (albums left without tracks too)."""
        with self._lock:
            return list(self._album_ids.values())

    def album_tracks(self, album_id: int) -> list[Track]:
        with self._lock:
            return [self._tracks[t] for t in self._album_tracks.get(album_id, ())]

    # Changing ------------------------------------------------------------------------------

    def put_track(self, track: Track) -> None:
        """Add a track, or replace the one with its id."""
        with self._lock:
            self._add_track(track)

    def put_playlist(self, playlist: Playlist) -> None:
        """Add a playlist, or replace the one with its UUID."""
        with self._lock:
            self._check_tracks_known(playlist.track_ids)
            self._playlists[playlist.uuid] = playlist

    def remove_playlist(self, playlist_uuid: str) -> None:
        with self._lock:
            self._require(playlist_uuid)
            del self._playlists[playlist_uuid]

    def update_playlist(
        self,
        playlist_uuid: str,
        *,
        title: str | None = None,
        description: str | None = None,
        track_ids: Sequence[int] | None = None,
    ) -> Playlist:
        """Change a playlist's title, description and/or tracks; bumps ``lastUpdated``."""
        with self._lock:
            current = self._require(playlist_uuid)
            changes: dict[str, Any] = {}
            if title is not None:
                changes["title"] = title
            if description is not None:
                changes["description"] = description
            if track_ids is not None:
                self._check_tracks_known(track_ids)
                changes["track_ids"] = tuple(track_ids)
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            changes["last_updated"] = max(now, current.last_updated + _ONE_MS)
            updated = dataclasses.replace(current, **changes)
            self._playlists[playlist_uuid] = updated
            return updated

    def rename_playlist(self, playlist_uuid: str, title: str) -> Playlist:
        return self.update_playlist(playlist_uuid, title=title)

    def add_playlist_tracks(self, playlist_uuid: str, track_ids: Sequence[int]) -> Playlist:
        """Append tracks at the end of the playlist."""
        with self._lock:
            current = self._require(playlist_uuid)
            return self.update_playlist(playlist_uuid, track_ids=(*current.track_ids, *track_ids))

    def remove_playlist_tracks(self, playlist_uuid: str, track_ids: Iterable[int]) -> Playlist:
        """Remove every occurrence of the given tracks from the playlist."""
        gone = set(track_ids)
        with self._lock:
            current = self._require(playlist_uuid)
            kept = [t for t in current.track_ids if t not in gone]
            return self.update_playlist(playlist_uuid, track_ids=kept)

    def add_favorite_track(self, track_id: int) -> None:
        """Favourite a track now: it becomes the newest of "My Collection" (a track already
        there stays where it is)."""
        with self._lock:
            self._check_tracks_known([track_id])
            if track_id in self.favorite_tracks:
                return
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            newest = self._favorites[0][1] + _ONE_MS if self._favorites else now
            self._favorites.insert(0, (track_id, max(now, newest)))

    def remove_favorite_track(self, track_id: int) -> None:
        with self._lock:
            self._favorites = [(t, added) for t, added in self._favorites if t != track_id]

    def _add_track(self, track: Track) -> None:
        replaced = self._tracks.get(track.id)
        if replaced is not None:
            self._album_tracks[self.album_id(replaced)].pop(track.id)
        self._tracks[track.id] = track
        album_key = (track.album, track.album_artist)
        album = self._album_ids.setdefault(album_key, 500_000 + len(self._album_ids))
        self._album_tracks.setdefault(album, {})[track.id] = None
        for name in (*track.artists, track.album_artist):
            self._artist_ids.setdefault(name, 900_000 + len(self._artist_ids))

    def _require(self, playlist_uuid: str) -> Playlist:
        playlist = self._playlists.get(playlist_uuid)
        if playlist is None:
            raise KeyError(f"no playlist {playlist_uuid}")
        return playlist

    def _check_tracks_known(self, track_ids: Iterable[int]) -> None:
        unknown = {t for t in track_ids if t not in self._tracks}
        if unknown:
            raise ValueError(f"unknown track ids: {sorted(unknown)[:10]}")


def load_catalog(path: Path) -> Catalog:
    """Read a catalog file (format in this module's docstring)."""
    return Catalog.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def synthetic_catalog(
    n_playlists: int,
    n_tracks: int,
    entries_per_track: float = 2.0,
    seed: int = 0,
    tracks_per_album: int = 4,
) -> Catalog:
    """A large, deterministic catalog for benchmarks.

    Each track lands in about ``entries_per_track`` playlists (possibly twice in one), spread
    at random over ``n_playlists`` playlists owned by the user; consecutive tracks share an
    album, ``tracks_per_album`` to an album (10,000 tracks: 2,500 albums by default).
    """
    rng = random.Random(seed)
    user = User(id=4242, username="dj.bench", country="US")
    tracks = [
        Track(
            id=1_000_000 + i,
            title=f"Track {i}",
            artists=(f"Artist {album % 997}",),
            album=f"Album {album}",
            album_artist=f"Artist {album % 997}",
            track_number=i % tracks_per_album + 1,
            isrc=f"QZBEN{i:07d}",
            duration=180 + i % 300,
            version="Extended Mix" if i % 7 == 0 else None,
            audio_seconds=1.0,
        )
        for i in range(n_tracks)
        for album in [i // tracks_per_album]
    ]
    whole, fraction = divmod(entries_per_track, 1)
    members: list[list[int]] = [[] for _ in range(n_playlists)]
    for track in tracks:
        count = int(whole) + (1 if rng.random() < fraction else 0)
        for _ in range(count):
            members[rng.randrange(n_playlists)].append(track.id)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    playlists = []
    for index, track_ids in enumerate(members):
        rng.shuffle(track_ids)
        playlists.append(
            Playlist(
                uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                title=f"Bench Playlist {index:04d}",
                description="",
                last_updated=start + timedelta(minutes=index),
                creator=user.id,
                track_ids=tuple(track_ids),
            )
        )
    return Catalog(user, tracks, playlists)


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def track_from_dict(data: Mapping[str, Any]) -> Track:
    return Track(
        id=int(data["id"]),
        title=data["title"],
        artists=tuple(data["artists"]),
        album=data["album"],
        album_artist=data["album_artist"],
        track_number=int(data["track_number"]),
        isrc=data["isrc"],
        duration=int(data["duration"]),
        version=data.get("version"),
        allow_streaming=bool(data.get("allowStreaming", True)),
        audio_seconds=float(data.get("audio_seconds", DEFAULT_AUDIO_SECONDS)),
        bpm=int(data["bpm"]) if data.get("bpm") is not None else None,
        key=data.get("key"),
        key_scale=data.get("keyScale"),
        release_date=data.get("release_date") or DEFAULT_RELEASE_DATE,
        hires_master=bool(data.get("hiResMaster", True)),
        encrypted=bool(data.get("encrypted", False)),
    )


def track_to_dict(track: Track) -> dict[str, Any]:
    return {
        "id": track.id,
        "title": track.title,
        "artists": list(track.artists),
        "album": track.album,
        "album_artist": track.album_artist,
        "track_number": track.track_number,
        "isrc": track.isrc,
        "duration": track.duration,
        "version": track.version,
        "allowStreaming": track.allow_streaming,
        "audio_seconds": track.audio_seconds,
        "bpm": track.bpm,
        "key": track.key,
        "keyScale": track.key_scale,
        "release_date": track.release_date,
        "hiResMaster": track.hires_master,
        "encrypted": track.encrypted,
    }


def playlist_from_dict(data: Mapping[str, Any]) -> Playlist:
    created = data.get("created")
    return Playlist(
        uuid=str(data["uuid"]),
        title=data["title"],
        description=data.get("description") or "",
        last_updated=parse_time(data["lastUpdated"]),
        creator=int(data["creator"]),
        track_ids=tuple(int(t) for t in data["tracks"]),
        favourite=bool(data.get("favourite", False)),
        created=parse_time(created) if created else None,
        folder=data.get("folder"),
    )


def playlist_to_dict(playlist: Playlist) -> dict[str, Any]:
    return {
        "uuid": playlist.uuid,
        "title": playlist.title,
        "description": playlist.description,
        "lastUpdated": playlist.last_updated.isoformat(),
        "creator": playlist.creator,
        "tracks": list(playlist.track_ids),
        "favourite": playlist.favourite,
        "created": playlist.created.isoformat() if playlist.created else None,
        "folder": playlist.folder,
    }
