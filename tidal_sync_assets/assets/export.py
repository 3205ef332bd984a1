"""The DJ side of the graph: ``dj_export``, the Rekordbox XML of the library."""

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Failure,
    MaterializeResult,
    asset,
)

from tidal_sync_assets.assets.library import playlist_library
from tidal_sync_assets.assets.metadata import metadata
from tidal_sync_assets.defs.resources import DatabaseResource, LibraryResource, TidalResource
from tidal_sync_assets.disk.lock import LibraryBusy, library_lock
from tidal_sync_assets.dj.export import export_rekordbox
from tidal_sync_assets.dj.report import export_report
from tidal_sync_assets.services.library import LOCK_TIMEOUT_SECONDS

# After any playlist partition was materialized, once no library run is going on.
# Not `eager()`: that also waits for every dependency partition to exist, and one
# failed playlist would then hold the export of all the others.
AFTER_THE_LIBRARY = (
    AutomationCondition.any_deps_updated().since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
)


@asset(
    deps=[playlist_library],
    group_name="dj",
    kinds={"xml", "sql"},
    owners=["team:tidal-sync"],
    automation_condition=AFTER_THE_LIBRARY,
    description=(
        "The Rekordbox XML (TIDAL_SYNC_REKORDBOX_XML): one collection entry per track, "
        "located at its primary file, with a TrackID that never changes; the playlists "
        "under a TIDAL folder. Rewritten only when its content changed."
    ),
)
def dj_export(
    context: AssetExecutionContext,
    database: DatabaseResource,
    library: LibraryResource,
    tidal: TidalResource,
) -> MaterializeResult:
    xml_path = library.rekordbox_xml_path()
    if xml_path is None:
        return MaterializeResult(metadata={"path": "off (TIDAL_SYNC_REKORDBOX_XML=off)"})
    try:
        with library_lock(library.root_path(), LOCK_TIMEOUT_SECONDS):
            outcome = export_rekordbox(
                database.engine(),
                library.root_path(),
                xml_path,
                notation=library.checked_key_notation(),
                wanted_quality=tidal.checked_quality(),
            )
    except LibraryBusy as error:
        raise Failure(description=str(error)) from None
    if outcome.moved:
        context.log.warning(
            "%d primaries moved since the last export: relocate them in Rekordbox.",
            len(outcome.moved),
        )
    return MaterializeResult(metadata=metadata(export_report(outcome)))
