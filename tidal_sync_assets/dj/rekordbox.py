"""The Rekordbox XML: rendering a collection and its playlist tree as bytes.

Owns the document's shape (``DJ_PLAYLISTS`` → ``PRODUCT``, ``COLLECTION``,
``PLAYLISTS``), the ``Location`` URL of a file and the escaping of text. The
document is built as one string, not as an element tree: 50,000 tracks and
150,000 playlist entries render in well under a second that way, in a
fraction of the memory. Pure: no disk, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

PRODUCT = ("tidal-sync", "0.1.0", "tidal-sync")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_UNSAFE = re.compile(rb"[^A-Za-z0-9_.~/-]+")
_ASCII_QUOTED = {byte: f"%{byte:02X}" for byte in range(128) if _UNSAFE.fullmatch(bytes([byte]))}
# XML 1.0 has no way to write these characters, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}
)


@dataclass(frozen=True, slots=True)
class CollectionTrack:
    """One ``COLLECTION`` entry: a track's primary file and what DJ software shows."""

    track_id: int
    path: str  # the primary's absolute path (POSIX, or a Windows drive path)
    name: str
    artist: str
    album: str | None
    kind: str  # "FLAC File", "M4A File", "MP3 File"
    size: int
    total_time: int | None = None  # seconds
    sample_rate: int | None = None  # Hz
    bit_rate: int | None = None  # kbit/s
    bpm: float | None = None
    tonality: str | None = None
    year: int | None = None


@dataclass(frozen=True, slots=True)
class PlaylistNode:
    """A playlist (``Type="1"``): its entries as TrackIDs, in order."""

    name: str
    track_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FolderNode:
    """A folder (``Type="0"``) of folders and playlists, in order."""

    name: str
    children: tuple[FolderNode | PlaylistNode, ...]


def location(path: str) -> str:
    """The ``Location`` of an absolute path: ``file://localhost/`` + the percent-encoded path.

    ``/Music/a b.flac`` → ``file://localhost/Music/a%20b.flac``;
    ``C:\\Music\\a b.flac`` → ``file://localhost/C:/Music/a%20b.flac``. Every byte of
    the UTF-8 path but letters, digits, ``-._~`` and ``/`` is encoded (as
    ``urllib.parse.quote`` does); a drive's colon stays, as Rekordbox writes it.
    """
    if _WINDOWS_DRIVE.match(path):
        drive, rest = path[:2], path[2:].replace("\\", "/")
        return f"file://localhost/{drive}{_quote(rest)}"
    if not path.startswith("/"):
        raise ValueError(f"a Location needs an absolute path, not {path!r}")
    return "file://localhost" + _quote(path)


def _quote(path: str) -> str:
    # str.translate for an ASCII path, one regex pass over the UTF-8 bytes otherwise:
    # both several times faster than urllib's per-character quoting (50,000 paths).
    if path.isascii():
        return path.translate(_ASCII_QUOTED)
    return _UNSAFE.sub(_percent, path.encode("utf-8")).decode("ascii")


def _percent(match: re.Match[bytes]) -> bytes:
    return b"".join(b"%%%02X" % byte for byte in match[0])


def render(tracks: Sequence[CollectionTrack], tidal: FolderNode) -> bytes:
    """The whole document; ``tidal`` is the folder put under ``ROOT``."""
    return "".join(_document(tracks, tidal)).encode("utf-8")


def _document(tracks: Sequence[CollectionTrack], tidal: FolderNode) -> Iterator[str]:
    name, version, company = PRODUCT
    yield '<?xml version="1.0" encoding="UTF-8"?>\n<DJ_PLAYLISTS Version="1.0.0">\n'
    yield f'  <PRODUCT Name="{name}" Version="{version}" Company="{company}"/>\n'
    yield f'  <COLLECTION Entries="{len(tracks)}">\n'
    for track in tracks:
        yield _track(track)
    yield "  </COLLECTION>\n  <PLAYLISTS>\n"
    yield '    <NODE Type="0" Name="ROOT" Count="1">\n'
    yield from _node(tidal, depth=3)
    yield "    </NODE>\n  </PLAYLISTS>\n</DJ_PLAYLISTS>\n"


def _track(track: CollectionTrack) -> str:
    # Written out rather than through _attributes: this runs once per track, and only
    # the free-text fields need escaping (numbers and a Location never do).
    optional = "".join(
        f' {key}="{value}"'
        for key, value in (
            ("Album", None if track.album is None else _text(track.album)),
            ("TotalTime", track.total_time),
            ("Year", track.year),
            ("AverageBpm", None if track.bpm is None else f"{track.bpm:.2f}"),
            ("BitRate", track.bit_rate),
            ("SampleRate", track.sample_rate),
            ("Tonality", track.tonality),
        )
        if value is not None
    )
    return (
        f'    <TRACK TrackID="{track.track_id}" Name="{_text(track.name)}" '
        f'Artist="{_text(track.artist)}" Kind="{track.kind}" Size="{track.size}"{optional} '
        f'Location="{location(track.path)}"/>\n'
    )


def _node(node: FolderNode | PlaylistNode, depth: int) -> Iterator[str]:
    pad = "  " * depth
    if isinstance(node, PlaylistNode):
        head = _attributes(
            [("Name", node.name), ("Type", 1), ("KeyType", 0), ("Entries", len(node.track_ids))]
        )
        yield f"{pad}<NODE{head}>\n"
        yield "".join(f'{pad}  <TRACK Key="{key}"/>\n' for key in node.track_ids)
        yield f"{pad}</NODE>\n"
        return
    head = _attributes([("Type", 0), ("Name", node.name), ("Count", len(node.children))])
    yield f"{pad}<NODE{head}>\n"
    for child in node.children:
        yield from _node(child, depth + 1)
    yield f"{pad}</NODE>\n"


def _attributes(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f' {key}="{_text(value)}"' for key, value in pairs if value is not None)


def _text(value: object) -> str:
    return _NOT_XML.sub("", str(value)).translate(_ESCAPES)
