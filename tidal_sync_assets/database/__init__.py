"""The product database: typed models, status enums, engine and migrations."""

from tidal_sync_assets.database.engine import DatabaseUnavailable, make_engine, redact
from tidal_sync_assets.database.models import (
    Album,
    Base,
    DjExport,
    DownloadStatus,
    Plan,
    PlanAction,
    PlanStatus,
    Playlist,
    PlaylistTrack,
    RekordboxTrack,
    RunFailure,
    ScannedFile,
    ScanRecord,
    TidalSnapshotRecord,
    Track,
)
from tidal_sync_assets.planning.actions import ActionStatus
from tidal_sync_assets.planning.status import PlaylistSyncStatus, TrackSyncStatus

__all__ = [
    "ActionStatus",
    "Album",
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
