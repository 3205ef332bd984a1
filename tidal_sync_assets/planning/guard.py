"""The removal guard: plans that take away too much are held until allowed.

Like rsync's ``--max-delete``: a plan that would remove more than a share
of the managed files, or a whole playlist's folder, is held. Pure.
"""

from __future__ import annotations

from tidal_sync_assets.planning.actions import ActionKind
from tidal_sync_assets.planning.plan import Plan

DEFAULT_MAX_REMOVAL_SHARE = 0.2
ALLOW_HINT = (
    "run `tidal-sync sync --allow-mass-removal` (or set allow_mass_removal in the launchpad)"
)


def removal_hold(plan: Plan, managed_files: int, max_share: float) -> str | None:
    """Why ``plan`` must be held, or None when its removals are within bounds."""
    folders = [a for a in plan.actions if a.kind is ActionKind.REMOVE_FOLDER]
    if folders:
        names = ", ".join(sorted(a.source or "" for a in folders))
        return f"the plan removes whole playlist folders ({names}); {ALLOW_HINT}"
    removals = len(plan.removals)
    if managed_files and removals / managed_files > max_share:
        return (
            f"the plan removes {removals} of {managed_files} managed files "
            f"(more than {max_share:.0%}); {ALLOW_HINT}"
        )
    return None
