"""The nightly full sync (cron from ``TIDAL_SYNC_CRON``, default 03:00 every day)."""

import os

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from tidal_sync_assets.jobs import sync_job
from tidal_sync_assets.partitions import playlist_keys, range_tags

NIGHTLY_CRON = os.environ.get("TIDAL_SYNC_CRON", "0 3 * * *")


@schedule(
    job=sync_job,
    cron_schedule=NIGHTLY_CRON,
    default_status=DefaultScheduleStatus.STOPPED,
    description="A full sync every night: all playlists in one run.",
)
def nightly_sync(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    keys = playlist_keys(context.instance)
    if not keys:
        return SkipReason("no playlists known yet: run `tidal-sync sync` once first")
    return RunRequest(tags=range_tags(keys))
