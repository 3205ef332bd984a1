"""``tidal-sync status``: per playlist, its sync status, tracks, missing and failed; and
the files the latest scan found damaged (never adopted); how many stored tracks TIDAL
delivered below the wanted quality. ``--format csv|json``: instead, the library as a
spreadsheet, one row per playlist entry (``entry_store.load_entries``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, case, func, select

from tidal_sync_assets.database import DownloadStatus, Playlist, PlaylistTrack, Track
from tidal_sync_assets.settings import QUALITIES


@dataclass(frozen=True, slots=True)
class PlaylistStatus:
    name: str
    sync_status: str
    tracks: int
    missing: int
    failed: int


def playlist_statuses(engine: Engine) -> list[PlaylistStatus]:
    missing = func.sum(case((Track.file_path.is_(None), 1), else_=0))
    failed = func.sum(case((Track.download_status == DownloadStatus.ERROR, 1), else_=0))
    query = (
        select(
            Playlist.name,
            Playlist.sync_status,
            func.count(PlaylistTrack.id),
            func.coalesce(missing, 0),
            func.coalesce(failed, 0),
        )
        .select_from(Playlist)
        .outerjoin(
            PlaylistTrack,
            (PlaylistTrack.playlist_id == Playlist.id) & PlaylistTrack.position.is_not(None),
        )
        .outerjoin(Track, Track.id == PlaylistTrack.track_id)
        .group_by(Playlist.id, Playlist.name, Playlist.sync_status)
        .order_by(Playlist.name)
    )
    with engine.connect() as connection:
        return [
            PlaylistStatus(name, str(status.value if hasattr(status, "value") else status), *nums)
            for name, status, *nums in connection.execute(query).tuples()
        ]


def lower_qualities(wanted: str) -> list[str]:
    """The qualities below ``wanted``, lowest first."""
    return list(QUALITIES[: QUALITIES.index(wanted)]) if wanted in QUALITIES else []


def below_wanted_quality(engine: Engine, wanted: str) -> list[tuple[int, str]]:
    """(TIDAL id, delivered quality) of stored tracks TIDAL delivered below ``wanted``."""
    query = select(Track.tidal_id, Track.audio_quality).where(
        Track.file_path.is_not(None), Track.audio_quality.in_(lower_qualities(wanted))
    )
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(Track.tidal_id)).tuples()
        return [(tidal_id, str(quality)) for tidal_id, quality in rows]


def quality_note(count: int, wanted: str) -> str | None:
    """One line for the user when some stored tracks are below ``wanted``."""
    if not count:
        return None
    return (
        f"{count} stored track(s) below the wanted quality {wanted}: TIDAL delivered less. "
        "A PKCE login (`tidal-sync login --pkce`) gets lossless FLAC for most releases; "
        "then `tidal-sync sync --upgrade` replaces them."
    )


def render(statuses: list[PlaylistStatus], damaged: Sequence[tuple[str, str]] = ()) -> str:
    """The playlists' table, then how many files are damaged and which (path: why)."""
    header = ("playlist", "status", "tracks", "missing", "failed")
    rows = [(s.name, s.sync_status, str(s.tracks), str(s.missing), str(s.failed)) for s in statuses]
    widths = [min(48, max(len(r[i]) for r in [header, *rows])) for i in range(len(header))]
    lines = [
        "  ".join(cell[:48].ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    lines.append(f"damaged files: {len(damaged)}")
    lines += [f"  {path}: {why}" for path, why in damaged]
    return "\n".join(lines)


def entries_csv(entries: pd.DataFrame) -> str:
    """The entries as CSV with a header row; a missing value is an empty cell."""
    return str(_spreadsheet(entries).to_csv(index=False, lineterminator="\n"))


def entries_json(entries: pd.DataFrame) -> str:
    """The entries as a JSON array of objects, one per entry; a missing value is null."""
    return str(_spreadsheet(entries).to_json(orient="records", force_ascii=False, indent=1)) + "\n"


def _spreadsheet(entries: pd.DataFrame) -> pd.DataFrame:
    # Nullable dtypes: whole BPMs (TIDAL's are) print as 124, not 124.0, beside empty cells.
    return entries.convert_dtypes()
