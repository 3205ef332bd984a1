"""The quick check before ``tidal-sync sync``: has anything changed since a sync last
found the library in sync?

A sync that ends with every playlist in sync marks its plan with the fingerprint of
its settings (``plan_store.mark_in_sync``). Before the next sync pays for Dagster (its
imports, its runs, its event log) and for loading every row, the command line asks here
whether all of this still holds:

- the database is at the newest schema, and its latest plan is that marked one: empty,
  ready, with no TIDAL snapshot or scan since that changed anything, computed and
  marked under the same settings (``plan_inputs.in_sync_plan``); so no action is
  pending or failed;
- the Rekordbox XML, when one is wanted, was written at least once;
- TIDAL lists the same playlists with the same names, descriptions, lastUpdated, track
  counts and favourite flags, each stored from a complete fetch (the list only: a few
  requests), the same favourite tracks when those are synced, and the same folders;
- the disk under ``Playlists/`` holds the same entries with the same inode, size, mtime
  and link count, each link resolving where it did (one walk, as the scan's).

Then a full sync would fetch no playlist, find the scan unchanged, reuse the empty plan
and run nothing: the library is as the last sync left it. Anything else, or any doubt
(TIDAL not answering, a folder it cannot read), is a reason, and the full sync runs.
Nothing here writes: the database, Dagster's instance and the disk stay as they were,
so ``status`` and the UI show what the last full sync recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import tidalapi
from sqlalchemy import Engine

from tidal_sync_assets.database import plan_inputs, scan_store, tidal_store
from tidal_sync_assets.database.export_store import export_count
from tidal_sync_assets.database.migrations import current_revision, head_revision
from tidal_sync_assets.database.tidal_store import ListedPlaylistRow
from tidal_sync_assets.disk.scan import changed_since
from tidal_sync_assets.services.plan import PlanSettings
from tidal_sync_assets.settings import Settings
from tidal_sync_assets.tidal.fetch import (
    FAVORITE_TRACKS_KEY,
    ListedPlaylist,
    favourite_tracks_unchanged,
    list_playlists,
)
from tidal_sync_assets.tidal.folders import fetch_folders
from tidal_sync_assets.tidal.session import TidalLoginRequired, TidalUnavailable, open_configured


def what_changed(settings: Settings, engine: Engine) -> str | None:
    """Why the library may no longer be as the last sync left it; None: nothing changed."""
    if current_revision(engine) != head_revision():
        return "the database is not at the newest schema"
    plan_key = PlanSettings.of(
        settings.link_mode, settings.quality, settings.key_notation, settings.m3u8_paths
    ).key
    if plan_inputs.in_sync_plan(engine, plan_key, settings.fingerprint()) is None:
        return "no sync under these settings found the library in sync since it last changed"
    if settings.rekordbox_xml is not None and export_count(engine) == 0:
        return "the Rekordbox XML was never written"
    # TIDAL's answers are waited for while the disk is walked; once TIDAL tells of a
    # change the walk stops: the full sync will scan anyway.
    with ThreadPoolExecutor(1, thread_name_prefix="tidal-sync quick check") as pool:
        tidal = pool.submit(_tidal_changed, settings, engine)

        def tidal_changed() -> bool:
            return tidal.done() and (tidal.exception() is not None or tidal.result() is not None)

        stats = {} if tidal_changed() else scan_store.load_scanned_stats(engine)
        path = changed_since(settings.library_root, stats, give_up=tidal_changed)
        changed = tidal.result()
    if changed is not None:
        return changed
    return None if path is None else f"{path} changed on disk"


def _tidal_changed(settings: Settings, engine: Engine) -> str | None:
    try:
        session = open_configured(settings)
        return _account_changed(session, settings, engine)
    except (TidalLoginRequired, TidalUnavailable) as error:
        return str(error)  # the full sync meets it again and says it as it always does


def _account_changed(session: tidalapi.Session, settings: Settings, engine: Engine) -> str | None:
    listed = list_playlists(session, include_favourites=settings.favorite_playlists)
    changed = _listing_changed(listed, tidal_store.listed_playlists(engine), settings)
    if changed is not None:
        return changed
    if settings.favorite_tracks:
        known = tuple(tidal_store.playlist_track_ids(engine, FAVORITE_TRACKS_KEY))
        if not favourite_tracks_unchanged(session, known):
            return "the favourite tracks changed on TIDAL"
    placed = fetch_folders(session)
    if placed is None:
        return "TIDAL's playlist folders could not be read"
    if tidal_store.folders_moved(engine, placed):
        return "a playlist moved to another folder on TIDAL"
    return None


def _listing_changed(
    listed: list[ListedPlaylist], stored: Mapping[str, ListedPlaylistRow], settings: Settings
) -> str | None:
    """Why TIDAL's playlist list differs from the stored playlists; None: it does not.

    A playlist is unchanged as the snapshot has it (its tracks are not fetched again):
    the same lastUpdated as its last complete fetch, and as many entries as TIDAL counts.
    """
    favourites = stored.get(FAVORITE_TRACKS_KEY)
    if settings.favorite_tracks != (favourites is not None):
        return "the favourite tracks were not synced as a playlist before"
    if favourites is not None and not favourites.fetch_complete:
        return "the favourite tracks were not all fetched last time"
    if {p.tidal_id for p in listed} != stored.keys() - {FAVORITE_TRACKS_KEY}:
        return "playlists were added on TIDAL or removed from it"
    for playlist in listed:
        row = stored[playlist.tidal_id]
        if (
            playlist.last_updated is None
            or not row.fetch_complete
            or playlist.last_updated != row.fetched_last_updated
            or playlist.last_updated != row.last_updated
            or playlist.number_of_tracks != row.number_of_tracks
            or playlist.number_of_tracks != row.entries
        ):
            return f"the tracks of {playlist.name!r} changed on TIDAL"
        if (playlist.name, playlist.description, playlist.favourite) != (
            row.name,
            row.description,
            row.favourite,
        ):
            return f"{playlist.name!r} was renamed or edited on TIDAL"
    return None
