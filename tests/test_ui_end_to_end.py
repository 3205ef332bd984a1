"""The Dagster UI end to end: syncing, a failing playlist and its backfill, over GraphQL.

A real ``dagster dev`` (webserver, daemon, code server) runs the product against a
sandbox TIDAL in this process. Everything is done as the UI does it, through the
webserver's GraphQL API: launch the planning assets, then the ``sync`` job over the
whole partition range (one run for every playlist), read the materializations back,
break one playlist's download on TIDAL's side, see that run fail naming it, and
backfill just that partition once TIDAL is well again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.fixtures.webserver import (
    GraphQL,
    UiWorld,
    launch_run,
    run_failures,
    sandbox_ui,
    wait_for_run,
)
from tidal_sync_assets.cli.sync import PLANNING_ASSETS
from tidal_sync_assets.database import RunFailure, make_engine
from tidal_sync_assets.defs.partitions import range_tags
from tidal_sync_assets.sandbox.catalog import Track
from tidal_sync_assets.sandbox.faults import FaultRule

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

WARM_UP = "5a1d0b00-0000-4000-8000-000000000001"
NEW_TRACK = Track(
    id=990_001,
    title="Fault Line",
    artists=("Sandbox Operator",),
    album="Fault Line EP",
    album_artist="Sandbox Operator",
    track_number=1,
    isrc="QZFLT9900001",
    duration=180,
    audio_seconds=0.5,
)
BACKFILL_TIMEOUT_SECONDS = 240.0

_PARTITIONS = """
query($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      partitionKeys
      partitionStats { numMaterialized numFailed numMaterializing numPartitions }
      assetPartitionStatuses {
        __typename
        ... on DefaultPartitionStatuses {
          materializedPartitions failedPartitions materializingPartitions unmaterializedPartitions
        }
      }
    }
  }
}
"""
_LATEST_MATERIALIZATION = """
query($key: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $key) {
    ... on Asset {
      assetMaterializations(limit: 1, partitions: $partitions) {
        runId
        partition
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on TextMetadataEntry { text }
          ... on MarkdownMetadataEntry { mdStr }
        }
      }
    }
  }
}
"""
_LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""
_BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      isAssetBackfill
      runs { runId status tags { key value } }
      error { message }
    }
  }
}
"""


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UiWorld]:
    with sandbox_ui(tmp_path) as world:
        yield world


def partition_state(graphql: GraphQL) -> dict[str, Any]:
    data = graphql(_PARTITIONS, {"key": {"path": ["playlist_library"]}})
    node = data["assetNodeOrError"]
    statuses = node["assetPartitionStatuses"]
    return {"keys": node["partitionKeys"], "stats": node["partitionStats"], **statuses}


