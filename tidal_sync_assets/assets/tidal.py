"""The TIDAL side of the graph: ``tidal_snapshot`` and its completeness check."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from tidal_sync_assets.assets.metadata import metadata_table
from tidal_sync_assets.database.tidal_store import (
    previous_playlists,
    save_folders,
    save_snapshot,
)
from tidal_sync_assets.partitions import PLAYLIST_PARTITIONS
from tidal_sync_assets.resources import DatabaseResource, TidalResource
from tidal_sync_assets.tidal.fetch import fetch_snapshot
from tidal_sync_assets.tidal.folders import fetch_folders
from tidal_sync_assets.tidal.session import TidalLoginRequired, TidalUnavailable

COMPLETE_CHECK = "snapshot_complete"


@asset(
    group_name="tidal",
    kinds={"tidal", "sql"},
    owners=["team:tidal-sync"],
    tags={"side": "tidal"},
    description=(
        "The user's TIDAL playlists and their tracks. A playlist's tracks are fetched "
        "again only when its lastUpdated changed; every fetch is paginated and compared "
        "with numberOfTracks. Registers one library partition per playlist."
    ),
    check_specs=[
        AssetCheckSpec(
            COMPLETE_CHECK,
            asset="tidal_snapshot",
            blocking=True,
            description="Every playlist came back whole; otherwise nothing downstream runs, "
            "so an incomplete snapshot can never cause removals.",
        )
    ],
)
def tidal_snapshot(
    context: AssetExecutionContext, database: DatabaseResource, tidal: TidalResource
) -> MaterializeResult:
    engine = database.engine()
    try:
        session = tidal.open()
        snapshot = fetch_snapshot(
            session,
            previous_playlists(engine),
            include_favourites=tidal.include_favourites,
            include_favorite_tracks=tidal.favorite_tracks,
        )
    except (TidalLoginRequired, TidalUnavailable) as error:
        raise Failure(description=str(error), allow_retries=False) from None
    outcome = save_snapshot(engine, snapshot)
    # The folders only shape the Rekordbox XML: unreadable, they stay as they were.
    placed = fetch_folders(session)
    moved_between_folders = save_folders(engine, placed) if placed is not None else 0
    known = set(context.instance.get_dynamic_partitions(PLAYLIST_PARTITIONS))
    new = [p for p in outcome.partitions if p not in known]
    if new:
        context.instance.add_dynamic_partitions(PLAYLIST_PARTITIONS, new)
    # A playlist whose folder the library has cleaned up is gone from the database too.
    for stale in sorted(known - set(outcome.partitions)):
        context.instance.delete_dynamic_partition(PLAYLIST_PARTITIONS, stale)
    incomplete = [p.name for p in snapshot.playlists if not p.complete]
    if not snapshot.listing_complete:
        incomplete.insert(
            0,
            f"the playlist list ({len(snapshot.playlists)} of "
            f"{snapshot.playlists_announced} playlists)",
        )
    return MaterializeResult(
        metadata={
            "snapshot id": outcome.snapshot_id,
            "playlists": len(snapshot.playlists),
            "tracks fetched": len(snapshot.tracks),
            "entries": outcome.entries,
            "playlists fetched again": sum(p.fetched for p in snapshot.playlists),
            "requests made": snapshot.requests_made,
            "new partitions": len(new),
            "playlists moved between TIDAL folders": moved_between_folders,
            "playlists in TIDAL folders": "unknown (not readable)"
            if placed is None
            else len(placed),
            "changed since last snapshot": metadata_table(
                ["playlist", "change", "added", "dropped"],
                [(c.name, c.change, c.added, c.dropped) for c in outcome.changes],
            ),
        },
        check_results=[
            AssetCheckResult(
                check_name=COMPLETE_CHECK,
                passed=not incomplete,
                severity=AssetCheckSeverity.ERROR,
                description=None if not incomplete else "incomplete: " + ", ".join(incomplete),
                metadata={
                    "incomplete playlists": MetadataValue.json(
                        [
                            {
                                "playlist": p.name,
                                "got": len(p.track_ids),
                                "expected": p.number_of_tracks,
                            }
                            for p in snapshot.playlists
                            if not p.complete
                        ]
                    )
                },
            )
        ],
    )
