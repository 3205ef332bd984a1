"""The ``tidal_sync_assets`` code location: one ``Definitions`` per subject, merged.

Each subject keeps its assets, checks, sensors and schedules side by side: the TIDAL
side, the disk side, planning, the library, the DJ export; the resources are shared.

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
from tidal_sync_assets.defs.checks import library_consistent
from tidal_sync_assets.defs.jobs import sync_job
from tidal_sync_assets.defs.resources import DiffMemoResource, resources_from_env
from tidal_sync_assets.defs.schedules import nightly_sync
from tidal_sync_assets.defs.sensors import dj_export_follows_library, sync_failures, tidal_changes
from tidal_sync_assets.settings import read_setting


def tidal_side() -> Definitions:
    """What the account holds, and the sensor that notices it change."""
    return Definitions(assets=[tidal_snapshot], sensors=[tidal_changes])


def disk_side() -> Definitions:
    """What the library folder holds."""
    return Definitions(assets=[filesystem_snapshot])


def planning() -> Definitions:
    """From the two snapshots to the plan."""
    return Definitions(assets=[library_diff, dedup_plan])


def library() -> Definitions:
    """Carrying out the plan, checking the result, and running it all nightly."""
    return Definitions(
        assets=[playlist_library],
        asset_checks=[library_consistent],
        jobs=[sync_job],
        schedules=[nightly_sync(read_setting("cron"))],
        sensors=[sync_failures],
    )


def dj_side() -> Definitions:
    """The Rekordbox XML, following every library run."""
    return Definitions(assets=[dj_export], sensors=[dj_export_follows_library])


@definitions
def defs() -> Definitions:
    return Definitions.merge(
        tidal_side(),
        disk_side(),
        planning(),
        library(),
        dj_side(),
        Definitions(resources={**resources_from_env(), "diff_memo": DiffMemoResource()}),
    )
