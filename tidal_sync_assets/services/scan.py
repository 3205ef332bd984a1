"""The file-system side's service: scan, match, decode, decide ownership, store.

``filesystem_snapshot`` calls ``scan_and_store`` once per run. Each step below
is pure or a disk read (``disk.scan``, ``disk.match``, ``disk.integrity``);
the stores only load and save rows. The match stored with each path
(``scanned_files.matched_tidal_id``) is the one planning reads: files are
matched to TIDAL tracks once, here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from tidal_sync_assets.database import scan_store
from tidal_sync_assets.database.scan_store import Placed, PlacedPaths
from tidal_sync_assets.database.tidal_store import WantedTracks
from tidal_sync_assets.disk.entry import Ownership, ScanResult
from tidal_sync_assets.disk.integrity import audio_candidates, check_audio
from tidal_sync_assets.disk.match import match_entries, ownership
from tidal_sync_assets.disk.naming import m3u8_path_for
from tidal_sync_assets.disk.scan import scan_library


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """One scan as stored: what it found, how many rows it changed, and whose files are."""

    result: ScanResult
    scan_id: int
    changes: int  # rows written or removed: 0 when the disk is as the last scan left it
    owners: Counter[Ownership]
    user_paths: list[str]  # the user's own entries, sorted


def managed_paths(placed: PlacedPaths) -> set[str]:
    """Every path the product placed: primaries, links and playlists' M3U8s."""
    return set(placed.primaries) | placed.links | {m3u8_path_for(f) for f in placed.folders}


def scan_and_store(
    engine: Engine, root: Path, started_at: datetime, workers: int | None = None
) -> ScanOutcome:
    """Scan ``root`` against the stored scan, match files to the tracks the library
    serves, decode the adoption candidates and changed primaries, and store it all."""
    previous = scan_store.load_scan(engine)
    result = scan_library(root, previous.entries, workers=workers)
    tracks = WantedTracks(engine)
    matches = match_entries(result.entries, tracks)
    placed = scan_store.load_placed_paths(engine)
    managed = managed_paths(placed)
    wanted = audio_candidates(result.entries, matches, managed, placed.primaries, previous.entries)
    check_audio(
        root, result.entries, {path: tracks[track].duration for path, track in wanted.items()}
    )
    # A damaged file keeps its match (planning gives its name to the download that
    # replaces it) but is never adopted: ``ownership`` leaves it the user's.
    damaged = [entry for entry in result.entries if entry.audio_damage is not None]
    result = replace(result, decoded=len(wanted), damaged=damaged)
    owners: Counter[Ownership] = Counter()
    user_paths: list[str] = []
    rows: dict[str, Placed] = {}
    for entry in result.entries:
        match = matches.get(entry.path)
        owner = ownership(entry, match, managed)
        owners[owner] += 1
        if owner is Ownership.USER:
            user_paths.append(entry.path)
        how = (match.track_id, match.method) if match else (None, None)
        rows[entry.path] = (*how, owner.value)
    saved = scan_store.save_scan(engine, root, result, rows, started_at, previous)
    return ScanOutcome(result, saved.scan_id, saved.changes, owners, sorted(user_paths))
