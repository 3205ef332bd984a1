"""The TIDAL change sensor on a real instance, against the sandbox TIDAL over HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from tidal_sync_assets.defs.partitions import PLAYLIST_PARTITIONS
from tidal_sync_assets.defs.resources import TidalResource
from tidal_sync_assets.defs.sensors import tidal_changes
from tidal_sync_assets.sandbox.catalog import Playlist
from tidal_sync_assets.sandbox.server import SandboxServer


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.fixture
def tidal(sandbox: SandboxServer, sandbox_session_file: Path) -> TidalResource:
    return TidalResource(
        session_file=str(sandbox_session_file),
        api_base=sandbox.base_url,
        requests_per_second=1000,
        patience_seconds=2,
    )


class Lines(logging.Handler):
    """The lines a sensor logs on its tick (what the UI shows under the tick)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def evaluate(
    instance: DagsterInstance, tidal: TidalResource, cursor: str | None, log: Lines | None = None
) -> SensorResult | SkipReason:
    context = build_sensor_context(instance=instance, cursor=cursor, resources={"tidal": tidal})
    if log is not None:
        context.log.addHandler(log)
    result = tidal_changes(context)
    assert isinstance(result, SensorResult | SkipReason)
    return result


def apply(instance: DagsterInstance, result: SensorResult) -> None:
    """What the daemon does with a sensor's partition requests."""
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(PLAYLIST_PARTITIONS, list(request.partition_keys or []))


def test_first_evaluation_registers_every_playlist_and_requests_one_run(
    instance: DagsterInstance, tidal: TidalResource, sandbox: SandboxServer
) -> None:
    result = evaluate(instance, tidal, None)

    assert isinstance(result, SensorResult)
    registered = set(result.dynamic_partitions_requests[0].partition_keys or [])
    assert registered == {p.uuid for p in sandbox.catalog.playlists() if not p.favourite}
    assert len(result.run_requests or []) == 1
    assert json.loads(result.cursor or "{}").keys() == registered


def test_nothing_changed_is_a_skip_with_a_reason_and_the_same_cursor(
    instance: DagsterInstance, tidal: TidalResource, sandbox: SandboxServer
) -> None:
    first = evaluate(instance, tidal, None)
    assert isinstance(first, SensorResult)
    apply(instance, first)
    sandbox.clear_log()

    second = evaluate(instance, tidal, first.cursor)

    assert isinstance(second, SkipReason)
    assert "nothing changed" in (second.skip_message or "")
    assert not [p for _, p, _ in sandbox.request_log if "/tracks" in p or "/items" in p]


def test_a_new_playlist_becomes_a_partition_and_a_run_for_it(
    instance: DagsterInstance, tidal: TidalResource, sandbox: SandboxServer
) -> None:
    first = evaluate(instance, tidal, None)
    assert isinstance(first, SensorResult)
    apply(instance, first)
    some = sandbox.catalog.playlists()[0]
    new = replace(
        some,
        uuid="0badc0de-0000-4000-8000-000000000001",
        title="Fresh Finds",
        last_updated=datetime.now(UTC),
    )
    sandbox.catalog.put_playlist(new)

    log = Lines()
    result = evaluate(instance, tidal, first.cursor, log)

    assert isinstance(result, SensorResult)
    assert [list(r.partition_keys or []) for r in result.dynamic_partitions_requests] == [
        [new.uuid]
    ]
    # The tick's log names the playlist, not only its partition key.
    assert log.lines == [
        f"changed on TIDAL: Fresh Finds ({new.uuid})",
        f"new partitions: Fresh Finds ({new.uuid})",
    ]
    (run,) = result.run_requests or []
    config = run.run_config["ops"]["playlist_library"]["config"]
    assert config["playlists"] == [new.uuid]
    assert run.tags["dagster/asset_partition_range_end"] == new.uuid


def test_a_renamed_playlist_keeps_its_partition(
    instance: DagsterInstance, tidal: TidalResource, sandbox: SandboxServer
) -> None:
    first = evaluate(instance, tidal, None)
    assert isinstance(first, SensorResult)
    apply(instance, first)
    target: Playlist = next(p for p in sandbox.catalog.playlists() if not p.favourite)
    before = set(instance.get_dynamic_partitions(PLAYLIST_PARTITIONS))
    sandbox.catalog.rename_playlist(target.uuid, "Renamed On TIDAL")

    result = evaluate(instance, tidal, first.cursor)

    assert isinstance(result, SensorResult)
    assert not result.dynamic_partitions_requests
    (run,) = result.run_requests or []
    assert run.run_config["ops"]["playlist_library"]["config"]["playlists"] == [target.uuid]
    assert set(instance.get_dynamic_partitions(PLAYLIST_PARTITIONS)) == before


def test_a_missing_login_is_a_skip_that_says_what_to_do(
    instance: DagsterInstance, sandbox: SandboxServer, tmp_path: Path
) -> None:
    tidal = TidalResource(session_file=str(tmp_path / "absent.json"), api_base=sandbox.base_url)

    result = evaluate(instance, tidal, None)

    assert isinstance(result, SkipReason)
    assert "tidal-sync login" in (result.skip_message or "")
