"""The file-system side of the graph: ``filesystem_snapshot``."""

from datetime import UTC, datetime

from dagster import Failure, MaterializeResult, asset

from tidal_sync_assets.assets.metadata import metadata
from tidal_sync_assets.assets.tidal import tidal_snapshot
from tidal_sync_assets.database.scan_store import library_seen
from tidal_sync_assets.defs.resources import DatabaseResource, LibraryResource
from tidal_sync_assets.disk.report import scan_report
from tidal_sync_assets.disk.scan import root_missing
from tidal_sync_assets.services.library import settle_interrupted_run
from tidal_sync_assets.services.scan import scan_and_store


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
    # What a killed library run did but did not record is recorded before the scan
    # reads the placement: its links and primaries are the product's, not the user's.
    recorded = settle_interrupted_run(engine, root)
    scan = scan_and_store(engine, root, datetime.now(UTC))
    report = scan_report(scan.result, scan.changes, scan.owners, scan.user_paths)
    return MaterializeResult(
        metadata=metadata({**report, "actions of an interrupted run recorded": recorded})
    )
