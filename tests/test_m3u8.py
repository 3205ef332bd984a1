"""Playlist M3U8 files: content, place, and no needless rewrites."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tidal_sync_assets.disk.m3u8 import M3UEntry, render_m3u8, write_m3u8
from tidal_sync_assets.disk.naming import m3u8_path_for
from tidal_sync_assets.disk.paths import OutsideLibraryRoot

FOLDER = "Playlists/Peak Time 🔥"
M3U8 = f"{FOLDER}/Peak Time 🔥.m3u8"
ENTRIES = [
    M3UEntry(f"{FOLDER}/Daft Punk - One More Time.flac", "Daft Punk", "One More Time", 320.4),
    M3UEntry(f"{FOLDER}/坂本龍一 - Merry Christmas.m4a", "坂本龍一", "Merry Christmas", None),
    M3UEntry(f"{FOLDER}/#1 Hit - Song.flac", "#1 Hit", "Song\nInjected", 61.5),
    M3UEntry("Playlists/Other/Elsewhere - Track.mp3", "Elsewhere", "Track", 10),
]


def test_the_m3u8_lives_in_the_playlist_folder_named_after_it() -> None:
    assert m3u8_path_for(FOLDER) == M3U8


def test_a_long_folder_name_gives_a_name_of_at_most_255_bytes() -> None:
    folder = "Playlists/" + "夜" * 85  # 255 bytes
    name = Path(m3u8_path_for(folder)).name
    assert len(name.encode()) <= 255 and name.endswith(".m3u8")
    assert Path(m3u8_path_for(folder)).parent.name == "夜" * 85


def test_render_lists_tracks_in_order_with_relative_paths() -> None:
    assert render_m3u8(ENTRIES, M3U8) == (
        "#EXTM3U\n"
        "#EXTINF:320,Daft Punk - One More Time\n"
        "Daft Punk - One More Time.flac\n"
        "#EXTINF:-1,坂本龍一 - Merry Christmas\n"
        "坂本龍一 - Merry Christmas.m4a\n"
        "#EXTINF:62,#1 Hit - Song Injected\n"
        "./#1 Hit - Song.flac\n"
        "#EXTINF:10,Elsewhere - Track\n"
        "../Other/Elsewhere - Track.mp3\n"
    )


def test_an_empty_playlist_is_just_the_header() -> None:
    assert render_m3u8([], M3U8) == "#EXTM3U\n"


def test_unchanged_content_is_not_rewritten(tmp_path: Path) -> None:
    text = render_m3u8(ENTRIES, M3U8)
    assert write_m3u8(M3U8, text, root=tmp_path) is True
    path = tmp_path / M3U8
    assert path.read_bytes() == text.encode("utf-8")

    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    inode = path.stat().st_ino
    assert write_m3u8(M3U8, text, root=tmp_path) is False
    assert path.stat().st_mtime_ns == 1_000_000_000 and path.stat().st_ino == inode

    assert write_m3u8(M3U8, render_m3u8(ENTRIES[:1], M3U8), root=tmp_path) is True
    assert path.stat().st_mtime_ns != 1_000_000_000
    assert path.read_text(encoding="utf-8").count("#EXTINF") == 1


def test_an_m3u8_outside_the_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutsideLibraryRoot):
        write_m3u8("../escape.m3u8", "#EXTM3U\n", root=tmp_path / "library")
