"""Jobs: the whole sync as one run, tagged so two never write a library at once."""

from collections.abc import Sequence

from dagster import AssetSelection, define_asset_job

from tidal_sync_assets.partitions import playlist_partitions

LIBRARY_TAG = "tidal-sync/library"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def range_tags(keys: Sequence[str]) -> dict[str, str]:
    """Run tags that make one run cover every playlist partition in ``keys`` (in order)."""
    return {RANGE_START: keys[0], RANGE_END: keys[-1]}


sync_job = define_asset_job(
    "sync",
    selection=AssetSelection.all(),
    partitions_def=playlist_partitions,
    tags={LIBRARY_TAG: "sync"},
    description="Snapshot TIDAL and the disk, plan, and make every playlist's folder right.",
)
