"""``tidal-sync status``'s table: per playlist, its sync status, tracks, missing and
failed; and the files the latest scan found damaged (never adopted). The rows come
from ``database.status_store`` and ``database.scan_store``."""

from __future__ import annotations

from collections.abc import Sequence

from tidal_sync_assets.database.status_store import PlaylistStatus


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
