"""Audio tags: one field table, read and written through mutagen.

Each row of ``FIELDS`` names an ``AudioTags`` attribute and where it lives in
the three tag systems (ID3 for MP3/AIFF/WAV, Vorbis comments for
FLAC/Ogg/Opus, MP4 atoms for M4A). Adding a field is one row. The per-system
classes below only know how each system stores a text or number value.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import mutagen
from mutagen.aiff import AIFF
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, TXXX, Frames
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from tidal_sync_assets.disk.entry import AudioTags

_FRONT_COVER = 3  # the picture type of a front cover, in ID3 and FLAC alike
_LEADING_NUMBER = re.compile(r"\s*(\d+)(?:$|[/.\-\s])")


class AudioReadError(Exception):
    """The file is not audio mutagen can read: corrupt, truncated or unsupported."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Field:
    """Where one ``AudioTags`` attribute lives in each tag system."""

    name: str
    id3: str
    vorbis: str
    mp4: str
    numeric: bool = False


FIELDS: tuple[Field, ...] = (
    Field("title", "TIT2", "TITLE", "©nam"),
    Field("artist", "TPE1", "ARTIST", "©ART"),
    Field("album", "TALB", "ALBUM", "©alb"),
    Field("album_artist", "TPE2", "ALBUMARTIST", "aART"),
    Field("track_number", "TRCK", "TRACKNUMBER", "trkn", numeric=True),
    Field("isrc", "TSRC", "ISRC", "----:com.apple.iTunes:ISRC"),
    Field(
        "tidal_track_id",
        "TXXX:TIDAL_TRACK_ID",
        "TIDAL_TRACK_ID",
        "----:com.apple.iTunes:TIDAL_TRACK_ID",
        numeric=True,
    ),
    Field("bpm", "TBPM", "BPM", "tmpo", numeric=True),
    Field("key", "TKEY", "INITIALKEY", "----:com.apple.iTunes:initialkey"),
    Field("year", "TDRC", "DATE", "©day", numeric=True),
)

_EXTENSIONS: dict[type[mutagen.FileType], str] = {
    FLAC: ".flac",
    MP3: ".mp3",
    MP4: ".m4a",
    OggVorbis: ".ogg",
    OggOpus: ".opus",
    AIFF: ".aiff",
    WAVE: ".wav",
}
_KINDS = list(_EXTENSIONS)


class _TagSystem(Protocol):
    def reader(self, tags: Any) -> Callable[[str], str | None]: ...
    def set(self, tags: Any, key: str, value: str | None) -> None: ...


class _ID3System:
    def reader(self, tags: Any) -> Callable[[str], str | None]:
        def get(key: str) -> str | None:
            frame = tags.get(key)
            return str(frame.text[0]) if frame is not None and frame.text else None

        return get

    def set(self, tags: Any, key: str, value: str | None) -> None:
        tags.delall(key)
        if value is None:
            return
        frame_id, _, description = key.partition(":")
        if frame_id == "TXXX":
            tags.add(TXXX(encoding=3, desc=description, text=[value]))
        else:
            tags.add(Frames[frame_id](encoding=3, text=[value]))


class _VorbisSystem:
    def reader(self, tags: Any) -> Callable[[str], str | None]:
        # One pass over the comment list: its own lookups rescan it per key.
        first: dict[str, str] = {}
        for key, value in tags:
            first.setdefault(key.upper(), value)
        return first.get

    def set(self, tags: Any, key: str, value: str | None) -> None:
        if value is None:
            if key in tags:
                del tags[key]
        else:
            tags[key] = [value]


class _MP4System:
    """Text atoms hold str, freeform (``----``) atoms hold bytes, ``trkn`` (n, total)."""

    def reader(self, tags: Any) -> Callable[[str], str | None]:
        def get(key: str) -> str | None:
            values = tags.get(key)
            if not values:
                return None
            value = values[0]
            if key == "trkn":
                return str(value[0])
            if key == "tmpo":
                return str(value)
            if isinstance(value, bytes):
                return value.decode("utf-8", errors="replace")
            return str(value)

        return get

    def set(self, tags: Any, key: str, value: str | None) -> None:
        if value is None:
            tags.pop(key, None)
        elif key == "trkn":
            tags[key] = [(int(value), 0)]
        elif key == "tmpo":
            tags[key] = [int(value)]
        elif key.startswith("----:"):
            tags[key] = [MP4FreeForm(value.encode("utf-8"))]
        else:
            tags[key] = [value]


_ID3, _VORBIS, _MP4 = _ID3System(), _VorbisSystem(), _MP4System()


