"""Storing scans: what is stored loads back equal, and a quiet rescan writes nothing; the
quick walk against the stored stats sees a change exactly when a rescan records one.

A scan's change count is what lets a quiet sync reuse its empty plan, so it must
be 0 exactly when nothing on disk (or in how files match TIDAL) changed.
On SQLite and PostgreSQL, with a real library on disk.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select

from tests.fixtures.library import make_audio
from tidal_sync_assets.database import Playlist, PlaylistTrack, ScanRecord, Track
from tidal_sync_assets.database.scan_store import load_scan, load_scanned_stats
from tidal_sync_assets.disk.entry import AudioTags, Ownership, ScanResult
from tidal_sync_assets.disk.scan import changed_since
from tidal_sync_assets.disk.tags import write_tags
from tidal_sync_assets.services.scan import ScanOutcome, scan_and_store

TAGS = AudioTags(title="Song", artist="Artist", isrc="USXX10000007", tidal_track_id=7)


def rescan(engine: Engine, root: Path) -> tuple[ScanResult, ScanOutcome]:
    outcome = scan_and_store(engine, root, datetime.now(UTC), workers=1)
    return outcome.result, outcome


def stored_changes(engine: Engine, scan_id: int) -> int | None:
    with engine.connect() as connection:
        return connection.execute(
            select(ScanRecord.changes).where(ScanRecord.id == scan_id)
        ).scalar_one()


def test_a_scan_loads_back_equal_and_counts_only_real_changes(
    engine: Engine, library_root: Path
) -> None:
    folder = library_root / "Playlists" / "Mix"
    tagged = make_audio(folder / "Artist - Song.flac", "flac", tags=TAGS)
    make_audio(folder / "Mine - Own.mp3", "mp3")
    (folder / "link.flac").symlink_to("Artist - Song.flac")
    (folder / "broken.flac").symlink_to("gone.flac")
    (folder / "notes.txt").write_text("the user's\n")

    first, saved = rescan(engine, library_root)

    assert saved.changes == len(first.entries) == 5
    assert load_scan(engine).entries == {e.path: e for e in first.entries}
    assert saved.owners[Ownership.USER] == 5  # no TIDAL track is known yet

    quiet, saved = rescan(engine, library_root)
    assert (saved.changes, stored_changes(engine, saved.scan_id)) == (0, 0)
    assert quiet.reread == 0

    # A track TIDAL now lists makes the tagged file (not its link) managed: one row.
    with engine.begin() as connection:
        track = connection.execute(
            insert(Track).values(tidal_id=7, title="Song", artist="Artist")
        ).inserted_primary_key[0]
        playlist = connection.execute(
            insert(Playlist).values(tidal_id="mix", name="Mix")
        ).inserted_primary_key[0]
        connection.execute(
            insert(PlaylistTrack).values(playlist_id=playlist, track_id=track, position=0)
        )
    _, saved = rescan(engine, library_root)
    assert saved.changes == 1
    assert saved.owners[Ownership.MANAGED] == 1
    assert load_scan(engine).placed[f"Playlists/Mix/{tagged.name}"] == (7, "tag", "managed")

    write_tags(tagged, dataclasses.replace(TAGS, title="Retitled"))
    (folder / "notes.txt").unlink()
    changed, saved = rescan(engine, library_root)
    assert (saved.changes, changed.reread) == (2, 1)
    assert stored_changes(engine, saved.scan_id) == 2
    assert load_scan(engine).entries == {e.path: e for e in changed.entries}

    _, saved = rescan(engine, library_root)
    assert saved.changes == 0


def test_the_quick_walk_sees_a_change_exactly_when_the_scan_records_one(
    engine: Engine, library_root: Path, tmp_path: Path
) -> None:
    folder = library_root / "Playlists" / "Mix"
    song = make_audio(folder / "Artist - Song.flac", "flac", tags=TAGS)
    other = make_audio(folder / "Mine - Own.mp3", "mp3")
    (folder / "link.flac").symlink_to("Artist - Song.flac")
    outside = make_audio(tmp_path / "elsewhere" / "far.mp3", "mp3")
    (folder / "far.mp3").symlink_to(outside)  # resolved by realpath: outside the root
    os.mkfifo(folder / "pipe")
    rescan(engine, library_root)

    def hardlink() -> None:
        os.link(other, folder / "again.mp3")

    def relink() -> None:
        (folder / "link.flac").unlink()
        (folder / "link.flac").symlink_to("Mine - Own.mp3")

    changes: list[tuple[str, Callable[[], object]]] = [
        ("nothing", lambda: None),
        ("a newer mtime", lambda: os.utime(song, ns=(0, song.stat().st_mtime_ns + 10**9))),
        ("more bytes", lambda: song.open("ab").write(b"\0")),
        ("a new file of the user's", lambda: (folder / "notes.txt").write_text("mine\n")),
        ("a removed file", lambda: (folder / "notes.txt").unlink()),
        ("a link made again elsewhere", relink),
        ("a second name for a file", hardlink),
        ("a link's target outside the root gone", outside.unlink),
    ]
    for change, make in changes:
        make()
        seen = changed_since(library_root, load_scanned_stats(engine))
        _, saved = rescan(engine, library_root)
        assert (seen is not None) == (saved.changes > 0), (change, seen, saved.changes)
        assert (change == "nothing") == (seen is None), change
        assert changed_since(library_root, load_scanned_stats(engine)) is None, change


def test_the_quick_walk_gives_up_when_asked_and_says_changed(
    engine: Engine, library_root: Path
) -> None:
    """The quick check stops walking once TIDAL told of a change: asked every few
    thousand entries, a walk told to give up says ``Playlists`` changed (never wrong to
    say: the full sync scans anyway); one never told to walks to its end."""
    folder = library_root / "Playlists" / "Many"
    folder.mkdir(parents=True)
    for i in range(5_000):
        (folder / f"note {i}.txt").write_text("")
    rescan(engine, library_root)
    stats = load_scanned_stats(engine)
    asked: list[bool] = []

    def give_up() -> bool:
        asked.append(True)
        return True

    assert changed_since(library_root, stats, give_up=give_up) == "Playlists"
    assert len(asked) == 1
    assert changed_since(library_root, stats, give_up=lambda: False) is None
