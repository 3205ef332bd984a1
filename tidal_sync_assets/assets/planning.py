"""The planning side of the graph: ``library_diff`` and ``dedup_plan`` with its guard.

Both call the planning service's one entry point (``services.plan.current_diff``);
the run's ``diff_memo`` resource hands ``library_diff``'s diff to ``dedup_plan``.
"""

from dagster import AssetCheckResult, AssetCheckSpec, Config, MaterializeResult, asset

from tidal_sync_assets.assets.filesystem import filesystem_snapshot
from tidal_sync_assets.assets.metadata import metadata
from tidal_sync_assets.assets.tidal import tidal_snapshot
from tidal_sync_assets.defs.resources import (
    DatabaseResource,
    DiffMemoResource,
    LibraryResource,
    TidalResource,
)
from tidal_sync_assets.planning.report import (
    diff_report,
    plan_report,
    unchanged_diff_report,
    unchanged_plan_report,
)
from tidal_sync_assets.services.plan import (
    PlanSettings,
    Unchanged,
    current_diff,
    keep_unchanged_plan,
    make_plan,
    record_diff,
)

GUARD_CHECK = "removals_within_limit"


def _settings(library: LibraryResource, tidal: TidalResource) -> PlanSettings:
    return PlanSettings.of(
        library.checked_link_mode(),
        tidal.checked_quality(),
        library.checked_key_notation(),
        library.checked_m3u8_paths(),
    )


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
    database: DatabaseResource,
    library: LibraryResource,
    tidal: TidalResource,
    diff_memo: DiffMemoResource,
) -> MaterializeResult:
    engine = database.engine()
    found = current_diff(engine, _settings(library, tidal), diff_memo.memo())
    if isinstance(found, Unchanged):  # nothing to compare again: the library is in step
        return MaterializeResult(metadata=metadata(unchanged_diff_report(found.reason)))
    record_diff(engine, found, diff_memo.memo())
    return MaterializeResult(metadata=metadata(diff_report(found.state, found.diff)))


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
    diff_memo: DiffMemoResource,
) -> MaterializeResult:
    engine = database.engine()
    found = current_diff(engine, _settings(library, tidal), diff_memo.memo())
    if isinstance(found, Unchanged):
        plan_id = keep_unchanged_plan(engine, found)
        return MaterializeResult(
            metadata=metadata(unchanged_plan_report(plan_id, found.reason)),
            check_results=[
                AssetCheckResult(
                    check_name=GUARD_CHECK,
                    passed=True,
                    description="nothing to remove",
                    metadata={"removals": 0},
                )
            ],
        )
    made = make_plan(
        engine,
        found,
        max_removal_share=library.max_removal_share,
        allow_mass_removal=config.allow_mass_removal,
    )
    return MaterializeResult(
        metadata=metadata(plan_report(made.plan_id, made.state, made.plan, made.held, made.reused)),
        check_results=[
            AssetCheckResult(
                check_name=GUARD_CHECK,
                passed=made.held is None,
                description=made.held or ("allowed by the run" if made.hold else "within limits"),
                metadata={"removals": len(made.plan.removals), "managed files": made.managed},
            )
        ],
    )
