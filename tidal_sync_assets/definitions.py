"""The ``tidal_sync_assets`` code location: assembles assets, checks, jobs,
schedules, sensors and resources.

``defs`` is a ``@definitions`` function: Dagster (and the command line) call it to
load the definitions, and only then is the environment read (the resources' variables,
the schedule's cron). Importing this module reads nothing and touches neither the
disk nor the network; all I/O happens when an asset, check or sensor runs.
"""

from dagster import Definitions, definitions

from tidal_sync_assets.assets.export import dj_export
from tidal_sync_assets.assets.filesystem import filesystem_snapshot
from tidal_sync_assets.assets.library import playlist_library
from tidal_sync_assets.assets.planning import dedup_plan, library_diff
from tidal_sync_assets.assets.tidal import tidal_snapshot
from tidal_sync_assets.checks import library_consistent
from tidal_sync_assets.jobs import sync_job
from tidal_sync_assets.resources import DiffMemoResource, resources_from_env
from tidal_sync_assets.schedules import nightly_sync
from tidal_sync_assets.sensors import dj_export_follows_library, sync_failures, tidal_changes
from tidal_sync_assets.settings import read_setting


@definitions
def defs() -> Definitions:
    return Definitions(
        assets=[
            tidal_snapshot,
            filesystem_snapshot,
            library_diff,
            dedup_plan,
            playlist_library,
            dj_export,
        ],
        asset_checks=[library_consistent],
        jobs=[sync_job],
        schedules=[nightly_sync(read_setting("cron"))],
        sensors=[tidal_changes, sync_failures, dj_export_follows_library],
        resources={**resources_from_env(), "diff_memo": DiffMemoResource()},
    )
