"""The planning service: one entry point from the database to a diff, and to a plan.

``current_diff`` is what both ``library_diff`` and ``dedup_plan`` call: it reads
what a plan would be computed from, says when the latest empty plan still holds,
and otherwise loads the state (the stored scan's matches included: files are not
matched again) and diffs it, or takes the diff a ``DiffMemo`` kept earlier in
the same run. ``record_diff`` writes the status fields; ``make_plan`` builds,
guards and stores the plan. Dagster-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tidal_sync_assets.database import plan_inputs, plan_store, scan_store, status_store
from tidal_sync_assets.database.plan_inputs import PlanInputs
from tidal_sync_assets.database.tidal_store import load_tracks
from tidal_sync_assets.dj.keys import KEY_NOTATIONS, KeyNotation
from tidal_sync_assets.dj.tags import dj_tags
from tidal_sync_assets.planning.diff import Diff, compute_diff
from tidal_sync_assets.planning.extension import planned_extension
from tidal_sync_assets.planning.guard import removal_hold
from tidal_sync_assets.planning.plan import Plan, build_plan
from tidal_sync_assets.planning.state import LibraryState, adoption_matches
from tidal_sync_assets.planning.status import diff_statuses
from tidal_sync_assets.settings import LinkMode, M3U8Paths


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """What a plan depends on besides the database: link mode, file extension, the key
    notation of the DJ tags and what M3U8 entries name."""

    link_mode: LinkMode
    extension: str
    key_notation: KeyNotation = "classic"
    m3u8_paths: M3U8Paths = "folder"

    @classmethod
    def of(
        cls, link_mode: LinkMode, quality: str, key_notation: KeyNotation, m3u8_paths: M3U8Paths
    ) -> PlanSettings:
        return cls(link_mode, planned_extension(quality), key_notation, m3u8_paths)

    @property
    def key(self) -> str:
        return plan_inputs.settings_key(
            self.link_mode, self.extension, self.key_notation, self.m3u8_paths
        )


class DiffMemo:
    """A diff computed earlier in the same run, for the next step that needs it.

    ``library_diff`` keeps its state and diff; ``dedup_plan`` takes them instead of
    loading and diffing again, only while the database and everything they were
    computed from (``PlanInputs``) are unchanged. Taking empties the memo. A run
    holds one (the ``diff_memo`` resource); a step in another process starts empty.
    """

    def __init__(self) -> None:
        self._kept: tuple[str, PlanInputs, LibraryState, Diff] | None = None

    def keep(self, database: str, inputs: PlanInputs, state: LibraryState, diff: Diff) -> None:
        self._kept = (database, inputs, state, diff)

    def take(self, database: str, inputs: PlanInputs) -> tuple[LibraryState, Diff] | None:
        kept, self._kept = self._kept, None
        if kept is None or kept[:2] != (database, inputs):
            return None
        return kept[2], kept[3]


@dataclass(frozen=True, slots=True)
class Unchanged:
    """The latest plan is empty and nothing it was computed from has changed."""

    inputs: PlanInputs
    plan_id: int

    @property
    def reason(self) -> str:
        return f"plan {self.plan_id} is empty and no snapshot or scan since changed anything"


@dataclass(frozen=True, slots=True)
class Computed:
    inputs: PlanInputs
    state: LibraryState
    diff: Diff
    reused: bool  # taken from the memo, not computed again


def load_state(engine: Engine, settings: PlanSettings) -> LibraryState:
    """Both snapshots and the previous placement, as the planner's input."""
    placement = plan_store.load_placement(engine)
    tracks = load_tracks(engine, placement.wanted_tracks())
    scan = scan_store.load_scan(engine, tags=False)
    placed = set(placement.primaries.values()) | set(placement.links.values())
    return LibraryState(
        playlists=placement.playlists,
        tracks=tracks,
        primaries=placement.primaries,
        links=placement.links,
        disk=scan.entries,
        matches=adoption_matches(scan.entries, scan.matched(), placed, tracks),
        tagged={
            track: dj_tags(values, _notation(notation, settings.key_notation))
            for track, (values, notation) in placement.tagged.items()
        },
        link_mode=settings.link_mode,
        default_extension=settings.extension,
        key_notation=settings.key_notation,
        m3u8_paths=settings.m3u8_paths,
    )


def _notation(recorded: str | None, now: KeyNotation) -> KeyNotation:
    """The notation a primary's key was written in: as recorded, else the one set now."""
    return next((n for n in KEY_NOTATIONS if n == recorded), now)


def current_diff(engine: Engine, settings: PlanSettings, memo: DiffMemo) -> Unchanged | Computed:
    """The diff of the library as the database has it now, or ``Unchanged``."""
    # Read before the check: a change that lands after it has a newer id than the
    # plan records, so the next check still sees it.
    inputs = plan_inputs.current_inputs(engine, settings.key)
    unchanged = plan_inputs.unchanged_empty_plan(engine, settings.key)
    if unchanged is not None:
        return Unchanged(inputs, unchanged)
    earlier = memo.take(str(engine.url), inputs)
    if earlier is not None:
        return Computed(inputs, *earlier, reused=True)
    state = load_state(engine, settings)
    return Computed(inputs, state, compute_diff(state), reused=False)


def record_diff(engine: Engine, computed: Computed, memo: DiffMemo) -> None:
    """Write the status fields, and keep the diff for the plan of the same run."""
    status_store.save_statuses(engine, diff_statuses(computed.diff))
    memo.keep(str(engine.url), computed.inputs, computed.state, computed.diff)


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    plan_id: int
    plan: Plan
    state: LibraryState
    managed: int  # files the product placed
    hold: str | None  # why the guard would hold the plan
    held: str | None  # why it is held (None when the run allows mass removal)
    reused: bool  # the diff came from the memo


def make_plan(
    engine: Engine,
    computed: Computed,
    *,
    max_removal_share: float,
    allow_mass_removal: bool,
) -> PlanOutcome:
    """Build the plan from the diff, apply the removal guard, and store it."""
    state = computed.state
    plan = build_plan(state, computed.diff)
    managed = len(set(state.primaries.values()) | set(state.links.values()))
    deleted = {p.tidal_id: p.name for p in state.playlists if p.removed}
    hold = removal_hold(plan, managed, max_removal_share, deleted)
    held = None if allow_mass_removal else hold
    plan_id = plan_store.save_plan(
        engine,
        plan,
        held_reason=held,
        link_mode=state.link_mode,
        managed=managed,
        inputs=computed.inputs,
    )
    return PlanOutcome(plan_id, plan, state, managed, hold, held, computed.reused)


def keep_unchanged_plan(engine: Engine, unchanged: Unchanged) -> int:
    """Record that the empty plan still holds for the newest inputs; the new plan's id."""
    return plan_store.save_unchanged_plan(engine, unchanged.plan_id, unchanged.inputs)
