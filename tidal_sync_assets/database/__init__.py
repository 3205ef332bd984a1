"""The product database: typed models, status enums, engine and migrations."""

from tidal_sync_assets.database.engine import DatabaseUnavailable, make_engine, redact
from tidal_sync_assets.database.models import (
    Base,
    DjExport,
    DownloadStatus,
    Plan,
    PlanAction,
    PlanStatus,
    Playlist,
    PlaylistSyncStatus,
    PlaylistTrack,
    RekordboxTrack,
    RunFailure,
    ScannedFile,
    ScanRecord,
    TidalSnapshotRecord,
    Track,
    TrackSyncStatus,
)
from tidal_sync_assets.planning.actions import ActionStatus

__all__ = [
    "ActionStatus",
    "Base",
    "DatabaseUnavailable",
    "DjExport",
    "DownloadStatus",
    "Plan",
    "PlanAction",
    "PlanStatus",
    "Playlist",
    "PlaylistSyncStatus",
    "PlaylistTrack",
    "RekordboxTrack",
    "RunFailure",
    "ScanRecord",
    "ScannedFile",
    "TidalSnapshotRecord",
    "Track",
    "TrackSyncStatus",
    "make_engine",
    "redact",
]
