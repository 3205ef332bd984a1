"""What a plan was computed from, and whether that has changed since.

A plan is a pure function of the latest TIDAL snapshot, the latest scan,
the placement the library runs recorded, and a few settings (link mode,
file extension, ...). Every snapshot and scan records whether it changed
anything, and every plan records the ids and settings it saw, so a sync can
tell that an *empty* plan still holds without loading 150,000 entries again:
nothing TIDAL or the disk reported since has changed, and an empty plan ran
no action that could have moved the placement. A plan a sync found the library in
sync with also carries that sync's settings (``in_sync_plan``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.metadata import version

from sqlalchemy import Engine, func, or_, select

from tidal_sync_assets.database.migrations import head_revision
from tidal_sync_assets.database.models import (
    ActionStatus,
    Plan,
    PlanAction,
    PlanStatus,
    ScanRecord,
    TidalSnapshotRecord,
)


@dataclass(frozen=True, slots=True)
class PlanInputs:
    snapshot_id: int | None  # the newest TIDAL snapshot when planning started
    scan_id: int | None  # the newest scan when planning started
    settings: str  # the settings the plan depends on, e.g. "symlink .flac"
    # Where the placement stood: the newest plan, how many of its actions ran and
    # when the last one finished (a retry moves it). Not stored with a plan; it tells
    # whether a diff computed earlier in this process still holds.
    placement: tuple[int | None, int, datetime | None] = (None, 0, None)


def settings_key(*settings: str) -> str:
    """What a plan depends on besides the database's rows, as ``plans.inputs`` has it:
    the settings, and the product and schema versions (a new release may plan the same
    rows differently, or a migration may have rewritten them)."""
    return " ".join((*settings, _code_version()))


@cache
def _code_version() -> str:
    """The product and schema versions: read once per process (the schema from disk)."""
    return f"tidal-sync {version('tidal-sync')} schema {head_revision()}"


def current_inputs(engine: Engine, settings: str) -> PlanInputs:
    """The newest snapshot and scan, read *before* the state is loaded (a later one
    can only make the recorded ids older, so a reuse check errs on recomputing)."""
    with engine.connect() as connection:
        snapshot = connection.execute(select(func.max(TidalSnapshotRecord.id))).scalar()
        scan = connection.execute(select(func.max(ScanRecord.id))).scalar()
        plan = connection.execute(select(func.max(Plan.id))).scalar()
        ran, finished = connection.execute(
            select(func.count(), func.max(PlanAction.finished_at)).where(
                PlanAction.plan_id == plan, PlanAction.status != ActionStatus.PENDING
            )
        ).one()
    return PlanInputs(snapshot, scan, settings, (plan, ran, finished))


def unchanged_empty_plan(engine: Engine, settings: str) -> int | None:
    """The id of the latest plan when it has no actions and nothing it was computed
    from has changed since: no newer snapshot or scan changed anything, and the
    settings are the same. None means plan again."""
    with engine.connect() as connection:
        plan = connection.execute(
            select(Plan.id, Plan.snapshot_id, Plan.scan_id, Plan.inputs, Plan.actions, Plan.status)
            .order_by(Plan.id.desc())
            .limit(1)
        ).first()
        if (
            plan is None
            or plan.actions != 0
            or plan.status != PlanStatus.READY
            or plan.inputs != settings
            or plan.snapshot_id is None
            or plan.scan_id is None
        ):
            return None
        snapshot_changed = connection.execute(
            select(TidalSnapshotRecord.id)
            .where(TidalSnapshotRecord.id > plan.snapshot_id)
            .where(
                or_(TidalSnapshotRecord.changed.is_(None), TidalSnapshotRecord.changed.is_(True))
            )
            .limit(1)
        ).first()
        scan_changed = connection.execute(
            select(ScanRecord.id)
            .where(ScanRecord.id > plan.scan_id)
            .where(or_(ScanRecord.changes.is_(None), ScanRecord.changes > 0))
            .limit(1)
        ).first()
    return None if snapshot_changed or scan_changed else int(plan.id)


def in_sync_plan(engine: Engine, settings: str, fingerprint: str) -> int | None:
    """The latest plan's id when it is an unchanged empty plan (``unchanged_empty_plan``)
    that a sync under the settings of ``fingerprint`` found the library in sync with."""
    plan_id = unchanged_empty_plan(engine, settings)
    if plan_id is None:
        return None
    with engine.connect() as connection:
        marked = connection.execute(
            select(Plan.in_sync_settings).where(Plan.id == plan_id)
        ).scalar()
    return plan_id if marked == fingerprint else None
