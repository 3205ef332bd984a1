"""The nightly full sync (cron from ``TIDAL_SYNC_CRON``, default 03:00 every day)."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from tidal_sync_assets.defs.jobs import sync_job
from tidal_sync_assets.defs.partitions import playlist_keys, range_tags


def nightly_sync(cron: str) -> ScheduleDefinition:
    """The schedule on ``cron``: built when the definitions load, which read the setting."""

    @schedule(
        name="nightly_sync",
        job=sync_job,
        cron_schedule=cron,
        default_status=DefaultScheduleStatus.STOPPED,
        description="A full sync every night: all playlists in one run.",
    )
    def run_all_playlists(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        keys = playlist_keys(context.instance)
        if not keys:
            return SkipReason("no playlists known yet: run `tidal-sync sync` once first")
        return RunRequest(tags=range_tags(keys))

    return run_all_playlists
