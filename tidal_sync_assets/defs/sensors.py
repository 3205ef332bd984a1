"""Sensors: syncing what changed on TIDAL, and recording failed runs.

``dj_export_follows_library`` evaluates ``dj_export``'s automation condition
(on by default): the Rekordbox XML follows every library run in the UI.
``tidal_changes`` lists only the playlists (a few requests, never their
tracks), compares UUID + lastUpdated with its cursor, registers new
playlists as partitions and requests one sync run for what changed. It is
off by default and evaluates at most every 15 minutes: it never hammers
TIDAL. ``sync_failures`` writes every failed run to the product database.
"""

import json
from hashlib import sha1
from typing import Any

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from tidal_sync_assets.database.run_store import record_run_failure
from tidal_sync_assets.database.tidal_store import playlist_names
from tidal_sync_assets.defs.jobs import sync_job
from tidal_sync_assets.defs.partitions import range_tags, registration_for
from tidal_sync_assets.defs.resources import DatabaseResource, TidalResource
from tidal_sync_assets.tidal.fetch import list_playlists
from tidal_sync_assets.tidal.session import TidalLoginRequired, TidalUnavailable

SENSOR_INTERVAL_SECONDS = 15 * 60

dj_export_follows_library = AutomationConditionSensorDefinition(
    "dj_export_follows_library",
    target=AssetSelection.assets("dj_export"),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes dj_export after library runs (its automation condition).",
)


@sensor(
    job=sync_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.STOPPED,
    description="Lists TIDAL playlists (not their tracks) and syncs the ones whose "
    "lastUpdated moved; new playlists become partitions.",
)
def tidal_changes(
    context: SensorEvaluationContext, tidal: TidalResource
) -> SensorResult | SkipReason:
    try:
        listed = list_playlists(tidal.open(), include_favourites=tidal.include_favourites)
    except (TidalLoginRequired, TidalUnavailable) as error:
        return SkipReason(str(error))
    seen = json.loads(context.cursor) if context.cursor else {}
    current = {p.tidal_id: p.last_updated.isoformat() if p.last_updated else "" for p in listed}
    if current == seen:
        return SkipReason(f"nothing changed on TIDAL ({len(current)} playlists)")
    registration, keys = registration_for(context.instance, current)
    changed = sorted(uuid for uuid, stamp in current.items() if seen.get(uuid) != stamp)
    names = {p.tidal_id: p.name for p in listed}
    if changed:
        context.log.info(
            "changed on TIDAL: %s", ", ".join(f"{names[uuid]} ({uuid})" for uuid in changed)
        )
    for request in registration:
        context.log.info(
            "new partitions: %s",
            ", ".join(f"{names[uuid]} ({uuid})" for uuid in request.partition_keys or []),
        )
    cursor = json.dumps(current, sort_keys=True)
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key="tidal-changes-" + sha1(cursor.encode()).hexdigest()[:16],
                tags=range_tags(keys),
                run_config={"ops": {"playlist_library": {"config": {"playlists": changed}}}},
            )
        ]
        if keys
        else [],
        dynamic_partitions_requests=registration,
        cursor=cursor,
    )


@run_failure_sensor(
    monitored_jobs=[sync_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="Records every failed sync run (run, playlists, reason) in the product database.",
)
def sync_failures(context: RunFailureSensorContext, database: DatabaseResource) -> None:
    run = context.dagster_run
    reason = context.failure_event.message or "the run failed"
    config: dict[str, Any] = dict(run.run_config or {})
    ops: dict[str, Any] = config.get("ops", {})
    playlists = ops.get("playlist_library", {})
    asked = playlists.get("config", {}).get("playlists", [])
    engine = database.engine()
    record_run_failure(engine, run.run_id, asked, reason)
    names = playlist_names(engine)
    which = ", ".join(f"{names.get(uuid, uuid)} ({uuid})" for uuid in asked)
    context.log.error(
        "sync run %s failed%s: %s", run.run_id, f" (playlists {which})" if which else "", reason
    )
