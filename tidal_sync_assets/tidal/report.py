"""What ``tidal_snapshot`` shows in the Dagster UI: counts, what changed per playlist,
and the playlists that came back incomplete. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from tidal_sync_assets.report import Report, table
from tidal_sync_assets.tidal.snapshot import PlaylistChange, TidalSnapshot


def snapshot_report(
    snapshot: TidalSnapshot,
    snapshot_id: int,
    entries: int,
    new_partitions: int,
    changes: Sequence[PlaylistChange],
) -> Report:
    return {
        "snapshot id": snapshot_id,
        "playlists": len(snapshot.playlists),
        "tracks fetched": len(snapshot.tracks),
        "entries": entries,
        "playlists fetched again": sum(p.fetched for p in snapshot.playlists),
        "requests made": snapshot.requests_made,
        "new partitions": new_partitions,
        "changed since last snapshot": table(
            ["playlist", "change", "added", "dropped"],
            [(c.name, c.change, c.added, c.dropped) for c in changes],
        ),
    }


def incomplete_report(snapshot: TidalSnapshot) -> tuple[str | None, Report]:
    """The completeness check's description (None when whole) and its metadata."""
    incomplete = [p for p in snapshot.playlists if not p.complete]
    names = [p.name for p in incomplete]
    if not snapshot.listing_complete:
        listed = f"{len(snapshot.playlists)} of {snapshot.playlists_announced} playlists"
        names.insert(0, f"the playlist list ({listed})")
    description = "incomplete: " + ", ".join(names) if names else None
    rows = [
        {"playlist": p.name, "got": len(p.track_ids), "expected": p.number_of_tracks}
        for p in incomplete
    ]
    return description, {"incomplete playlists": rows}
