"""Matching local files to TIDAL tracks: tag, then ISRC, then artist + title."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.fixtures.library import make_audio
from tidal_sync_assets.database.tidal_store import WantedTracks, save_snapshot
from tidal_sync_assets.disk.entry import AudioTags, EntryKind, ScannedEntry
from tidal_sync_assets.disk.match import Match, match_entries, normalize
from tidal_sync_assets.disk.scan import scan_library
from tidal_sync_assets.tidal.snapshot import TidalPlaylist, TidalSnapshot, TidalTrack

STROBE = TidalTrack(11, "Strobe", ("deadmau5",), isrc="CAUM70900001", duration=634)
LEVELS = TidalTrack(22, "Levels", ("Avicii",), isrc="SEUM71100001", duration=200)
ONE_MORE = TidalTrack(33, "One More Time", ("Daft Punk", "Romanthony"), duration=320)
TRACKS = {t.tidal_id: t for t in (STROBE, LEVELS, ONE_MORE)}


def audio_file(path: str, tags: AudioTags | None) -> ScannedEntry:
    return ScannedEntry(path, EntryKind.FILE, size=1000, tags=tags)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Strobe (Original Mix)", "strobe"),
        ("Strobe - Original Mix", "strobe"),
        ("Levels (feat. Etta James)", "levels"),
        ("Avicii ft. Etta James", "avicii"),
        ("Avicii featuring Etta James", "avicii"),
        ("\uff24\uff21\uff26\uff34\u3000\uff30\uff35\uff2e\uff2b", "daft punk"),  # fullwidth, NFKC
        ("Röyksopp & Robyn", "röyksopp robyn"),
        ("Straße", "strasse"),
        ("Soft Cell", "soft cell"),  # "ft" inside a word is not a featuring
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_the_tidal_track_id_tag_wins_over_everything_else() -> None:
    tags = AudioTags(title="Levels", artist="Avicii", isrc=LEVELS.isrc, tidal_track_id=11)
    assert match_entries([audio_file("Playlists/P/x.flac", tags)], TRACKS) == {
        "Playlists/P/x.flac": Match(11, "tag")
    }


def test_an_isrc_matches_when_there_is_no_known_id() -> None:
    tags = AudioTags(isrc=" seum71100001 ", tidal_track_id=999)
    assert match_entries([audio_file("Playlists/P/x.mp3", tags)], TRACKS) == {
        "Playlists/P/x.mp3": Match(22, "isrc")
    }


def test_artist_and_title_match_after_normalization_within_two_seconds() -> None:
    entries = [
        audio_file(
            "Playlists/P/a.flac", AudioTags("STROBE (Original Mix)", "Deadmau5", duration=635.5)
        ),
        audio_file(
            "Playlists/P/b.flac", AudioTags("Levels (feat. Etta James)", "Avicii", duration=201)
        ),
        audio_file("Playlists/P/c.flac", AudioTags("One More Time", "Daft Punk, Romanthony")),
        audio_file("Playlists/P/d.flac", AudioTags("One more time!", "Daft Punk", duration=319)),
    ]
    assert match_entries(entries, TRACKS) == {
        "Playlists/P/a.flac": Match(11, "name"),
        "Playlists/P/b.flac": Match(22, "name"),
        "Playlists/P/c.flac": Match(33, "name"),
        "Playlists/P/d.flac": Match(33, "name"),
    }


def test_a_duration_off_by_more_than_two_seconds_does_not_match() -> None:
    entry = audio_file("Playlists/P/a.flac", AudioTags("Strobe", "deadmau5", duration=637))
    assert match_entries([entry], TRACKS) == {}


def test_a_similar_but_different_track_does_not_match() -> None:
    entries = [
        audio_file("Playlists/P/a.flac", AudioTags("Strobe Light", "deadmau5")),
        audio_file("Playlists/P/b.flac", AudioTags("Levels", "Avicii Tribute Band")),
        audio_file("Playlists/P/c.flac", AudioTags("Strobe", "Someone Else")),
    ]
    assert match_entries(entries, TRACKS) == {}


def test_links_broken_files_and_non_audio_are_never_matched() -> None:
    tags = AudioTags(tidal_track_id=11)
    entries = [
        ScannedEntry("Playlists/P/link.flac", EntryKind.SYMLINK, tags=tags),
        ScannedEntry(
            "Playlists/P/bad.flac", EntryKind.FILE, tags=tags, error="unreadable audio: x"
        ),
        audio_file("Playlists/P/cover.jpg", tags),
        audio_file("Playlists/P/.tidal-sync-tmp-1.flac", tags),
        audio_file("Playlists/P/deadmau5 - Strobe.txt", None),
    ]
    assert match_entries(entries, TRACKS) == {}


def test_untagged_local_copies_are_adopted_by_their_file_name(library_root: Path) -> None:
    folder = library_root / "Playlists" / "My Stuff"
    make_audio(folder / "deadmau5 - Strobe (Original Mix).flac", "flac")
    make_audio(folder / "Avicii - Levels (2).mp3", "mp3")
    make_audio(folder / "Daft Punk - One More Time.m4a", "m4a")
    make_audio(folder / "Unknown Artist - Unknown Song.wav", "wav")
    make_audio(folder / "no dash here.ogg", "ogg")
    # The files last ~1 s and TIDAL says minutes: only "no duration" may skip the check.
    tracks = {
        t.tidal_id: t
        for t in (
            TidalTrack(11, "Strobe", ("deadmau5",)),
            TidalTrack(22, "Levels", ("Avicii",)),
            ONE_MORE,
        )
    }

    matches = match_entries(scan_library(library_root).entries, tracks)

    assert matches == {
        "Playlists/My Stuff/deadmau5 - Strobe (Original Mix).flac": Match(11, "name"),
        "Playlists/My Stuff/Avicii - Levels (2).mp3": Match(22, "name"),
    }


def test_of_two_equally_good_candidates_the_closer_duration_then_the_lower_id_wins() -> None:
    tracks = {
        5: TidalTrack(5, "Song", ("Artist",), duration=100),
        4: TidalTrack(4, "Song", ("Artist",), duration=102),
        3: TidalTrack(3, "Song", ("Artist",), duration=101),
    }
    near_5 = audio_file("Playlists/P/a.flac", AudioTags("Song", "Artist", duration=100.2))
    unknown = audio_file("Playlists/P/b.flac", AudioTags("Song", "Artist"))
    assert match_entries([near_5, unknown], tracks) == {
        "Playlists/P/a.flac": Match(5, "name"),
        "Playlists/P/b.flac": Match(3, "name"),
    }


def test_matching_50000_files_against_50000_tracks_is_fast() -> None:
    rnd = random.Random(7)
    words = ["love", "night", "deep", "house", "dream", "light", "soul", "the", "of", "sun"]
    count = 50_000
    tracks = {
        i: TidalTrack(
            i,
            " ".join(rnd.choice(words) for _ in range(3)) + f" {i % 101}",
            (f"Artist {i % 4000}",),
            isrc=f"USAAA{i:07d}",
            duration=180 + i % 90,
        )
        for i in range(1, count + 1)
    }
    entries = []
    for i, track in tracks.items():
        if i % 3 == 0:
            tags = AudioTags(tidal_track_id=i)
        elif i % 3 == 1:
            tags = AudioTags(
                title=track.title.upper(), artist=track.artist, duration=track.duration
            )
        else:
            tags = AudioTags(title="unrelated words here", artist=f"Nobody {i}", duration=99)
        entries.append(audio_file(f"Playlists/P/{i}.flac", tags))

    started = time.perf_counter()
    matches = match_entries(entries, tracks)
    elapsed = time.perf_counter() - started

    assert len(matches) == sum(1 for i in tracks if i % 3 != 2)
    assert all(m.track_id == int(path.rsplit("/", 1)[1][:-5]) for path, m in matches.items())
    assert elapsed < 10, f"matching took {elapsed:.1f} s"


def test_a_stored_track_keeps_its_artists_and_matches_by_its_main_artist(engine: Engine) -> None:
    """A file tagged with the main artist only is TIDAL's two-artist track, also when the
    track comes back from the database (not one artist named "Daft Punk, Romanthony")."""
    playlist = TidalPlaylist("p", "P", 1, None, (ONE_MORE.tidal_id,))
    save_snapshot(engine, TidalSnapshot((playlist,), {ONE_MORE.tidal_id: ONE_MORE}))
    stored = WantedTracks(engine)
    assert stored[ONE_MORE.tidal_id].artists == ("Daft Punk", "Romanthony")
    tags = AudioTags(title="One More Time", artist="Daft Punk", duration=320.0)
    assert match_entries([audio_file("Playlists/P/x.flac", tags)], stored) == {
        "Playlists/P/x.flac": Match(ONE_MORE.tidal_id, "name")
    }
