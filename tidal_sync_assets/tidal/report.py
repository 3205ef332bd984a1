"""What ``tidal_snapshot`` shows in the Dagster UI: counts, what changed per playlist,
and the playlists that came back incomplete. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tidal_sync_assets.report import Report, Table, table
from tidal_sync_assets.tidal.snapshot import PlaylistLabel, SnapshotOutcome, TidalSnapshot


def snapshot_report(
    snapshot: TidalSnapshot,
    outcome: SnapshotOutcome,
    new_partitions: int,
    in_folders: Mapping[str, object] | None,
    moved_between_folders: int,
    labels: Mapping[str, PlaylistLabel],
) -> Report:
    """``in_folders``: the playlists in TIDAL folders (None: the folders were unreadable);
    ``labels``: what a person knows each playlist by, for finding its partition."""
    return {
        "snapshot id": outcome.snapshot_id,
        "playlists": len(snapshot.playlists),
        "tracks fetched": len(snapshot.tracks),
        "entries": outcome.entries,
        "playlists fetched again": sum(p.fetched for p in snapshot.playlists),
        "requests made": snapshot.requests_made,
        "new partitions": new_partitions,
        "playlists moved between TIDAL folders": moved_between_folders,
        "playlists in TIDAL folders": "unknown (not readable)"
        if in_folders is None
        else len(in_folders),
        "changed since last snapshot": table(
            ["playlist", "change", "added", "dropped"],
            [(c.name, c.change, c.added, c.dropped) for c in outcome.changes],
        ),
        "playlist partitions by name": partitions_by_name(outcome.partitions, labels),
    }


def partitions_by_name(partitions: Sequence[str], labels: Mapping[str, PlaylistLabel]) -> Table:
    """Every ``playlist_library`` partition under its playlist's name and TIDAL folder, by
    name: the partition list shows only UUIDs (its filter matches keys, not names)."""
    found = [labels.get(key, PlaylistLabel(key, key)) for key in partitions]
    rows = sorted(
        ((label.name, label.tidal_path, label.tidal_id) for label in found),
        key=lambda row: (row[0].casefold(), row[1].casefold(), row[2]),
    )
    return table(["playlist", "TIDAL folder", "partition"], rows, max_rows=None)


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
