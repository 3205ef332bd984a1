"""The product database: typed models, status enums, engine and migrations."""

from tidal_sync_assets.database.engine import DatabaseUnavailable, make_engine, redact
from tidal_sync_assets.database.models import (
    ActionStatus,
    Base,
    DownloadStatus,
    Plan,
    PlanAction,
    PlanStatus,
    Playlist,
    PlaylistSyncStatus,
    PlaylistTrack,
    RunFailure,
    ScannedFile,
    ScanRecord,
    TidalSnapshotRecord,
    Track,
    TrackSyncStatus,
)

__all__ = [
    "ActionStatus",
    "Base",
    "DatabaseUnavailable",
    "DownloadStatus",
    "Plan",
    "PlanAction",
    "PlanStatus",
    "Playlist",
    "PlaylistSyncStatus",
    "PlaylistTrack",
    "RunFailure",
    "ScanRecord",
    "ScannedFile",
    "TidalSnapshotRecord",
    "Track",
    "TrackSyncStatus",
    "make_engine",
    "redact",
]
