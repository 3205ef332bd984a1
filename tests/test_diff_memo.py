"""The diff memo: ``dedup_plan`` reuses ``library_diff``'s diff only from the same run,
the same database and the same inputs, and only once."""

from __future__ import annotations

from datetime import UTC, datetime

from tidal_sync_assets.database.plan_inputs import PlanInputs
from tidal_sync_assets.planning.diff import compute_diff
from tidal_sync_assets.planning.state import LibraryState, PlaylistState
from tidal_sync_assets.services.plan import DiffMemo
from tidal_sync_assets.tidal.snapshot import TidalTrack

STATE = LibraryState(
    playlists=(PlaylistState("p1", "Mix", (1,)),),
    tracks={1: TidalTrack(1, "Song", ("Artist",))},
)
INPUTS = PlanInputs(snapshot_id=3, scan_id=5, settings="symlink .flac", placement=(2, 0, None))
DATABASE = "sqlite:///library.db"


def test_a_kept_diff_is_taken_once_for_the_same_database_and_inputs() -> None:
    memo, diff = DiffMemo(), compute_diff(STATE)
    memo.keep(DATABASE, INPUTS, STATE, diff)

    assert memo.take(DATABASE, INPUTS) == (STATE, diff)
    assert memo.take(DATABASE, INPUTS) is None  # taken: the next step computes its own


def test_a_newer_snapshot_scan_or_placement_or_another_database_takes_nothing() -> None:
    diff = compute_diff(STATE)
    later = datetime(2026, 1, 1, tzinfo=UTC)
    changed = [
        (DATABASE, PlanInputs(4, 5, INPUTS.settings, INPUTS.placement)),
        (DATABASE, PlanInputs(3, 6, INPUTS.settings, INPUTS.placement)),
        (DATABASE, PlanInputs(3, 5, "hardlink .flac", INPUTS.placement)),
        (DATABASE, PlanInputs(3, 5, INPUTS.settings, (2, 1, later))),  # an action ran
        ("sqlite:///other.db", INPUTS),
    ]
    for database, inputs in changed:
        memo = DiffMemo()
        memo.keep(DATABASE, INPUTS, STATE, diff)
        assert memo.take(database, inputs) is None, (database, inputs)
        assert memo.take(DATABASE, INPUTS) is None  # a miss empties it too
