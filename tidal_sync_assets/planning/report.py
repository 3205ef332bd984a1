"""What ``library_diff`` and ``dedup_plan`` show in the Dagster UI, from the diff and
the plan: counts per state and kind, and a table per playlist. Pure."""

from __future__ import annotations

from collections import Counter

from tidal_sync_assets.planning.actions import ActionKind
from tidal_sync_assets.planning.diff import Diff, EntryState, PrimarySource
from tidal_sync_assets.planning.plan import Plan
from tidal_sync_assets.planning.state import LibraryState
from tidal_sync_assets.report import Report, table


def unchanged_diff_report(reason: str) -> Report:
    return {"recomputed": False, "reason": reason}


def diff_report(state: LibraryState, diff: Diff) -> Report:
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
    return {
        "recomputed": True,
        "entries": len(diff.entries),
        **{f"entries {s.value}": states[s] for s in EntryState},
        "folders renamed": len(diff.layout.renames),
        "playlists out of step": len(rows),
        "per playlist": table(["playlist", "missing", "extra", "to move"], rows),
    }


def unchanged_plan_report(plan_id: int, reason: str) -> Report:
    return {"plan id": plan_id, "recomputed": False, "reason": reason, "actions": 0, "held": "no"}


def plan_report(
    plan_id: int, state: LibraryState, plan: Plan, held: str | None, diff_reused: bool
) -> Report:
    names = {p.tidal_id: p.name for p in state.playlists}
    diff = plan.diff
    sources = Counter(how for how, _ in diff.sources.values())
    linked = sum(1 for s in diff.entries.values() if s is EntryState.LINK) + sum(
        1 for a in plan.actions if a.kind is ActionKind.LINK
    )
    bytes_saved = sum(
        (diff.layout.disk[src].size if src and src in diff.layout.disk else 0)
        for how, src in diff.sources.values()
        if how in (PrimarySource.IN_PLACE, PrimarySource.MOVE)
    )
    by_playlist = sorted(plan.by_playlist().items(), key=lambda kv: kv[0] or "")
    return {
        "plan id": plan_id,
        "recomputed": True,
        "diff reused from library_diff": diff_reused,
        "actions": len(plan.actions),
        **{f"actions {k.value}": n for k, n in sorted(plan.by_kind().items())},
        "downloads": sources[PrimarySource.DOWNLOAD],
        "downloads avoided by dedup": linked,
        "bytes of primaries shared by links": bytes_saved,
        "held": held or "no",
        "by playlist": table(
            ["playlist", "actions", "kinds"],
            [
                (
                    names.get(pid or "", pid),
                    len(actions),
                    ", ".join(
                        f"{k.value} {n}" for k, n in Counter(a.kind for a in actions).items()
                    ),
                )
                for pid, actions in by_playlist
            ],
        ),
    }


def guard_report(held: str | None, hold: str | None, removals: int, managed: int) -> Report:
    """The removal guard's check: passed unless held; says why."""
    return {
        "passed": held is None,
        "description": held or ("allowed by the run" if hold else "within limits"),
        "removals": removals,
        "managed files": managed,
    }
