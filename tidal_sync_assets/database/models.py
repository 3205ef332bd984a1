"""The product database's tables, as SQLAlchemy 2 typed models.

``tracks``, ``playlists`` and ``playlist_tracks`` keep the seed design's
table and column names; ``albums`` keeps what TIDAL said about each album a
file was tagged from; the rest record what each asset did: TIDAL
snapshots, file-system scans and their files, plans and their actions, and
failed runs. This database is the source of truth for what the program did
on disk; it is never Dagster's own storage.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tidal_sync_assets.planning.actions import ActionStatus
from tidal_sync_assets.planning.status import PlaylistSyncStatus, TrackSyncStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DownloadStatus(StrEnum):
    NOT_DOWNLOADED = "not_downloaded"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    ERROR = "error"


class PlanStatus(StrEnum):
    READY = "ready"  # may be executed
    HELD = "held"  # a guard holds it until the user allows it
    SUPERSEDED = "superseded"  # a newer plan replaced it


def _enum(enum: type[StrEnum], name: str) -> Enum:
    # Stored as plain strings (no native DB enum): adding a member needs no
    # ALTER TYPE on PostgreSQL, and SQLite and PostgreSQL stay alike.
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Track(Base):
    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tidal_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(Text)
    artist: Mapped[str] = mapped_column(Text)  # the artists as one display string
    artists: Mapped[str] = mapped_column(Text, server_default="[]")  # JSON list, main first
    album: Mapped[str | None] = mapped_column(Text)
    album_artist: Mapped[str | None] = mapped_column(Text)
    album_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    track_number: Mapped[int | None] = mapped_column(Integer)
    isrc: Mapped[str | None] = mapped_column(String(16), index=True)
    duration: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[str | None] = mapped_column(Text)
    allow_streaming: Mapped[bool] = mapped_column(Boolean, default=True)
    file_path: Mapped[str | None] = mapped_column(Text, index=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    download_status: Mapped[DownloadStatus] = mapped_column(
        _enum(DownloadStatus, "download_status"), default=DownloadStatus.NOT_DOWNLOADED, index=True
    )
    download_error: Mapped[str | None] = mapped_column(Text)
    downloaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What TIDAL says about the track for DJs; NULL when TIDAL does not know.
    bpm: Mapped[float | None] = mapped_column(Float)
    musical_key: Mapped[str | None] = mapped_column(String(8))  # classic notation: Am, F#
    release_date: Mapped[str | None] = mapped_column(String(10))  # ISO date of the album
    # The values the primary's DJ tags were written from (``dj.tags``), and the key
    # notation they were written in (NULL: the one set now).
    tagged_bpm: Mapped[float | None] = mapped_column(Float)
    tagged_key: Mapped[str | None] = mapped_column(String(8))
    tagged_release_date: Mapped[str | None] = mapped_column(String(10))
    tagged_notation: Mapped[str | None] = mapped_column(String(8))
    # What TIDAL delivered for the stored file (None: adopted, or stored before this was kept).
    audio_quality: Mapped[str | None] = mapped_column(String(16), index=True)
    codec: Mapped[str | None] = mapped_column(String(8))
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    bit_depth: Mapped[int | None] = mapped_column(Integer)


class Album(Base):
    """What TIDAL's album document said, asked once per album and never again: the
    album artist, the release date and the front cover's image id (NULL: TIDAL has none,
    or no longer knows the album). The cover's JPEG is cached on disk, not here."""

    __tablename__ = "albums"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tidal_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    artist: Mapped[str | None] = mapped_column(Text)
    release_date: Mapped[str | None] = mapped_column(String(10))  # ISO date
    cover: Mapped[str | None] = mapped_column(String(64))  # TIDAL's image id (a UUID)
    looked_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Playlist(Base):
    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tidal_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    number_of_tracks: Mapped[int] = mapped_column(Integer, default=0)
    favourite: Mapped[bool] = mapped_column(Boolean, default=False)
    local_folder_path: Mapped[str | None] = mapped_column(Text)
    sync_status: Mapped[PlaylistSyncStatus] = mapped_column(
        _enum(PlaylistSyncStatus, "playlist_sync_status"),
        default=PlaylistSyncStatus.UNKNOWN,
        index=True,
    )
    last_updated_tidal: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # lastUpdated as of the last *complete* fetch: a failed fetch never
    # advances it, so the next snapshot fetches that playlist again.
    fetched_last_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # lastUpdated the library was last synced for: differs → the M3U8 is rewritten.
    synced_last_updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fetch_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_from_tidal: Mapped[bool] = mapped_column(Boolean, default=False)
    last_synced_filesystem: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The TIDAL folder it sits in, as a JSON list of folder names from the top; NULL: the top.
    tidal_folder: Mapped[str | None] = mapped_column(Text)
    # What the entries of its M3U8 name (TIDAL_SYNC_M3U8_PATHS when it was last written).
    m3u8_paths: Mapped[str | None] = mapped_column(String(8))


