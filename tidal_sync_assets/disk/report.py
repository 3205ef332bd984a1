"""What ``filesystem_snapshot`` shows in the Dagster UI: counts, the user's own files,
unreadable and damaged files. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from tidal_sync_assets.disk.entry import Ownership, ScanResult
from tidal_sync_assets.report import Report, table


def scan_report(
    result: ScanResult, changes: int, owners: Mapping[Ownership, int], user_paths: Sequence[str]
) -> Report:
    return {
        "entries": len(result.entries),
        "changed since the last scan": changes,
        "files re-read": result.reread,
        "unreadable": len(result.errors),
        "matched to TIDAL": owners.get(Ownership.MANAGED, 0),
        "user's own": owners.get(Ownership.USER, 0),
        "by kind": table(
            ["kind", "entries"], sorted(Counter(e.kind.value for e in result.entries).items())
        ),
        "user's own files": table(["path"], [(p,) for p in user_paths]),
        "unreadable files": table(["path", "reason"], [(e.path, e.error) for e in result.errors]),
        "files decoded": result.decoded,
        "damaged": len(result.damaged),
        "damaged files": table(["path", "why"], [(e.path, e.audio_damage) for e in result.damaged]),
    }
