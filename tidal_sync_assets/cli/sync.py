"""``tidal-sync sync``: the graph materialized in-process on the DAGSTER_HOME instance.

Two runs, both visible in the Dagster UI: the planning run (both snapshots,
the diff and the plan, with their blocking checks), then — unless a guard
held the plan, this is a dry run, or the plan has nothing to do — one
library run over every playlist partition (a single run, not one per
playlist). A sync that ends with every playlist in sync marks its plan with the
fingerprint of its settings: the command line's quick check
(``services.quick_check``) starts from that mark the next time.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dagster import AssetKey, DagsterInstance, Definitions
from sqlalchemy import Engine

from tidal_sync_assets.assets.planning import GUARD_CHECK
from tidal_sync_assets.assets.tidal import COMPLETE_CHECK
from tidal_sync_assets.cli.instance import cli_instance
from tidal_sync_assets.database import make_engine
from tidal_sync_assets.database.action_store import action_outcomes
from tidal_sync_assets.database.export_store import export_count
from tidal_sync_assets.database.migrations import upgrade
from tidal_sync_assets.database.plan_store import (
    action_playlists,
    latest_plan,
    load_actions,
    mark_in_sync,
)
from tidal_sync_assets.database.tidal_store import playlist_names
from tidal_sync_assets.defs.partitions import span_tags
from tidal_sync_assets.planning.actions import Action
from tidal_sync_assets.settings import Settings

PLANNING_ASSETS = ("tidal_snapshot", "filesystem_snapshot", "library_diff", "dedup_plan")
# The CLI prints its own one-line outcomes; the full event log is in the UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class SyncReport:
    held: str | None = None  # why a guard stopped the sync
    error: str | None = None  # why the planning run failed
    failed: dict[str, str] = field(default_factory=dict)  # playlist name -> reason
    summary: list[str] = field(default_factory=list)  # one line per playlist that changed
    plan: list[tuple[str, list[Action]]] = field(default_factory=list)  # dry run
    export: list[str] = field(default_factory=list)  # what the DJ export says, line by line

    @property
    def exit_code(self) -> int:
        if self.held:
            return 2
        return 1 if (self.failed or self.error) else 0


def run_sync(
    defs: Definitions,
    raise_if_stopped: Callable[[], None],
    *,
    dry_run: bool = False,
    playlists: Sequence[str] = (),
    allow_mass_removal: bool = False,
) -> SyncReport:
    """Plan, then sync; ``raise_if_stopped`` (from ``stopping.stoppable``) is asked
    before and after each run."""
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    dagster = cli_instance()
    report = SyncReport()
    raise_if_stopped()
    planning = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dagster,
        asset_selection=[AssetKey(name) for name in PLANNING_ASSETS],
        run_config={
            **QUIET,
            "ops": {"dedup_plan": {"config": {"allow_mass_removal": allow_mass_removal}}},
        },
        raise_on_error=False,
        tags={"tidal-sync/step": "plan"},
    )
    raise_if_stopped()  # a stop fails the run: that is no failure to report
    failed_checks = {
        e.check_name: e.description or e.check_name
        for e in planning.get_asset_check_evaluations()
        if not e.passed
    }
    if COMPLETE_CHECK in failed_checks:
        report.held = (
            f"the TIDAL snapshot is incomplete ({failed_checks[COMPLETE_CHECK]}); "
            "nothing was changed, run the sync again later"
        )
        return report
    if GUARD_CHECK in failed_checks:
        report.held = failed_checks[GUARD_CHECK]
        return report
    if not planning.success:
        failure = planning.get_run_failure_event()
        steps = planning.get_step_failure_events()
        reason = steps[0].step_failure_data.error if steps else None
        if reason is not None:
            report.error = _sentence(reason.message, reason.cls_name)
        else:
            report.error = failure.message if failure else "failed"
        return report
    latest = latest_plan(engine)
    assert latest is not None  # the planning run just stored one
    names = playlist_names(engine)
    selected = _resolve(playlists, names)
    if dry_run:
        grouped: dict[str, list[Action]] = defaultdict(list)
        for action in load_actions(engine, latest[0]):
            if not selected or action.playlist_id in selected:
                grouped[names.get(action.playlist_id or "", "(library)")].append(action)
        report.plan = sorted(grouped.items())
        return report
    # The playlists with actions, not the actions: the library run loads those itself.
    with_actions = action_playlists(engine, latest[0])
    pending = bool(selected & with_actions) if selected else bool(with_actions)
    # Nothing to do: no library run. Otherwise the run covers the span of partitions
    # from the first to the last playlist with actions and works on (and records)
    # only those: Dagster's bookkeeping per partition would cost more than a small
    # change (see bench/sync_benchmark.py).
    touched = selected or {p for p in with_actions if p}
    span = span_tags(dagster, touched)
    if span and pending:
        raise_if_stopped()
        library = defs.resolve_job_def("sync").execute_in_process(
            instance=dagster,
            asset_selection=[AssetKey("playlist_library")],
            run_config={
                **QUIET,
                "ops": {"playlist_library": {"config": {"playlists": sorted(touched)}}},
            },
            raise_on_error=False,
            tags={**span, "tidal-sync/step": "library"},
        )
        raise_if_stopped()
        if not library.success:
            steps = library.get_step_failure_events()
            if steps and steps[0].step_failure_data.error:
                report.error = steps[0].step_failure_data.error.message.strip()
    if settings.rekordbox_xml is not None and ((span and pending) or export_count(engine) == 0):
        report.export = _export(defs, dagster)
    report.summary, report.failed = _outcomes(engine, latest[0], names)
    if report.error and not report.failed:
        report.failed = {"(run)": report.error}
    if report.exit_code == 0 and not selected:
        # What the next sync's quick check starts from (services.quick_check).
        mark_in_sync(engine, latest[0], settings.fingerprint())
    return report


def _export(defs: Definitions, dagster: DagsterInstance) -> list[str]:
    """Materialize ``dj_export`` (after a library run that changed something); its lines."""
    run = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=dagster,
        asset_selection=[AssetKey("dj_export")],
        run_config=QUIET,
        raise_on_error=False,
        tags={"tidal-sync/step": "export"},
    )
    if not run.success:
        steps = run.get_step_failure_events()
        error = steps[0].step_failure_data.error if steps else None
        reason = _sentence(error.message, error.cls_name) if error else "failed"
        return [f"Rekordbox XML not written: {reason}"]
    found = run.get_asset_materialization_events()[0].materialization.metadata
    lines = [
        f"Rekordbox XML: {found['tracks exported'].value} tracks, "
        f"{found['playlists exported'].value} playlists → {found['path'].value}"
        + ("" if found["written"].value else " (unchanged)")
    ]
    moved = int(found["primaries moved"].value)  # type: ignore[arg-type]
    if moved:
        lines.append(
            f"{moved} primaries moved since the last export; relocate them in Rekordbox "
            "at their new paths:"
        )
        paths = found["moved primaries (relocate in Rekordbox)"].value
        lines += [f"  {path}" for path in paths]  # type: ignore[union-attr]
    return lines


def _sentence(message: str, cls_name: str | None) -> str:
    """A step's error message; for a ``Failure`` the product raised, only its own words
    (Dagster prefixes them with the exception's dotted class name)."""
    message = message.strip()
    if cls_name == "Failure":
        return message.partition(": ")[2] or message
    return message


def _name_key(name: str) -> str:
    # TIDAL may send a name decomposed (NFD) that the user's shell types composed.
    return unicodedata.normalize("NFC", name).casefold()


def _resolve(wanted: Sequence[str], names: dict[str, str]) -> set[str]:
    by_name = {_name_key(name): uuid for uuid, name in names.items()}
    found = set()
    for item in wanted:
        uuid = item if item in names else by_name.get(_name_key(item))
        if uuid is None:
            raise ValueError(f"no playlist called {item!r} (give its name or UUID)")
        found.add(uuid)
    return found


def _outcomes(
    engine: Engine, plan_id: int, names: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    done: dict[str, Counter[str]] = defaultdict(Counter)
    failed: dict[str, list[str]] = defaultdict(list)
    for playlist, kind, status, error in action_outcomes(engine, plan_id):
        name = names.get(playlist or "", playlist or "(library)")
        if status == "done":
            done[name][kind] += 1
        elif status == "failed":
            failed[name].append(f"{kind}: {error}")
    summary = [
        f"{name}: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        for name, kinds in sorted(done.items())
    ]
    return summary, {name: "; ".join(errors[:3]) for name, errors in sorted(failed.items())}