def read_tags(path: Path | str) -> AudioTags:
    """The product's tags and the duration of the audio file at ``path``."""
    audio = _open(path)
    system, column = _system(audio)
    values: dict[str, object] = {}
    try:
        if audio.tags is not None:
            get = system.reader(audio.tags)
            for field in FIELDS:
                text = get(getattr(field, column))
                values[field.name] = _parse_number(text) if field.numeric else _clean(text)
        length = getattr(audio.info, "length", None)
        duration = float(length) if length else None
    except Exception as exc:  # a tag of an unexpected type in a hand-edited file
        raise AudioReadError(path, f"unreadable tags: {exc}") from exc
    return AudioTags(duration=duration, **values)  # type: ignore[arg-type]


def write_tags(path: Path | str, tags: AudioTags, cover: bytes | None = None) -> None:
    """Set every field of the table to ``tags`` (None removes it); other tags are kept.

    ``cover`` (a JPEG) becomes the front cover, replacing any other front cover.
    """
    audio = _open(path)
    if audio.tags is None:
        audio.add_tags()
    system, column = _system(audio)
    for field in FIELDS:
        value = getattr(tags, field.name)
        system.set(audio.tags, getattr(field, column), None if value is None else str(value))
    if cover is not None:
        _embed_cover(audio, cover)
    try:
        audio.save(path)
    except Exception as exc:  # mutagen raises assorted types on files it cannot rewrite
        raise AudioReadError(path, f"cannot write tags: {exc}") from exc


def read_cover(path: Path | str) -> bytes | None:
    """The embedded front cover's bytes, or None."""
    audio = _open(path)
    tags: Any = audio.tags
    if isinstance(audio, FLAC):
        found = [p.data for p in audio.pictures if p.type == _FRONT_COVER]
    elif isinstance(audio, MP4):
        found = [bytes(c) for c in (tags or {}).get("covr", [])]
    elif tags is not None and hasattr(tags, "getall"):
        found = [f.data for f in tags.getall("APIC") if f.type == _FRONT_COVER]
    else:
        found = []
    return found[0] if found else None


def _embed_cover(audio: mutagen.FileType, jpeg: bytes) -> None:
    """The front cover where each container keeps it: a FLAC picture block, MP4
    ``covr``, ID3 ``APIC`` (type 3 = front cover); Ogg files get none."""
    tags: Any = audio.tags
    if isinstance(audio, FLAC):
        picture = Picture()
        picture.type, picture.mime, picture.data = _FRONT_COVER, "image/jpeg", jpeg
        kept = [p for p in audio.pictures if p.type != _FRONT_COVER]  # a back cover stays
        audio.clear_pictures()
        for other in kept:
            audio.add_picture(other)
        audio.add_picture(picture)
    elif isinstance(audio, MP4):
        tags["covr"] = [MP4Cover(jpeg, imageformat=MP4Cover.FORMAT_JPEG)]
    elif isinstance(audio, MP3 | AIFF | WAVE):
        kept = [f for f in tags.getall("APIC") if f.type != _FRONT_COVER]
        tags.delall("APIC")
        for frame in kept:
            tags.add(frame)
        tags.add(APIC(encoding=3, mime="image/jpeg", type=_FRONT_COVER, desc="Cover", data=jpeg))


def detect_extension(path: Path | str) -> str:
    """The extension (".flac", ".m4a", ...) of the codec in the file, judged by content only."""
    audio = _open(path)
    return _EXTENSIONS[type(audio)]


class _NamelessReader(io.BufferedReader):
    """A file mutagen must judge by its bytes: it cannot see a misleading extension."""

    @property
    def name(self) -> str:
        return ""


def _open(path: Path | str) -> mutagen.FileType:
    try:
        with _NamelessReader(io.FileIO(path, "rb")) as nameless:
            audio = mutagen.File(nameless, options=_KINDS)
            if audio is None:
                # MPEG audio without an ID3 header has no magic bytes to score:
                # the last resort is syncing to its frames.
                nameless.seek(0)
                audio = MP3(nameless)
    except Exception as exc:  # mutagen raises assorted types on hostile input
        raise AudioReadError(path, str(exc) or type(exc).__name__) from exc
    return audio


def _system(audio: mutagen.FileType) -> tuple[_TagSystem, str]:
    if isinstance(audio, MP4):
        return _MP4, "mp4"
    if isinstance(audio, MP3 | AIFF | WAVE):
        return _ID3, "id3"
    return _VORBIS, "vorbis"


def _clean(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


def _parse_number(text: str | None) -> int | None:
    """``"5"``, ``"5/12"``, ``" 05 "`` to 5, ``"124.5"`` to 124, ``"2023-06-30"`` to 2023;
    anything else to None."""
    if text is None:
        return None
    found = _LEADING_NUMBER.match(text)
    return int(found[1]) if found else None
