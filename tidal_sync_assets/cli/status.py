"""``tidal-sync status``'s text: per playlist, its sync status, tracks, missing and
failed; the files the latest scan found damaged (never adopted); a note when stored
tracks came below the wanted quality. ``--format csv|json``: instead, the library as a
spreadsheet, one row per playlist entry. The rows come from the stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tidal_sync_assets.database.status_store import PlaylistStatus

if TYPE_CHECKING:  # the frames come from the store; a sync's last line needs no pandas
    import pandas as pd


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
