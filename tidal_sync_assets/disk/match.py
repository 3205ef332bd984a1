"""Which scanned audio files are TIDAL tracks: the adoption rules of the SPEC.

In order: the ``TIDAL_TRACK_ID`` tag, then the ISRC, then artist + title.
Artist + title come from the tags, or from a ``<Artist> - <Title>.ext`` file
name when the tags lack them, and are compared after ``normalize`` with
rapidfuzz's ``token_sort_ratio``: a candidate needs ``NAME_THRESHOLD`` and,
when both durations are known, a duration within ``DURATION_TOLERANCE``.
Fuzzy scoring only runs on a blocked candidate set (same normalized main
artist or same normalized title), so 50,000 files x 50,000 tracks stays fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from tidal_sync_assets.disk.entry import EntryKind, Ownership, ScannedEntry, is_audio, is_internal
from tidal_sync_assets.tidal.snapshot import TidalTrack

NAME_THRESHOLD = 90.0  # token_sort_ratio on normalized "artist title", 0..100
DURATION_TOLERANCE = 2.0  # seconds

_BRACKETED_NOISE = re.compile(
    r"[(\[]\s*(?:(?:feat|ft)\b\.?|featuring\b|with\b)[^)\]]*[)\]]"
    r"|[(\[]\s*original mix\s*[)\]]"
)
_TRAILING_NOISE = re.compile(r"\s(?:(?:feat|ft)\b\.?|featuring\b).*$|\s-\s*original mix\s*$")
_NON_WORD = re.compile(r"[\W_]+")
_COPY_SUFFIX = re.compile(r" \(\d+\)$")  # the naming module's disambiguation


@dataclass(frozen=True, slots=True)
class Match:
    track_id: int
    method: Literal["tag", "isrc", "name"]


def normalize(text: str) -> str:
    """Casefolded NFKC words without featured artists, "(Original Mix)" or punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _TRAILING_NOISE.sub("", _BRACKETED_NOISE.sub(" ", text))
    return _NON_WORD.sub(" ", text).strip()


def ownership(entry: ScannedEntry, match: Match | None, managed: Set[str]) -> Ownership:
    """Managed: placed by the product, or matching a TIDAL track with intact audio (a
    damaged file is never adopted: it stays the user's); else the user's."""
    if is_internal(entry.path):
        return Ownership.INTERNAL
    if (match is not None and entry.audio_damage is None) or entry.path in managed:
        return Ownership.MANAGED
    return Ownership.USER


def match_entries(
    entries: Iterable[ScannedEntry], tracks: Mapping[int, TidalTrack]
) -> dict[str, Match]:
    """Path of each readable, real (not linked) audio file that is a TIDAL track -> its match."""
    index = _TrackIndex(tracks)
    matches: dict[str, Match] = {}
    for entry in entries:
        if (
            entry.kind is EntryKind.FILE
            and entry.error is None
            and is_audio(entry.path)
            and not is_internal(entry.path)
        ):
            found = index.match(entry)
            if found is not None:
                matches[entry.path] = found
    return matches


@dataclass(frozen=True, slots=True)
class _Named:
    """A track as name matching sees it."""

    track_id: int
    keys: tuple[str, ...]  # "main artist title" and "all artists title", normalized
    duration: int | None


class _TrackIndex:
    """Tag lookups need only ``tracks``' keys; the ISRC and name indexes are built on the
    first file that is not matched by its tag (a library the product tagged has none)."""

    def __init__(self, tracks: Mapping[int, TidalTrack]) -> None:
        self._tracks = tracks
        self._by_isrc: dict[str, int] = {}
        self._by_artist: dict[str, list[_Named]] = defaultdict(list)
        self._by_title: dict[str, list[_Named]] = defaultdict(list)
        self._indexed = False

    def _index(self) -> None:
        self._indexed = True
        tracks = self._tracks
        for track_id in sorted(tracks):  # lowest id wins a shared ISRC, deterministically
            track = tracks[track_id]
            if track.isrc:
                self._by_isrc.setdefault(track.isrc.strip().upper(), track_id)
            title = track.title
            if track.version and track.version.casefold() not in title.casefold():
                title = f"{title} ({track.version})"
            main = normalize(track.artists[0]) if track.artists else ""
            title_key = normalize(title)
            keys = tuple(
                dict.fromkeys((f"{main} {title_key}", f"{normalize(track.artist)} {title_key}"))
            )
            named = _Named(track_id, keys, track.duration)
            self._by_artist[main].append(named)
            self._by_title[title_key].append(named)

    def match(self, entry: ScannedEntry) -> Match | None:
        tags = entry.tags
        track_id = tags.tidal_track_id if tags is not None else None
        if track_id is not None and track_id in self._tracks:
            return Match(track_id, "tag")
        if not self._indexed:
            self._index()
        if tags is not None and tags.isrc:
            track_id = self._by_isrc.get(tags.isrc.strip().upper())
            if track_id is not None:
                return Match(track_id, "isrc")
        artist_title = _artist_title(entry)
        if artist_title is None:
            return None
        artist, title = normalize(artist_title[0]), normalize(artist_title[1])
        duration = tags.duration if tags is not None else None
        return self._by_name(artist, title, duration)

    def _by_name(self, artist: str, title: str, duration: float | None) -> Match | None:
        query = f"{artist} {title}"
        best: tuple[float, float, int] | None = None  # (score, -duration gap, -id): max wins
        candidates = {
            n.track_id: n
            for n in (*self._by_artist.get(artist, ()), *self._by_title.get(title, ()))
        }
        for named in candidates.values():
            gap = 0.0
            if duration is not None and named.duration is not None:
                gap = abs(duration - named.duration)
                if gap > DURATION_TOLERANCE:
                    continue
            score = max(
                fuzz.token_sort_ratio(query, key, score_cutoff=NAME_THRESHOLD) for key in named.keys
            )
            if score >= NAME_THRESHOLD and (best is None or (score, -gap, -named.track_id) > best):
                best = (score, -gap, -named.track_id)
        return None if best is None else Match(-best[2], "name")


def _artist_title(entry: ScannedEntry) -> tuple[str, str] | None:
    """From the tags when they have both, else from a ``<Artist> - <Title>.ext`` name."""
    tags = entry.tags
    if tags is not None and tags.artist and tags.title:
        return tags.artist, tags.title
    stem = entry.path.rpartition("/")[2].rpartition(".")[0]
    artist, separator, title = _COPY_SUFFIX.sub("", stem).partition(" - ")
    if not separator or not artist.strip() or not title.strip():
        return None
    return artist, title
