"""The library side of the graph: ``playlist_library``, one partition per playlist.

Many partitions run in one run, and each playlist reports its own outcome: the body
yields one ``AssetMaterialization`` per playlist that succeeded (Dagster 1.13 has no
per-partition ``MaterializeResult``), and no output (``output_required=False``), so a
failed playlist's partition is never recorded as materialized.
"""

from collections.abc import Iterator, Mapping

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    BackfillPolicy,
    Config,
    Failure,
    asset,
)
from pydantic import Field
from sqlalchemy import Engine

from tidal_sync_assets.assets.metadata import metadata
from tidal_sync_assets.assets.planning import dedup_plan
from tidal_sync_assets.database.tidal_store import playlist_labels
from tidal_sync_assets.defs.partitions import playlist_partitions
from tidal_sync_assets.defs.resources import DatabaseResource, LibraryResource, TidalResource
from tidal_sync_assets.disk.lock import LibraryBusy
from tidal_sync_assets.library.handlers import LibrarySettings
from tidal_sync_assets.library.report import failure_description, named, outcome_report
from tidal_sync_assets.library.scheduler import PlaylistOutcome
from tidal_sync_assets.library.upgrade import count_below_wanted_quality
from tidal_sync_assets.services.library import PlanNotReady, run_playlists
from tidal_sync_assets.tidal.snapshot import PlaylistLabel


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
        "trash, M3U8. A partition is a playlist's UUID; its materializations name the "
        "playlist, its TIDAL folder and its library folder, and tidal_snapshot's metadata "
        "lists every partition by name. A failed action fails the partition (named in the "
        "error); a backfill of the failed partitions finishes the job. Many partitions run "
        "in one run."
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
    # Read before the run too: a playlist removed on TIDAL loses its row once its folder goes.
    labels = playlist_labels(engine)
    failed: list[PlaylistOutcome] = []
    try:
        settings = LibrarySettings(
            link_mode=library.checked_link_mode(),
            quality=quality,
            min_quality=tidal.checked_min_quality(),
            workers=tidal.download_workers,
            key_notation=library.checked_key_notation(),
            m3u8_paths=library.checked_m3u8_paths(),
        )
        playlists = [
            p for p in context.partition_keys if p in config.playlists or not config.playlists
        ]
        for outcome in run_playlists(engine, library.root_path(), playlists, settings, tidal.open):
            if not outcome.ok:
                failed.append(outcome)
                continue
            yield _materialization(context, engine, outcome, quality, labels)
    except (PlanNotReady, LibraryBusy) as error:
        final = isinstance(error, PlanNotReady) and error.final
        raise Failure(description=str(error), allow_retries=False if final else None) from None
    if failed:
        raise Failure(
            description=failure_description(failed, labels),
            metadata={"failed playlists": [named(o.playlist, labels) for o in failed]},
            allow_retries=False,
        )


def _materialization(
    context: AssetExecutionContext,
    engine: Engine,
    outcome: PlaylistOutcome,
    quality: str,
    before: Mapping[str, PlaylistLabel],
) -> AssetMaterialization:
    """A playlist's partition materialized, under the names a person finds it by."""
    below = count_below_wanted_quality(engine, quality)
    # Read again: the run may have made or renamed the playlist's folder.
    label = playlist_labels(engine, [outcome.playlist]).get(outcome.playlist)
    report = outcome_report(outcome, below, label or before.get(outcome.playlist))
    return AssetMaterialization(
        context.asset_key, partition=outcome.playlist, metadata=metadata(report)
    )
