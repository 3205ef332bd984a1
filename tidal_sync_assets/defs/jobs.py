"""Jobs: the whole sync as one run, tagged so two never write a library at once."""

from dagster import AssetSelection, define_asset_job

from tidal_sync_assets.defs.partitions import playlist_partitions

LIBRARY_TAG = "tidal-sync/library"

sync_job = define_asset_job(
    "sync",
    selection=AssetSelection.all(),
    partitions_def=playlist_partitions,
    tags={LIBRARY_TAG: "sync"},
    description="Snapshot TIDAL and the disk, plan, and make every playlist's folder right.",
)
