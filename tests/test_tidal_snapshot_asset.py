"""The ``tidal_snapshot`` asset, materialized through Dagster against the sandbox TIDAL.

Real parts only: the real tidalapi over HTTP to the sandbox, the product
database on SQLite and PostgreSQL, an ephemeral Dagster instance.

Scenarios: a first snapshot persists playlists, tracks and positions and
registers one partition per playlist; a renamed playlist shows in the table
of changes; an unchanged account costs no playlist-track requests; a 2,500-
track playlist comes back whole; a truncated page fails the blocking check,
stops ``library_diff`` and keeps the watermark; removals on TIDAL are marked,
not lost; 429s are waited out; expired tokens are refreshed without leaking;
an unreachable TIDAL or a missing login fail in one clear sentence.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetsDefinition,
    DagsterInstance,
    ExecuteInProcessResult,
    materialize,
    serialize_value,
)
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.fixtures.sandbox import BIG_PLAYLIST, track_requests
from tidal_sync_assets.assets.filesystem import filesystem_snapshot
from tidal_sync_assets.assets.planning import dedup_plan, library_diff
from tidal_sync_assets.assets.tidal import COMPLETE_CHECK, tidal_snapshot
from tidal_sync_assets.database.models import (
    Playlist,
    PlaylistSyncStatus,
    PlaylistTrack,
    TidalSnapshotRecord,
    Track,
    TrackSyncStatus,
)
from tidal_sync_assets.defs.partitions import PLAYLIST_PARTITIONS
from tidal_sync_assets.defs.resources import (
    DatabaseResource,
    DiffMemoResource,
    LibraryResource,
    TidalResource,
)
from tidal_sync_assets.sandbox.catalog import Playlist as CatalogPlaylist
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.tidal.login import login

WARM_UP = "5a1d0b00-0000-4000-8000-000000000001"  # 11 entries, track 1003 at 2 and 10
PEAK_TIME = "5a1d0b00-0000-4000-8000-000000000002"
DEEP_HOUSE = "5a1d0b00-0000-4000-8000-000000000008"


@dataclass
class Sync:
    """One library's Dagster instance, product database and TIDAL login, materialized at will."""

    instance: DagsterInstance
    database: DatabaseResource
    tidal: TidalResource
    library: LibraryResource

    @property
    def engine(self) -> Engine:
        return self.database.engine()

    def materialize(
        self, assets: Sequence[AssetsDefinition] = (tidal_snapshot,), **tidal: Any
    ) -> ExecuteInProcessResult:
        resources: dict[str, Any] = {
            "database": self.database,
            # A new resource: pydantic's model_copy would not reach Dagster's config.
            "tidal": TidalResource(**{**self.tidal.model_dump(), **tidal}),
        }
        if library_diff in assets or dedup_plan in assets:
            resources["library"] = self.library
            resources["diff_memo"] = DiffMemoResource()
        return materialize(
            list(assets), instance=self.instance, resources=resources, raise_on_error=False
        )


