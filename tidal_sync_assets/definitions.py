"""The ``tidal_sync_assets`` code location: assembles assets, jobs and resources.

Nothing is read from disk or the network here: the code server re-imports
this module, so all I/O happens when an asset runs.
"""

from dagster import Definitions

from tidal_sync_assets.assets.filesystem import filesystem_snapshot
from tidal_sync_assets.assets.library import playlist_library
from tidal_sync_assets.assets.planning import dedup_plan, library_diff
from tidal_sync_assets.assets.tidal import tidal_snapshot
from tidal_sync_assets.jobs import sync_job
from tidal_sync_assets.resources import resources_from_env

defs = Definitions(
    assets=[tidal_snapshot, filesystem_snapshot, library_diff, dedup_plan, playlist_library],
    jobs=[sync_job],
    resources=resources_from_env(),
)
