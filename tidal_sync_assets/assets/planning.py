"""The planning side of the graph: ``library_diff`` and ``dedup_plan`` with its guard."""

from collections import Counter
from dataclasses import dataclass

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from sqlalchemy import Engine

from tidal_sync_assets.assets.filesystem import filesystem_snapshot
from tidal_sync_assets.assets.metadata import metadata_table
from tidal_sync_assets.assets.tidal import tidal_snapshot
from tidal_sync_assets.database.plan_inputs import (
    PlanInputs,
    current_inputs,
    settings_key,
    unchanged_empty_plan,
)
from tidal_sync_assets.database.plan_store import (
    load_library_state,
    save_diff,
    save_plan,
    save_unchanged_plan,
)
from tidal_sync_assets.planning.actions import ActionKind
from tidal_sync_assets.planning.diff import Diff, EntryState, PrimarySource, compute_diff
from tidal_sync_assets.planning.guard import removal_hold
from tidal_sync_assets.planning.plan import build_plan
from tidal_sync_assets.planning.state import LibraryState
from tidal_sync_assets.resources import DatabaseResource, LibraryResource, TidalResource
from tidal_sync_assets.settings import LinkMode

GUARD_CHECK = "removals_within_limit"
_LOSSY = {"LOW", "HIGH"}


@dataclass(frozen=True, slots=True)
class _Settings:
    """What a plan depends on besides the database: link mode and file extension."""

    link_mode: LinkMode
    extension: str

    @classmethod
    def of(cls, library: LibraryResource, tidal: TidalResource) -> "_Settings":
        lossy = tidal.checked_quality() in _LOSSY
        return cls(library.checked_link_mode(), ".m4a" if lossy else ".flac")

    @property
    def key(self) -> str:
        return settings_key(self.link_mode, self.extension)

    def state(self, engine: Engine) -> LibraryState:
        return load_library_state(engine, self.link_mode, self.extension)


# library_diff's state and diff, for dedup_plan in the same process (the CLI's
# in-process runs) while nothing they were computed from has changed; a step
# in another process (the multiprocess executor) computes them again.
_computed: dict[tuple[str, PlanInputs], tuple[LibraryState, Diff]] = {}


def _state_and_diff(engine: Engine, settings: _Settings) -> tuple[PlanInputs, LibraryState, Diff]:
    inputs = current_inputs(engine, settings.key)
    earlier = _computed.pop((str(engine.url), inputs), None)
    _computed.clear()
    if earlier is not None:
        return inputs, *earlier
    state = settings.state(engine)
    return inputs, state, compute_diff(state)


def _unchanged(plan_id: int) -> str:
    return f"plan {plan_id} is empty and no snapshot or scan since changed anything"


@asset(
    deps=[tidal_snapshot, filesystem_snapshot],
    group_name="planning",
    kinds={"sql"},
    owners=["team:tidal-sync"],
    description=(
        "Every playlist entry against the disk: in place as primary or link, wrong link, "
        "missing, outdated name or folder. Writes the seed's sync status fields."
    ),
)
def library_diff(
    database: DatabaseResource, library: LibraryResource, tidal: TidalResource
) -> MaterializeResult:
    engine, settings = database.engine(), _Settings.of(library, tidal)
    unchanged = unchanged_empty_plan(engine, settings.key)
    if unchanged is not None:  # nothing to compare again: the library is in step
        return MaterializeResult(
            metadata={
                "recomputed": False,
                "reason": _unchanged(unchanged),
            }
        )
    inputs, state, diff = _state_and_diff(engine, settings)
    save_diff(engine, diff)  # status fields only: not an input of the plan
    _computed[(str(engine.url), inputs)] = (state, diff)
    names = {p.tidal_id: p.name for p in state.playlists}
    extra = Counter(diff.layout.owner_of(path) for path in diff.unwanted)
    rows = []
    by_playlist = diff.counts()
    for playlist in state.playlists:
        counts = by_playlist.get(playlist.tidal_id, Counter())
        missing = counts[EntryState.MISSING]
        to_move = counts[EntryState.OUTDATED] + counts[EntryState.WRONG_LINK]
        if missing or to_move or extra[playlist.tidal_id] or playlist.removed:
            rows.append((names[playlist.tidal_id], missing, extra[playlist.tidal_id], to_move))
    states = Counter(diff.entries.values())
    return MaterializeResult(
        metadata={
            "recomputed": True,
            "entries": len(diff.entries),
            **{f"entries {s.value}": states[s] for s in EntryState},
            "folders renamed": len(diff.layout.renames),
            "playlists out of step": len(rows),
            "per playlist": metadata_table(["playlist", "missing", "extra", "to move"], rows),
        }
    )


