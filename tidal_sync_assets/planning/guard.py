"""The removal guard: plans that take away too much are held until allowed.

Like rsync's ``--max-delete``: a plan that removes anything of a playlist
deleted on TIDAL (its files, links or folder), or more than a share of the
managed files, is held. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from tidal_sync_assets.planning.actions import ActionKind
from tidal_sync_assets.planning.plan import Plan

DEFAULT_MAX_REMOVAL_SHARE = 0.2
ALLOW_HINT = (
    "to allow it, run `tidal-sync sync --allow-mass-removal` "
    "(or set allow_mass_removal in the launchpad config of dedup_plan)"
)


def removal_hold(
    plan: Plan,
    managed_files: int,
    max_share: float,
    deleted: Mapping[str, str] | None = None,
) -> str | None:
    """Why ``plan`` must be held, or None when its removals are within bounds.

    ``deleted`` maps the UUIDs of playlists gone from TIDAL to their names: any
    removal in such a playlist holds the plan, however small a share it is.
    """
    deleted = deleted or {}
    files: dict[str, int] = {}
    for action in plan.removals:
        playlist = action.playlist_id or ""
        if playlist in deleted or action.kind is ActionKind.REMOVE_FOLDER:
            counted = action.kind is not ActionKind.REMOVE_FOLDER
            files[playlist] = files.get(playlist, 0) + counted
    if files:
        folders = plan.diff.layout.folders
        names = "; ".join(
            f'"{deleted.get(pid, pid)}" ({folders.get(pid, "its folder")}, {n} files or links)'
            for pid, n in sorted(files.items(), key=lambda kv: deleted.get(kv[0], kv[0]))
        )
        return f"the plan removes playlists deleted on TIDAL: {names}; {ALLOW_HINT}"
    removals = len(plan.removals)
    if managed_files and removals / managed_files > max_share:
        return (
            f"the plan removes {removals} of {managed_files} managed files "
            f"(more than {max_share:.0%}); {ALLOW_HINT}"
        )
    return None
