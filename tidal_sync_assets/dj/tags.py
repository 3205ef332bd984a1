"""The DJ fields a file is tagged with: BPM, musical key and release year. Pure.

TIDAL's values (``DjValues``: the BPM as TIDAL gives it, the key in classic notation,
the album's release date) become the tags a file carries (``DjTags``: the BPM rounded,
the key in the user's notation, the year). The library records the values each primary
was tagged from; when the tags those values give differ from the ones TIDAL's values
give now (TIDAL changed them, or the user chose another notation), the primary is
re-tagged in place.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidal_sync_assets.dj.keys import KeyNotation, in_notation
from tidal_sync_assets.tidal.snapshot import TidalTrack


@dataclass(frozen=True, slots=True)
class DjValues:
    """What TIDAL says about a track for DJs."""

    bpm: float | None = None
    musical_key: str | None = None  # classic notation
    release_date: str | None = None  # ISO

    @classmethod
    def of(cls, track: TidalTrack) -> DjValues:
        return cls(track.bpm, track.musical_key, track.release_date)


@dataclass(frozen=True, slots=True)
class DjTags:
    """The DJ tags as a file carries them."""

    bpm: int | None
    key: str | None
    year: int | None


def dj_tags(values: DjValues, notation: KeyNotation) -> DjTags:
    return DjTags(
        bpm=round(values.bpm) if values.bpm else None,
        key=in_notation(values.musical_key, notation),
        year=int(values.release_date[:4]) if values.release_date else None,
    )
