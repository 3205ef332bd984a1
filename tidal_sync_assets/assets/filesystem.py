"""The file-system side of the graph: ``filesystem_snapshot``."""

from collections import Counter
from datetime import UTC, datetime

from dagster import Failure, MaterializeResult, asset

from tidal_sync_assets.assets.metadata import metadata_table
from tidal_sync_assets.assets.tidal import tidal_snapshot
from tidal_sync_assets.database.scan_store import library_seen, scan_and_save
from tidal_sync_assets.disk.entry import Ownership
from tidal_sync_assets.disk.scan import root_missing
from tidal_sync_assets.resources import DatabaseResource, LibraryResource


@asset(
    # After the TIDAL snapshot: the files that match its tracks are the ones decoded
    # before they may be adopted, so the tracks must be known when the disk is scanned.
    deps=[tidal_snapshot],
    group_name="filesystem",
    kinds={"filesystem", "sql"},
    owners=["team:tidal-sync"],
    tags={"side": "filesystem"},
    description=(
        "Every entry under <root>/Playlists: files, links, hardlinks and their tags. "
        "Incremental: unchanged files are not read again. Files that would be adopted, "
        "and managed files that changed, are decoded once to prove their audio intact; "
        "damaged ones are never adopted. Files that match no TIDAL track are the user's "
        "own and are never touched."
    ),
)
def filesystem_snapshot(database: DatabaseResource, library: LibraryResource) -> MaterializeResult:
    engine = database.engine()
    root = library.root_path()
    if not root.is_dir():
        if library_seen(engine):
            raise Failure(description=root_missing(root), allow_retries=False)
        root.mkdir(parents=True)  # the first sync of a library the database has never seen
    result, saved = scan_and_save(engine, root, datetime.now(UTC))
    return MaterializeResult(
        metadata={
            "entries": len(result.entries),
            "changed since the last scan": saved.changes,
            "files re-read": result.reread,
            "unreadable": len(result.errors),
            "matched to TIDAL": saved.owners[Ownership.MANAGED],
            "user's own": saved.owners[Ownership.USER],
            "by kind": metadata_table(
                ["kind", "entries"], sorted(Counter(e.kind.value for e in result.entries).items())
            ),
            "user's own files": metadata_table(["path"], [(p,) for p in saved.user_paths]),
            "unreadable files": metadata_table(
                ["path", "reason"], [(e.path, e.error) for e in result.errors]
            ),
            "files decoded": result.decoded,
            "damaged": len(result.damaged),
            "damaged files": metadata_table(
                ["path", "why"], [(e.path, e.audio_damage) for e in result.damaged]
            ),
        }
    )
