"""The library side of the graph: ``playlist_library``, one partition per playlist."""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    BackfillPolicy,
    Config,
    Failure,
    MetadataValue,
    asset,
)
from pydantic import Field

from tidal_sync_assets.assets.metadata import metadata_table
from tidal_sync_assets.assets.planning import dedup_plan
from tidal_sync_assets.database import PlanStatus
from tidal_sync_assets.database.plan_store import latest_plan
from tidal_sync_assets.disk.lock import LibraryBusy, library_lock
from tidal_sync_assets.library.execute import Executor, PlaylistOutcome
from tidal_sync_assets.partitions import playlist_partitions
from tidal_sync_assets.resources import DatabaseResource, LibraryResource, TidalResource
from tidal_sync_assets.status import below_wanted_quality

LOCK_TIMEOUT_SECONDS = 60.0


def _summary(outcome: PlaylistOutcome) -> dict[str, MetadataValue]:
    return {
        "done": MetadataValue.int(outcome.done),
        "failed": MetadataValue.int(len(outcome.failed)),
        "skipped": MetadataValue.int(len(outcome.skipped)),
        "files downloaded": MetadataValue.int(outcome.downloaded),
        "MB downloaded": MetadataValue.float(round(outcome.bytes_downloaded / 1e6, 2)),
        "failures": metadata_table(
            ["action", "path", "error"],
            [(a.kind.value, a.target or a.source or "", e) for a, e in outcome.failed],
        ),
        "skipped actions": metadata_table(
            ["action", "track", "reason"],
            [(a.kind.value, a.track_id, r) for a, r in outcome.skipped],
        ),
    }


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
) -> Iterator[None]:
    engine = database.engine()
    latest = latest_plan(engine)
    if latest is None:
        raise Failure(description="There is no plan yet; materialize dedup_plan first.")
    plan_id, status, held_reason = latest
    if status is PlanStatus.HELD:
        raise Failure(description=f"The latest plan is held: {held_reason}.", allow_retries=False)
    failed: list[PlaylistOutcome] = []
    try:
        with library_lock(library.root_path(), LOCK_TIMEOUT_SECONDS):
            executor = Executor(
                engine=engine,
                root=library.root_path(),
                plan_id=plan_id,
                link_mode=library.checked_link_mode(),
                quality=tidal.checked_quality(),
                min_quality=tidal.checked_min_quality(),
                workers=tidal.download_workers,
                open_session=tidal.open,
                key_notation=library.checked_key_notation(),
                m3u8_paths=library.checked_m3u8_paths(),
            )
            wanted = set(config.playlists)
            for playlist in context.partition_keys:
                if wanted and playlist not in wanted:
                    continue
                outcome = executor.run_playlist(playlist)
                if outcome.ok:
                    below = below_wanted_quality(engine, tidal.checked_quality())
                    context.log_event(
                        AssetMaterialization(
                            asset_key=context.asset_key,
                            partition=playlist,
                            metadata={
                                **_summary(outcome),
                                "tracks below wanted quality": MetadataValue.int(len(below)),
                            },
                        )
                    )
                else:
                    failed.append(outcome)
    except LibraryBusy as error:
        raise Failure(description=str(error)) from None
    if failed:
        names = "; ".join(
            f"{o.playlist}: " + ", ".join(str(a.track_id or a.target) for a, _ in o.failed[:10])
            for o in failed
        )
        raise Failure(
            description=f"{len(failed)} playlist(s) failed ({names}); "
            "backfill the failed partitions once the cause is fixed.",
            metadata={"failed playlists": MetadataValue.json([o.playlist for o in failed])},
            allow_retries=False,
        )
    yield from ()
