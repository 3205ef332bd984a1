"""Names on disk: the one place that sanitizes, truncates and disambiguates.

Every playlist folder and track file name the product writes goes through
``sanitize_component``, so a library looks the same on every OS (and on a
FAT/exFAT USB stick). Pure functions: nothing here touches the disk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TypeVar

from tidal_sync_assets.tidal.snapshot import TidalTrack

MAX_COMPONENT_BYTES = 255
PLACEHOLDER = "Untitled"
# Room a track stem leaves for an extension (".flac") and a " (n)" suffix.
STEM_RESERVED_BYTES = 24

_REPLACEMENT = "_"
_FORBIDDEN = frozenset('/\\:*?"<>|')
# Control characters and lone surrogates (undecodable bytes) are never kept.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs"})
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"{prefix}{digit}" for prefix in ("COM", "LPT") for digit in "123456789¹²³"}
)
_SUFFIX_NUMBER = re.compile(r" \(([1-9][0-9]{0,5})\)")

K = TypeVar("K", str, int)


@lru_cache(maxsize=1 << 18)  # a library names each track once per playlist it is in
def sanitize_component(name: str, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One path component that is valid on every OS and at most ``max_bytes`` UTF-8.

    Idempotent: sanitizing a sanitized name returns it unchanged.
    """
    if name.isascii() and name.isprintable() and _FORBIDDEN.isdisjoint(name):
        text = name  # the common case: already NFC, nothing to replace
    else:
        text = "".join(
            _REPLACEMENT
            if ch in _FORBIDDEN or unicodedata.category(ch) in _DROPPED_CATEGORIES
            else ch
            for ch in unicodedata.normalize("NFC", name)
        )
    text = _trim(_truncate(text.strip(), max_bytes))
    if text.startswith("."):
        # Hidden on Unix, and "." / ".." are not names at all.
        text = _REPLACEMENT + text[1:]
    stem, dot, ext = text.partition(".")
    if stem.rstrip(" ").upper() in _DEVICE_NAMES:
        text = _trim(_truncate(f"{stem}{_REPLACEMENT}{dot}{ext}", max_bytes))
    return text or PLACEHOLDER


def track_stem(track: TidalTrack) -> str:
    """``<Artist> - <Title>[ (Version)]``, sanitized, with room for suffix and extension."""
    title = track.title
    if track.version and f"({track.version})".casefold() not in title.casefold():
        title = f"{title} ({track.version})"
    return sanitize_component(
        f"{track.artist} - {title}", MAX_COMPONENT_BYTES - STEM_RESERVED_BYTES
    )


def assign_folders(playlists: Sequence[tuple[str, str, str | None]]) -> dict[str, str]:
    """Map ``(tidal_id, name, current_folder)`` to unique playlist folder names.

    A playlist whose current folder is its sanitized name, or a disambiguated
    variant of it, keeps that folder; the others get the first free name in
    ``Name``, ``Name (2)``, ``Name (3)``... where "free" ignores case (the
    library must survive a case-insensitive file system), in order of
    ``tidal_id``, so results do not depend on the input order.
    """
    wanted = [(key, sanitize_component(name), current) for key, name, current in playlists]
    return _assign(wanted, split_extension=False)


def assign_file_names(files: Sequence[tuple[int, str, str | None]]) -> dict[int, str]:
    """Map ``(tidal_id, file_name, current_name)`` within one folder to unique names.

    ``file_name`` is the wanted ``<stem><ext>``; a collision inserts `` (n)``
    before the extension. Same stability rules as ``assign_folders``.
    """
    wanted = [(key, sanitize_component(name), current) for key, name, current in files]
    return _assign(wanted, split_extension=True)


def _assign(items: Sequence[tuple[K, str, str | None]], split_extension: bool) -> dict[K, str]:
    ordered = sorted(items, key=lambda item: item[0])  # the lowest id wins a collision
    taken: set[str] = set()
    result: dict[K, str] = {}
    for key, wanted, current in ordered:
        if (
            current is not None
            and _is_variant(current, wanted, split_extension)
            and current.casefold() not in taken
        ):
            result[key] = current
            taken.add(current.casefold())
    for key, wanted, _ in ordered:
        if key in result:
            continue
        n = 1
        candidate = wanted
        while candidate.casefold() in taken:
            n += 1
            candidate = _with_suffix(wanted, n, split_extension)
        result[key] = candidate
        taken.add(candidate.casefold())
    return result


def _is_variant(current: str, wanted: str, split_extension: bool) -> bool:
    if current == wanted:
        return True
    return any(
        _with_suffix(wanted, int(n), split_extension) == current
        for n in _SUFFIX_NUMBER.findall(current)
        if n != "1"
    )


def _with_suffix(name: str, n: int, split_extension: bool) -> str:
    """``name`` with `` (n)`` (before its extension), still within the byte limit."""
    stem, ext = _split_extension(name) if split_extension else (name, "")
    suffix = f" ({n}){ext}"
    room = MAX_COMPONENT_BYTES - len(suffix.encode())
    return sanitize_component(_trim(_truncate(stem, room)) + suffix)


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 5 or not ext.isalnum():
        return name, ""
    return stem, f".{ext}"


def _truncate(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore")


def _trim(text: str) -> str:
    """No trailing dots or whitespace (Windows drops them silently)."""
    end = len(text)
    while end and (text[end - 1] == "." or text[end - 1].isspace()):
        end -= 1
    return text[:end]


M3U8_SUFFIX = ".m3u8"


def m3u8_path_for(playlist_folder: str) -> str:
    """The root-relative M3U8 path for a root-relative playlist folder.

    ``Playlists/Deep House`` → ``Playlists/Deep House/Deep House.m3u8``.
    """
    folder = PurePosixPath(playlist_folder)
    budget = MAX_COMPONENT_BYTES - len(M3U8_SUFFIX)
    stem = folder.name.encode()[:budget].decode("utf-8", "ignore").rstrip(". ")
    return (folder / f"{stem}{M3U8_SUFFIX}").as_posix()