@pytest.fixture
def session_file(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """A session file written by the product's own device-code login."""
    path = tmp_path / "config" / "session.json"
    login(path, sandbox.base_url, print_fn=lambda _: None)
    return path


def _sync(database_url: str, sandbox: SandboxServer, session_file: Path, tmp_path: Path) -> Sync:
    return Sync(
        instance=DagsterInstance.ephemeral(),
        database=DatabaseResource(url=database_url),
        tidal=TidalResource(
            session_file=str(session_file),
            api_base=sandbox.base_url,
            requests_per_second=1000,
            retry_backoff_seconds=0.05,
            patience_seconds=2,
        ),
        library=LibraryResource(root=str(tmp_path / "library")),
    )


@pytest.fixture
def sync(
    database_url: str, sandbox: SandboxServer, session_file: Path, tmp_path: Path
) -> Iterator[Sync]:
    """On SQLite and on PostgreSQL."""
    made = _sync(database_url, sandbox, session_file, tmp_path)
    yield made
    made.engine.dispose()  # before the PostgreSQL database is dropped
    made.instance.dispose()


@pytest.fixture
def sqlite_sync(
    sqlite_url: str, sandbox: SandboxServer, session_file: Path, tmp_path: Path
) -> Iterator[Sync]:
    """On SQLite only: for the scenarios about TIDAL rather than the database."""
    made = _sync(sqlite_url, sandbox, session_file, tmp_path)
    yield made
    made.engine.dispose()
    made.instance.dispose()


# Reading back what happened ------------------------------------------------------------------


def snapshot_metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    (materialization,) = result.asset_materializations_for_node("tidal_snapshot")
    return {key: value.value for key, value in materialization.metadata.items()}


def changes(result: ExecuteInProcessResult) -> list[tuple[str, str, int | None, int | None]]:
    """The snapshot's table "changed since last snapshot": (playlist, change, added, dropped)."""
    table = snapshot_metadata(result)["changed since last snapshot"]
    return [
        (r.data["playlist"], r.data["change"], r.data.get("added"), r.data.get("dropped"))
        for r in table.records
    ]


def check_passed(result: ExecuteInProcessResult) -> bool:
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == COMPLETE_CHECK
    return evaluation.passed


def started_steps(result: ExecuteInProcessResult) -> set[str]:
    return {e.step_key or "" for e in result.all_events if e.event_type_value == "STEP_START"}


def failure_description(result: ExecuteInProcessResult) -> str:
    assert not result.success
    (failure,) = result.get_step_failure_events()
    user_failure = failure.step_failure_data.user_failure_data
    assert user_failure is not None, failure.step_failure_data.error
    return str(user_failure.description)


def positions(engine: Engine, uuid: str) -> list[tuple[int | None, int, str, bool, str | None]]:
    """(position, TIDAL track id, sync status, is_primary, symlink_path) in position order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                PlaylistTrack.position,
                Track.tidal_id,
                PlaylistTrack.sync_status,
                PlaylistTrack.is_primary,
                PlaylistTrack.symlink_path,
            )
            .join(Track, Track.id == PlaylistTrack.track_id)
            .join(Playlist, Playlist.id == PlaylistTrack.playlist_id)
            .where(Playlist.tidal_id == uuid)
        ).all()
    return sorted(
        ((p, t, str(s), bool(i), link) for p, t, s, i, link in rows),
        key=lambda r: (r[0] is None, r[0] or 0, r[1]),
    )


def tidal_order(engine: Engine, uuid: str) -> list[int]:
    return [track for position, track, *_ in positions(engine, uuid) if position is not None]


def playlist_row(engine: Engine, uuid: str) -> Playlist:
    with Session(engine) as session:
        return session.scalars(select(Playlist).where(Playlist.tidal_id == uuid)).one()


def snapshot_rows(engine: Engine) -> list[TidalSnapshotRecord]:
    with Session(engine) as session:
        return list(session.scalars(select(TidalSnapshotRecord).order_by(TidalSnapshotRecord.id)))


def as_utc(moment: datetime | None) -> datetime | None:
    # SQLite hands timezone-aware columns back naive (in UTC).
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


# Scenarios -----------------------------------------------------------------------------------


def test_a_snapshot_persists_playlists_positions_partitions_and_what_changed(
    sandbox: SandboxServer, sync: Sync
) -> None:
    catalog = sandbox.catalog
    own = catalog.own_playlists()

    first = sync.materialize()

    assert first.success and check_passed(first)
    with sync.engine.connect() as connection:
        stored = dict(connection.execute(select(Playlist.tidal_id, Playlist.name)).tuples().all())
        tracks = set(connection.execute(select(Track.tidal_id)).scalars().all())
    assert stored == {p.uuid: p.title for p in own}
    assert tracks == {t for p in own for t in p.track_ids}
    for playlist in own:
        assert tidal_order(sync.engine, playlist.uuid) == list(playlist.track_ids)
    # A track twice in one playlist keeps both of its positions.
    assert [p for p, t, *_ in positions(sync.engine, WARM_UP) if t == 1003] == [2, 10]
    warm_up = playlist_row(sync.engine, WARM_UP)
    assert warm_up.fetch_complete and warm_up.number_of_tracks == 11
    assert as_utc(warm_up.fetched_last_updated) == catalog.playlist(WARM_UP).last_updated  # type: ignore[union-attr]
    (record,) = snapshot_rows(sync.engine)
    assert record.complete and record.playlists == len(own)
    assert record.entries == sum(len(p.track_ids) for p in own)
    assert set(sync.instance.get_dynamic_partitions(PLAYLIST_PARTITIONS)) == {p.uuid for p in own}

    metadata = snapshot_metadata(first)
    assert metadata["playlists"] == len(own)
    assert metadata["tracks fetched"] == len(tracks)
    assert metadata["entries"] == record.entries
    assert metadata["requests made"] == record.requests_made > len(own)  # a page per playlist
    assert metadata["new partitions"] == len(own)
    assert [change for _, change, *_ in changes(first)] == ["new"] * len(own)

    catalog.rename_playlist(PEAK_TIME, "Peak Time | Techno")
    second = sync.materialize()

    assert second.success and check_passed(second)
    assert playlist_row(sync.engine, PEAK_TIME).name == "Peak Time | Techno"
    metadata = snapshot_metadata(second)
    assert metadata["playlists fetched again"] == 1
    assert metadata["new partitions"] == 0
    # The one renamed playlist, its name whole (a "|" in it needs no escaping in a table).
    assert changes(second) == [("Peak Time | Techno", "renamed", 0, 0)]
    assert len(snapshot_rows(sync.engine)) == 2


def test_an_unchanged_account_makes_no_playlist_track_requests(
    sandbox: SandboxServer, sqlite_sync: Sync
) -> None:
    assert sqlite_sync.materialize().success
    sandbox.clear_log()

    again = sqlite_sync.materialize()

    assert again.success and check_passed(again)
    assert track_requests(sandbox) == []
    metadata = snapshot_metadata(again)
    assert metadata["playlists fetched again"] == 0
    assert metadata["requests made"] == 1  # the listing page
    assert changes(again) == []
    assert tidal_order(sqlite_sync.engine, WARM_UP) == list(
        sandbox.catalog.playlist(WARM_UP).track_ids  # type: ignore[union-attr]
    )


def test_a_2500_track_playlist_is_stored_whole(
    sandbox: SandboxServer, sync: Sync, big_playlist: CatalogPlaylist
) -> None:
    result = sync.materialize()

    assert result.success and check_passed(result)
    assert tidal_order(sync.engine, BIG_PLAYLIST) == list(big_playlist.track_ids)
    assert [p for p, t, *_ in positions(sync.engine, BIG_PLAYLIST) if t == 5_000_000] == [0, 2499]
    assert playlist_row(sync.engine, BIG_PLAYLIST).fetch_complete
    assert BIG_PLAYLIST in sync.instance.get_dynamic_partitions(PLAYLIST_PARTITIONS)


def plan_metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    (materialization,) = result.asset_materializations_for_node("dedup_plan")
    return {key: value.value for key, value in materialization.metadata.items()}


def test_the_planning_run_hands_its_diff_to_the_plan_and_a_later_run_diffs_again(
    sqlite_sync: Sync,
) -> None:
    """One planning run loads and diffs the library once: ``dedup_plan`` takes the
    diff ``library_diff`` kept in the run's memo. The memo lives as long as the run:
    a plan made in another run diffs again, and comes out the same."""
    planning = (tidal_snapshot, filesystem_snapshot, library_diff, dedup_plan)
    first = sqlite_sync.materialize(planning)
    assert first.success
    planned = plan_metadata(first)
    assert planned["recomputed"] and planned["diff reused from library_diff"] is True
    assert planned["actions"] > 0  # an empty library: every track is downloaded

    diffed = sqlite_sync.materialize((library_diff,))
    assert diffed.success
    alone = sqlite_sync.materialize((dedup_plan,))
    assert alone.success
    again = plan_metadata(alone)
    assert again["recomputed"] and again["diff reused from library_diff"] is False
    same = ("actions", "downloads", "downloads avoided by dedup", "by playlist")
    assert {k: again[k] for k in same} == {k: planned[k] for k in same}


def test_a_truncated_page_fails_the_blocking_check_stops_the_diff_and_keeps_the_watermark(
    sandbox: SandboxServer, sqlite_sync: Sync, big_playlist: CatalogPlaylist
) -> None:
    engine = sqlite_sync.engine
    graph = (tidal_snapshot, library_diff)
    assert sqlite_sync.materialize().success
    watermark = playlist_row(engine, BIG_PLAYLIST).fetched_last_updated
    # The big playlist changes on TIDAL, and its fourth page is cut short on every try
    # (one cut body alone is retried by the transport and heals).
    sandbox.catalog.remove_playlist_tracks(BIG_PLAYLIST, [5_000_001])
    sandbox.faults.add(
        FaultRule(
            path=f"/v1/playlists/{BIG_PLAYLIST}/tracks.*offset=300",
            kind="truncate",
            after_bytes=500,
            times=None,
        )
    )

    held = sqlite_sync.materialize(graph)

    assert not check_passed(held)
    assert held.asset_materializations_for_node("tidal_snapshot")  # the snapshot is recorded
    assert not held.asset_materializations_for_node("library_diff")
    # The blocking check fails the snapshot's step, so library_diff never starts.
    assert started_steps(held) == {"tidal_snapshot"}
    (failure,) = held.get_step_failure_events()
    assert failure.step_failure_data.error is not None
    assert failure.step_failure_data.error.cls_name == "DagsterAssetCheckFailedError"
    assert sqlite_sync.instance.get_latest_materialization_event(AssetKey("library_diff")) is None
    record = snapshot_rows(engine)[-1]
    assert not record.complete and json.loads(record.incomplete_playlists or "") == [BIG_PLAYLIST]
    big = playlist_row(engine, BIG_PLAYLIST)
    assert not big.fetch_complete and big.fetched_last_updated == watermark
    assert tidal_order(engine, BIG_PLAYLIST) == list(big_playlist.track_ids)  # nothing dropped
    assert "incomplete" in {change for name, change, *_ in changes(held) if name == "Everything"}

    sandbox.faults.clear()
    sandbox.clear_log()
    healed = sqlite_sync.materialize(graph)

    assert healed.success and check_passed(healed)
    assert track_requests(sandbox) == track_requests(sandbox, BIG_PLAYLIST) != []
    assert tidal_order(engine, BIG_PLAYLIST) == [
        t for t in big_playlist.track_ids if t != 5_000_001
    ]
    big = playlist_row(engine, BIG_PLAYLIST)
    assert big.fetch_complete and big.fetched_last_updated != watermark
    assert healed.asset_materializations_for_node("library_diff")  # unblocked once whole


def test_removals_on_tidal_are_marked_and_only_placed_entries_are_kept(
    sandbox: SandboxServer, sync: Sync
) -> None:
    engine = sync.engine
    assert sync.materialize().success
    # What the library placed: a link for 1008 and the primary of 1009 in Peak Time;
    # nothing yet for 1010.
    with engine.begin() as connection:
        ids = dict(connection.execute(select(Track.tidal_id, Track.id)).tuples().all())
        peak = connection.execute(select(Playlist.id).where(Playlist.tidal_id == PEAK_TIME))
        peak_id = peak.scalar_one()
        placed: dict[int, dict[str, Any]] = {
            1008: {"symlink_path": "Playlists/x/a.flac"},
            1009: {"is_primary": True},
        }
        for track, values in placed.items():
            connection.execute(
                update(PlaylistTrack)
                .where(PlaylistTrack.playlist_id == peak_id, PlaylistTrack.track_id == ids[track])
                .values(sync_status=TrackSyncStatus.SYNCED, **values)
            )
    deep_house = list(sandbox.catalog.playlist(DEEP_HOUSE).track_ids)  # type: ignore[union-attr]
    sandbox.catalog.remove_playlist(DEEP_HOUSE)
    sandbox.catalog.remove_playlist_tracks(PEAK_TIME, [1008, 1009, 1010])

    result = sync.materialize()

    assert result.success and check_passed(result)
    gone = playlist_row(engine, DEEP_HOUSE)
    assert gone.removed_from_tidal and gone.sync_status == PlaylistSyncStatus.NEEDS_REMOVAL
    assert tidal_order(engine, DEEP_HOUSE) == deep_house  # kept for the library to clean up
    assert DEEP_HOUSE in sync.instance.get_dynamic_partitions(PLAYLIST_PARTITIONS)
    dropped = [row for row in positions(engine, PEAK_TIME) if row[0] is None]
    assert dropped == [
        (None, 1008, TrackSyncStatus.NEEDS_REMOVAL.value, False, "Playlists/x/a.flac"),
        (None, 1009, TrackSyncStatus.NEEDS_REMOVAL.value, True, None),
    ]
    assert tidal_order(engine, PEAK_TIME) == [1078, 1011, 1012, 1013, 1014, 1001, 1080]
    table = changes(result)
    assert "removed" in {change for name, change, *_ in table if name == "Deep House"}
    assert ("Peak Time Techno", "tracks changed", 0, 3) in table

    # A later change to the playlist does not count the pending removals again ...
    sandbox.catalog.update_playlist(PEAK_TIME, description="renovated")
    later = sync.materialize()
    assert not [name for name, *_ in changes(later) if "Peak Time" in name]
    assert [row[1] for row in positions(engine, PEAK_TIME) if row[0] is None] == [1008, 1009]

    # ... and a track added back before the cleanup keeps its link and is no longer leaving.
    sandbox.catalog.add_playlist_tracks(PEAK_TIME, [1008])
    back = sync.materialize()
    assert ("Peak Time Techno", "tracks changed", 1, 0) in changes(back)
    assert positions(engine, PEAK_TIME)[-2:] == [
        (7, 1008, TrackSyncStatus.UNKNOWN.value, False, "Playlists/x/a.flac"),
        (None, 1009, TrackSyncStatus.NEEDS_REMOVAL.value, True, None),
    ]


def test_a_429_is_waited_out_for_its_retry_after(sandbox: SandboxServer, sqlite_sync: Sync) -> None:
    sandbox.faults.add(FaultRule(path="/v1/playlists/.*/tracks", status=429, retry_after=1))
    started = time.monotonic()
    result = sqlite_sync.materialize()

    assert time.monotonic() - started >= 1.0
    assert result.success and check_passed(result)
    assert [status for *_, status in track_requests(sandbox)][:2] == [429, 200]


def test_an_expired_token_is_refreshed_saved_and_never_shown(
    sandbox: SandboxServer,
    sqlite_sync: Sync,
    session_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    before = json.loads(session_file.read_text())
    sandbox.faults.add(FaultRule(path="/v1/playlists/.*/tracks", kind="expire_token"))

    result = sqlite_sync.materialize()

    assert result.success and check_passed(result)
    after = json.loads(session_file.read_text())
    assert after["access_token"]["data"] != before["access_token"]["data"]
    assert any(status == 401 for *_, status in track_requests(sandbox))
    secrets = {
        before["access_token"]["data"],
        before["refresh_token"]["data"],
        after["access_token"]["data"],
    }
    assert "refreshed" in caplog.text
    shown = [
        caplog.text,
        *(serialize_value(entry) for entry in sqlite_sync.instance.all_logs(result.run_id)),
        serialize_value(result.asset_materializations_for_node("tidal_snapshot")),
    ]
    for secret in secrets:
        # Also no fragment long enough to rebuild a token from (their signature part).
        for text in shown:
            assert secret not in text
            assert secret.rsplit(".", 1)[-1] not in text


def test_an_unreachable_tidal_fails_in_one_sentence_naming_the_origin(
    sqlite_sync: Sync, session_file: Path
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    tokens = json.loads(session_file.read_text())

    result = sqlite_sync.materialize(api_base=closed)

    description = failure_description(result)
    assert description.startswith(f"TIDAL could not be reached at {closed} ")
    assert "try again" in description
    assert_one_clear_sentence(description)
    for key in ("access_token", "refresh_token"):
        assert tokens[key]["data"] not in description
    assert not snapshot_rows(sqlite_sync.engine)


def test_a_missing_session_file_fails_asking_to_log_in(
    sqlite_sync: Sync, tmp_path: Path, sandbox: SandboxServer
) -> None:
    sandbox.clear_log()
    result = sqlite_sync.materialize(session_file=str(tmp_path / "nowhere" / "session.json"))

    description = failure_description(result)
    assert "`tidal-sync login`" in description
    assert str(tmp_path / "nowhere" / "session.json") in description
    assert_one_clear_sentence(description)
    assert sandbox.request_log == []
    assert sqlite_sync.instance.get_dynamic_partitions(PLAYLIST_PARTITIONS) == []


def assert_one_clear_sentence(text: str) -> None:
    assert text.endswith(".") and ". " not in text and "\n" not in text
    assert "Traceback" not in text and 'File "' not in text


def test_a_playlist_fetched_again_rewrites_only_the_entries_that_moved(
    sandbox: SandboxServer, sync: Sync
) -> None:
    """A track added at the end of a playlist leaves its other entries' rows as they are;
    after one removed at the front, every entry moved up. Either way the positions are
    TIDAL's order."""

    def row_ids() -> dict[int, int]:  # position -> row id
        with sync.engine.connect() as connection:
            return dict(
                connection.execute(
                    select(PlaylistTrack.position, PlaylistTrack.id)
                    .join(Playlist, Playlist.id == PlaylistTrack.playlist_id)
                    .where(Playlist.tidal_id == PEAK_TIME, PlaylistTrack.position.is_not(None))
                )
                .tuples()
                .all()
            )

    assert sync.materialize().success
    before = row_ids()
    sandbox.catalog.add_playlist_tracks(PEAK_TIME, [1002])

    assert sync.materialize().success

    after = row_ids()
    assert {p: after[p] for p in before} == before  # untouched
    assert len(after) == len(before) + 1
    order = list(sandbox.catalog.playlist(PEAK_TIME).track_ids)  # type: ignore[union-attr]
    assert tidal_order(sync.engine, PEAK_TIME) == order

    sandbox.catalog.remove_playlist_tracks(PEAK_TIME, [order[0]])
    assert sync.materialize().success
    assert tidal_order(sync.engine, PEAK_TIME) == order[1:]
