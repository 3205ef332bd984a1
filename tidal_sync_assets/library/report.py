"""What the library side shows in the Dagster UI: one playlist's outcome, why a run
failed, and the consistency check's findings. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tidal_sync_assets.library.scheduler import PlaylistOutcome
from tidal_sync_assets.library.verify import Consistency
from tidal_sync_assets.report import Report, table
from tidal_sync_assets.tidal.snapshot import PlaylistLabel


def outcome_report(
    outcome: PlaylistOutcome, below_wanted_quality: int, label: PlaylistLabel | None
) -> Report:
    """One playlist's outcome, under the name, TIDAL folder and library folder a person
    knows it by (its partition key is its UUID), and how many stored tracks TIDAL
    delivered below the wanted quality (library-wide)."""
    return {
        **(_label_report(label) if label is not None else {}),
        "done": outcome.done,
        "failed": len(outcome.failed),
        "skipped": len(outcome.skipped),
        "files downloaded": outcome.downloaded,
        "MB downloaded": round(outcome.bytes_downloaded / 1e6, 2),
        "files retagged": outcome.retagged,
        "failures": table(
            ["action", "path", "error"],
            [(a.kind.value, a.target or a.source or "", e) for a, e in outcome.failed],
        ),
        "skipped actions": table(
            ["action", "track", "reason"],
            [(a.kind.value, a.track_id, r) for a, r in outcome.skipped],
        ),
        "tracks below wanted quality": below_wanted_quality,
    }


def _label_report(label: PlaylistLabel) -> Report:
    """A playlist as a person finds it."""
    return {
        "playlist": label.name,
        "TIDAL folder": label.tidal_path or "(top)",
        "folder": label.folder or "(not made yet)",
    }


def named(playlist: str, labels: Mapping[str, PlaylistLabel]) -> str:
    """``Deep House (<uuid>)``: the name to find it by, the key to backfill it by."""
    label = labels.get(playlist)
    return f"{label.name} ({playlist})" if label is not None else playlist


def failure_description(
    failed: Sequence[PlaylistOutcome], labels: Mapping[str, PlaylistLabel]
) -> str:
    """Which playlists failed (by name and partition) and on what (up to ten actions
    each), and what to do."""
    names = "; ".join(
        f"{named(o.playlist, labels)}: "
        + ", ".join(str(a.track_id or a.target) for a, _ in o.failed[:10])
        for o in failed
    )
    return (
        f"{len(failed)} playlist(s) failed ({names}); "
        "backfill the failed partitions once the cause is fixed."
    )


def consistency_report(result: Consistency) -> Report:
    return {
        "primaries": result.primaries,
        "links": result.links,
        "problems": len(result.problems),
        "details": table(["path", "problem"], result.problems),
    }
