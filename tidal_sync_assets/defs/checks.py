"""Asset checks after materialization: the library is consistent."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from tidal_sync_assets.assets.library import playlist_library
from tidal_sync_assets.assets.metadata import metadata
from tidal_sync_assets.defs.resources import DatabaseResource, LibraryResource
from tidal_sync_assets.library.report import consistency_report
from tidal_sync_assets.library.verify import verify_library


@asset_check(
    asset=playlist_library,
    description="Database and disk agree: every primary is one real file whose audio the "
    "latest scan did not find damaged, every link exists and leads to its track's primary.",
)
def library_consistent(database: DatabaseResource, library: LibraryResource) -> AssetCheckResult:
    result = verify_library(database.engine(), library.root_path(), library.checked_link_mode())
    return AssetCheckResult(
        passed=result.ok,
        severity=AssetCheckSeverity.WARN,
        metadata=metadata(consistency_report(result)),
    )
