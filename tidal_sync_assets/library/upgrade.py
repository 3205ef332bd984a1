"""``sync --upgrade``: make way for better copies of tracks stored below the wanted quality.

For each stored track TIDAL delivered below the wanted quality, TIDAL is asked again what it
would deliver now (its playback info: no audio is fetched). Each one it now delivers better
has its file and its links moved to the trash and is marked not downloaded; the sync that
follows downloads it again and links it again, as for a new track (a link keeps the name
of the file it points to, whose extension may change).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import tidalapi
from sqlalchemy import Engine

from tidal_sync_assets.database import action_store as store
from tidal_sync_assets.disk.trash import Trash
from tidal_sync_assets.planning.placement import PathForgotten
from tidal_sync_assets.tidal.stream import QUALITIES, is_below, lower_qualities, offered_quality

log = logging.getLogger(__name__)


def below_wanted_quality(engine: Engine, wanted: str) -> list[tuple[int, str]]:
    """(TIDAL id, delivered quality) of stored tracks TIDAL delivered below ``wanted``."""
    return store.delivered_in(engine, lower_qualities(wanted))


def count_below_wanted_quality(engine: Engine, wanted: str) -> int:
    """How many stored tracks TIDAL delivered below ``wanted``."""
    return store.count_delivered_in(engine, lower_qualities(wanted))


def make_way_for_upgrades(
    engine: Engine, session: tidalapi.Session, wanted: str, root: Path
) -> list[int]:
    """Trash the files TIDAL now offers better; returns their tracks' TIDAL ids."""
    upgraded = []
    session.audio_quality = QUALITIES[wanted]
    trash = Trash(root)
    for track_id, stored_quality in below_wanted_quality(engine, wanted):
        offered = offered_quality(session, track_id)
        if offered is None or not is_below(stored_quality, offered):
            continue
        primary = store.primary_path(engine, track_id)
        if primary is None:
            continue
        forgotten = []
        for path in [*store.link_paths(engine, track_id), primary]:
            if os.path.lexists(root / path):
                trash.put(path, f"replaced: TIDAL now delivers {offered}", track_id=track_id)
            forgotten.append(PathForgotten(path))
        store.write_records(engine, forgotten)
        log.info("track %s: TIDAL now delivers %s (stored %s)", track_id, offered, stored_quality)
        upgraded.append(track_id)
    return upgraded
