"""The TIDAL side of the graph: ``tidal_snapshot`` and its completeness check."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    asset,
)

from tidal_sync_assets.assets.metadata import metadata
from tidal_sync_assets.database.tidal_store import (
    playlist_labels,
    previous_playlists,
    save_folders,
    save_snapshot,
)
from tidal_sync_assets.defs.partitions import register_exactly
from tidal_sync_assets.defs.resources import DatabaseResource, TidalResource
from tidal_sync_assets.tidal.fetch import fetch_snapshot
from tidal_sync_assets.tidal.folders import fetch_folders
from tidal_sync_assets.tidal.report import incomplete_report, snapshot_report
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
    moved = save_folders(engine, placed) if placed is not None else 0
    new = register_exactly(context.instance, outcome.partitions)
    labels = playlist_labels(engine)
    report = snapshot_report(snapshot, outcome, len(new), placed, moved, labels)
    incomplete, check_metadata = incomplete_report(snapshot)
    return MaterializeResult(
        metadata=metadata(report),
        check_results=[
            AssetCheckResult(
                check_name=COMPLETE_CHECK,
                passed=incomplete is None,
                severity=AssetCheckSeverity.ERROR,
                description=incomplete,
                metadata=metadata(check_metadata),
            )
        ],
    )