class PlanConfig(Config):
    allow_mass_removal: bool = False


@asset(
    deps=[library_diff],
    group_name="planning",
    kinds={"sql"},
    owners=["team:tidal-sync"],
    description=(
        "The ordered actions that make the library right, each track stored once: "
        "folders, moves, adoptions, downloads, links, trash, M3U8s. Held when it would "
        "remove too much."
    ),
    check_specs=[
        AssetCheckSpec(
            GUARD_CHECK,
            asset="dedup_plan",
            blocking=True,
            description="The plan removes at most the configured share of managed files "
            "and nothing of a playlist deleted on TIDAL, unless the run allows mass removal.",
        )
    ],
)
def dedup_plan(
    config: PlanConfig,
    database: DatabaseResource,
    library: LibraryResource,
    tidal: TidalResource,
) -> MaterializeResult:
    engine, settings = database.engine(), _Settings.of(library, tidal)
    # Read before the check: a change that lands after it has a newer id than the
    # plan records, so the next check still sees it.
    inputs = current_inputs(engine, settings.key)
    unchanged = unchanged_empty_plan(engine, settings.key)
    if unchanged is not None:
        return _unchanged_plan(save_unchanged_plan(engine, unchanged, inputs), unchanged)
    inputs, state, diff = _state_and_diff(engine, settings)
    plan = build_plan(state, diff)
    managed = len(set(state.primaries.values()) | set(state.links.values()))
    deleted = {p.tidal_id: p.name for p in state.playlists if p.removed}
    hold = removal_hold(plan, managed, library.max_removal_share, deleted)
    held = None if config.allow_mass_removal else hold
    plan_id = save_plan(
        engine,
        plan,
        held_reason=held,
        link_mode=state.link_mode,
        managed=managed,
        inputs=inputs,
    )
    names = {p.tidal_id: p.name for p in state.playlists}
    by_playlist = plan.by_playlist()
    sources = Counter(how for how, _ in plan.diff.sources.values())
    linked = sum(1 for state_ in plan.diff.entries.values() if state_ is EntryState.LINK) + sum(
        1 for a in plan.actions if a.kind is ActionKind.LINK
    )
    bytes_saved = sum(
        (plan.diff.layout.disk[src].size if src and src in plan.diff.layout.disk else 0)
        for how, src in plan.diff.sources.values()
        if how in (PrimarySource.IN_PLACE, PrimarySource.MOVE)
    )
    return MaterializeResult(
        metadata={
            "plan id": plan_id,
            "recomputed": True,
            "actions": len(plan.actions),
            **{f"actions {k.value}": n for k, n in sorted(plan.by_kind().items())},
            "downloads": sources[PrimarySource.DOWNLOAD],
            "downloads avoided by dedup": linked,
            "bytes of primaries shared by links": MetadataValue.int(bytes_saved),
            "held": held or "no",
            "by playlist": metadata_table(
                ["playlist", "actions", "kinds"],
                [
                    (
                        names.get(pid or "", pid),
                        len(actions),
                        ", ".join(
                            f"{k.value} {n}" for k, n in Counter(a.kind for a in actions).items()
                        ),
                    )
                    for pid, actions in sorted(by_playlist.items(), key=lambda kv: kv[0] or "")
                ],
            ),
        },
        check_results=[
            AssetCheckResult(
                check_name=GUARD_CHECK,
                passed=held is None,
                description=held or ("allowed by the run" if hold else "within limits"),
                metadata={"removals": len(plan.removals), "managed files": managed},
            )
        ],
    )


def _unchanged_plan(plan_id: int, previous: int) -> MaterializeResult:
    return MaterializeResult(
        metadata={
            "plan id": plan_id,
            "recomputed": False,
            "reason": _unchanged(previous),
            "actions": 0,
            "held": "no",
        },
        check_results=[
            AssetCheckResult(
                check_name=GUARD_CHECK,
                passed=True,
                description="nothing to remove",
                metadata={"removals": 0},
            )
        ],
    )
