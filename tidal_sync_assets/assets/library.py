"""The library side of the graph: ``playlist_library``, one partition per playlist.

Many partitions run in one run, and each playlist reports its own outcome: the body
yields one ``AssetMaterialization`` per playlist that succeeded (Dagster 1.13 has no
per-partition ``MaterializeResult``), and no output (``output_required=False``), so a
failed playlist's partition is never recorded as materialized.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    BackfillPolicy,
    Config,
    Failure,
    asset,
)
from pydantic import Field

from tidal_sync_assets.assets.metadata import metadata
from tidal_sync_assets.assets.planning import dedup_plan
from tidal_sync_assets.disk.lock import LibraryBusy
from tidal_sync_assets.library.execute import PlaylistOutcome
from tidal_sync_assets.library.report import failure_description, outcome_report
from tidal_sync_assets.library.upgrade import count_below_wanted_quality
from tidal_sync_assets.partitions import playlist_partitions
from tidal_sync_assets.resources import DatabaseResource, LibraryResource, TidalResource
from tidal_sync_assets.services.library import PlanNotReady, run_playlists


class LibraryConfig(Config):
    """Restrict a run to some playlists (UUIDs); empty: every partition of the run."""

    playlists: list[str] = Field(default_factory=list)


@asset(
    deps=[dedup_plan],
    partitions_def=playlist_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    output_required=False,
    group_name="library",
    kinds={"filesystem", "tidal", "sql"},
    owners=["team:tidal-sync"],
    op_tags={"tidal-sync/library": "write"},
    description=(
        "One playlist's folder made right from the latest plan: downloads, links, moves, "
        "trash, M3U8. A failed action fails the partition (named in the error); a backfill "
        "of the failed partitions finishes the job. Many partitions run in one run."
    ),
)
def playlist_library(
    context: AssetExecutionContext,
    config: LibraryConfig,
    database: DatabaseResource,
    library: LibraryResource,
    tidal: TidalResource,
) -> Iterator[AssetMaterialization]:
    engine, quality = database.engine(), tidal.checked_quality()
    failed: list[PlaylistOutcome] = []
    try:
        for outcome in run_playlists(
            engine,
            library.root_path(),
            [p for p in context.partition_keys if not config.playlists or p in config.playlists],
            link_mode=library.checked_link_mode(),
            quality=quality,
            min_quality=tidal.checked_min_quality(),
            workers=tidal.download_workers,
            open_session=tidal.open,
            key_notation=library.checked_key_notation(),
            m3u8_paths=library.checked_m3u8_paths(),
        ):
            if not outcome.ok:
                failed.append(outcome)
                continue
            below = count_below_wanted_quality(engine, quality)
            report = metadata(outcome_report(outcome, below))
            yield AssetMaterialization(
                context.asset_key, partition=outcome.playlist, metadata=report
            )
    except (PlanNotReady, LibraryBusy) as error:
        final = isinstance(error, PlanNotReady) and error.final
        raise Failure(description=str(error), allow_retries=False if final else None) from None
    if failed:
        raise Failure(
            description=failure_description(failed),
            metadata={"failed playlists": [o.playlist for o in failed]},
            allow_retries=False,
        )