class PlaylistTrack(Base):
    __tablename__ = "playlist_tracks"
    __table_args__ = (UniqueConstraint("playlist_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    playlist_id: Mapped[int] = mapped_column(
        ForeignKey("playlists.id", ondelete="CASCADE"), index=True
    )
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    # NULL once TIDAL dropped the entry: the row stays until its link or file
    # has been cleaned up, so the product still knows what it placed.
    position: Mapped[int | None] = mapped_column(Integer)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    symlink_path: Mapped[str | None] = mapped_column(Text, index=True)
    symlink_valid: Mapped[bool | None] = mapped_column(Boolean)
    sync_status: Mapped[TrackSyncStatus] = mapped_column(
        _enum(TrackSyncStatus, "track_sync_status"), default=TrackSyncStatus.UNKNOWN, index=True
    )
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TidalSnapshotRecord(Base):
    __tablename__ = "tidal_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    complete: Mapped[bool] = mapped_column(Boolean)
    playlists: Mapped[int] = mapped_column(Integer)
    tracks: Mapped[int] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer)
    playlists_fetched: Mapped[int] = mapped_column(Integer)
    requests_made: Mapped[int] = mapped_column(Integer)
    incomplete_playlists: Mapped[str | None] = mapped_column(Text)  # JSON list of UUIDs
    changed: Mapped[bool | None] = mapped_column(Boolean)  # NULL: not recorded, so changed


class ScanRecord(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entries: Mapped[int] = mapped_column(Integer)
    reread: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    changes: Mapped[int | None] = mapped_column(Integer)  # rows written or removed; NULL: unknown


class ScannedFile(Base):
    """The current state of one path under ``Playlists/``, as last scanned."""

    __tablename__ = "scanned_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime_ns: Mapped[int] = mapped_column(BigInteger, default=0)
    inode: Mapped[int] = mapped_column(BigInteger, default=0)
    nlink: Mapped[int] = mapped_column(Integer, default=0)
    link_target: Mapped[str | None] = mapped_column(Text)
    link_resolves_to: Mapped[str | None] = mapped_column(Text)
    link_outside_root: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str | None] = mapped_column(Text)
    artist: Mapped[str | None] = mapped_column(Text)
    album: Mapped[str | None] = mapped_column(Text)
    album_artist: Mapped[str | None] = mapped_column(Text)
    track_number: Mapped[int | None] = mapped_column(Integer)
    isrc: Mapped[str | None] = mapped_column(String(16))
    tag_tidal_id: Mapped[int | None] = mapped_column(BigInteger)
    duration: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # The decode verdict (``disk.integrity``) for this inode, size and mtime; a file
    # that changes gets a new row state and is decoded again when it is a candidate.
    audio_checked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    audio_damage: Mapped[str | None] = mapped_column(Text)
    matched_tidal_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    match_method: Mapped[str | None] = mapped_column(String(8))
    ownership: Mapped[str] = mapped_column(String(16), index=True)
    # The scan that last wrote this row (every row is in the latest scan).
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("tidal_snapshots.id", ondelete="SET NULL")
    )
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus, "plan_status"), index=True)
    held_reason: Mapped[str | None] = mapped_column(Text)
    link_mode: Mapped[str] = mapped_column(String(16))
    actions: Mapped[int] = mapped_column(Integer)
    removals: Mapped[int] = mapped_column(Integer)
    managed_files: Mapped[int] = mapped_column(Integer)
    inputs: Mapped[str | None] = mapped_column(Text)  # the settings it was computed with
    # When a library run first began on it (``library.recovery`` looks at no other).
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # ``Settings.fingerprint()`` of a ``tidal-sync sync`` that ended with this plan and every
    # playlist in sync; NULL: none did. The next sync's quick check starts from it.
    in_sync_settings: Mapped[str | None] = mapped_column(String(64))


class PlanAction(Base):
    __tablename__ = "plan_actions"
    __table_args__ = (
        UniqueConstraint("plan_id", "seq"),
        Index("ix_plan_actions_plan_playlist", "plan_id", "playlist_tidal_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    playlist_tidal_id: Mapped[str | None] = mapped_column(String(64))
    track_tidal_id: Mapped[int | None] = mapped_column(BigInteger)
    source_path: Mapped[str | None] = mapped_column(Text)
    target_path: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ActionStatus] = mapped_column(
        _enum(ActionStatus, "action_status"), default=ActionStatus.PENDING, index=True
    )
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RekordboxTrack(Base):
    """The Rekordbox XML's TrackID of one TIDAL track (``id``), assigned once and
    never changed, and the primary's path the last export located it at."""

    __tablename__ = "rekordbox_tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tidal_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    location: Mapped[str | None] = mapped_column(Text)


class DjExport(Base):
    """One ``dj_export`` materialization: what it exported and whether it wrote the file."""

    __tablename__ = "dj_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    path: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the XML's bytes
    written: Mapped[bool] = mapped_column(Boolean)  # False: the file already held these bytes
    tracks: Mapped[int] = mapped_column(Integer)
    playlists: Mapped[int] = mapped_column(Integer)
    moved: Mapped[int] = mapped_column(Integer)  # primaries relocated since the last export


class RunFailure(Base):
    __tablename__ = "run_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    playlists: Mapped[str | None] = mapped_column(Text)  # JSON list of UUIDs
    reason: Mapped[str] = mapped_column(Text)