def latest_metadata(
    graphql: GraphQL, asset: str, partition: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The run id and metadata (label → value) of the asset's latest materialization."""
    data = graphql(
        _LATEST_MATERIALIZATION,
        {"key": {"path": [asset]}, "partitions": [partition] if partition else None},
    )
    events = data["assetOrError"]["assetMaterializations"]
    assert events, f"{asset} {partition or ''} was never materialized"
    values = {
        entry["label"]: entry.get("intValue", entry.get("text", entry.get("mdStr")))
        for entry in events[0]["metadataEntries"]
    }
    return events[0]["runId"], values


def sync_through_the_ui(graphql: GraphQL) -> tuple[str, str]:
    """Plan, then one ``sync`` run over every playlist partition; both run ids."""
    planning = launch_run(graphql, "__ASSET_JOB", list(PLANNING_ASSETS))
    status = wait_for_run(graphql, planning)
    assert status == "SUCCESS", run_failures(graphql, planning)
    keys = partition_state(graphql)["keys"]
    assert keys, "tidal_snapshot registered no playlist partitions"
    library = launch_run(
        graphql,
        "sync",
        ["playlist_library"],
        tags=range_tags(keys),
    )
    wait_for_run(graphql, library)
    return planning, library


def test_sync_fail_one_playlist_and_backfill_it_through_the_ui(ui: UiWorld) -> None:
    graphql = ui.webserver.graphql
    started = time.monotonic()

    def phase(name: str) -> None:  # shown with -s: where the minutes go
        print(f"[ui e2e] {name} after {time.monotonic() - started:.0f} s")

    own = sorted(p.uuid for p in ui.sandbox.catalog.own_playlists())

    # A first full sync, as a user launches it from the UI.
    planning, library = sync_through_the_ui(graphql)

    assert wait_for_run(graphql, library) == "SUCCESS", run_failures(graphql, library)
    phase("first sync")
    plan_run, plan = latest_metadata(graphql, "dedup_plan")
    assert plan_run == planning
    assert plan["actions"] > 0 and plan["downloads"] > 0 and plan["held"] == "no"
    state = partition_state(graphql)
    assert sorted(state["keys"]) == own
    assert sorted(state["materializedPartitions"]) == own
    assert state["failedPartitions"] == []
    warm_up_run, warm_up = latest_metadata(graphql, "playlist_library", WARM_UP)
    assert warm_up_run == library and warm_up["done"] > 0 and warm_up["failed"] == 0
    assert len(list((ui.root / "Playlists").glob("*/*.m3u8"))) == len(own)

    # TIDAL gets a new track in Warm Up whose audio always answers 503.
    ui.sandbox.catalog.put_track(NEW_TRACK)
    ui.sandbox.catalog.add_playlist_tracks(WARM_UP, [NEW_TRACK.id])
    broken = ui.sandbox.faults.add(
        FaultRule(path=rf"^/_audio/{NEW_TRACK.id}[./]", status=503, times=None)
    )

    _, failing = sync_through_the_ui(graphql)

    assert wait_for_run(graphql, failing) == "FAILURE"
    phase("failing sync")
    failures = "\n".join(run_failures(graphql, failing))
    assert WARM_UP in failures and "1 playlist(s) failed" in failures, failures
    _, plan = latest_metadata(graphql, "dedup_plan")
    assert plan["downloads"] == 1, plan
    state = partition_state(graphql)
    # Only Warm Up failed: the other playlists were materialized by the same run.
    assert state["failedPartitions"] == [WARM_UP], state
    assert sorted(state["materializedPartitions"]) == [u for u in own if u != WARM_UP], state
    assert state["stats"]["numFailed"] == 1, state
    for other in (u for u in own if u != WARM_UP):
        assert latest_metadata(graphql, "playlist_library", other)[0] == failing

    # TIDAL is well again: backfill just the failed partition.
    ui.sandbox.faults.clear()
    assert broken.times is None  # it fired on every attempt and never retired
    launched = graphql(
        _LAUNCH_BACKFILL,
        {
            "params": {
                "assetSelection": [{"path": ["playlist_library"]}],
                "partitionNames": [WARM_UP],
                "fromFailure": False,
                "title": "retry Warm Up",
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched

    # Meanwhile the failure sensor (running in dagster dev's daemon) records the failed
    # run: its tick and the backfill daemon's are independent, so they are awaited together.
    assert wait_for_failure_record(ui.database_url, failing), "sync_failures did not record it"
    phase("failure recorded by the sensor")
    backfill = wait_for_backfill(graphql, launched["backfillId"])
    phase("backfill")

    why = {run["runId"]: run_failures(graphql, run["runId"]) for run in backfill["runs"]}
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), (
        backfill,
        why,
        ui.webserver.log_tail(),
    )
    assert backfill["isAssetBackfill"]
    assert [run["status"] for run in backfill["runs"]] == ["SUCCESS"], (backfill, why)
    backfill_run = backfill["runs"][0]["runId"]
    run_id, warm_up = latest_metadata(graphql, "playlist_library", WARM_UP)
    assert run_id == backfill_run and warm_up["failed"] == 0 and warm_up["done"] >= 1
    state = partition_state(graphql)
    assert sorted(state["materializedPartitions"]) == own, state
    assert state["failedPartitions"] == [], state
    assert ui.sandbox.faults.rules() == []
    new_files = [p for p in (ui.root / "Playlists").rglob("*Fault Line*") if p.is_file()]
    assert len(new_files) == 1, new_files


def wait_for_failure_record(database_url: str, run_id: str, timeout: float = 90.0) -> bool:
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                found = connection.execute(
                    select(RunFailure.run_id).where(RunFailure.run_id == run_id)
                ).first()
            if found:
                return True
            time.sleep(1)
        return False
    finally:
        engine.dispose()


def wait_for_backfill(graphql: GraphQL, backfill_id: str) -> dict[str, Any]:
    """Poll until the backfill daemon has finished the backfill and its runs."""
    deadline = time.monotonic() + BACKFILL_TIMEOUT_SECONDS
    backfill: dict[str, Any] = {}
    while time.monotonic() < deadline:
        backfill = graphql(_BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        runs_done = all(
            run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in backfill["runs"]
        )
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING") and runs_done:
            return backfill
        time.sleep(1)
    raise TimeoutError(f"backfill {backfill_id} did not finish: {backfill}")
