"""The ``tidal_sync_assets`` code location: assembles assets, checks, jobs,
schedules, sensors and resources.

Nothing is read from disk or the network here: the code server re-imports
this module, so all I/O happens when an asset, check or sensor runs.
"""

from dagster import Definitions

from tidal_sync_assets.assets.filesystem import filesystem_snapshot
from tidal_sync_assets.assets.library import playlist_library
from tidal_sync_assets.assets.planning import dedup_plan, library_diff
from tidal_sync_assets.assets.tidal import tidal_snapshot
from tidal_sync_assets.checks import library_consistent
from tidal_sync_assets.jobs import sync_job
from tidal_sync_assets.resources import DiffMemoResource, resources_from_env
from tidal_sync_assets.schedules import nightly_sync
from tidal_sync_assets.sensors import sync_failures, tidal_changes

defs = Definitions(
    assets=[tidal_snapshot, filesystem_snapshot, library_diff, dedup_plan, playlist_library],
    asset_checks=[library_consistent],
    jobs=[sync_job],
    schedules=[nightly_sync],
    sensors=[tidal_changes, sync_failures],
    resources={**resources_from_env(), "diff_memo": DiffMemoResource()},
)
