"""The scanner: a real library with every format and every hostile case, never a crash."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures.library import AUDIO_FORMATS, make_audio
from tidal_sync_assets.disk.entry import (
    AUDIO_EXTENSIONS,
    AudioTags,
    EntryKind,
    ScannedEntry,
    ScanResult,
    is_audio,
    is_internal,
)
from tidal_sync_assets.disk.scan import NOT_UTF8, LibraryRootMissing, scan_library
from tidal_sync_assets.disk.tag_reading import POOL_THRESHOLD, read_all, read_chunk
from tidal_sync_assets.disk.tags import write_tags

AS_ROOT = os.geteuid() == 0


def by_path(result: ScanResult) -> dict[str, ScannedEntry]:
    return {entry.path: entry for entry in result.entries}


def tags_for(n: int) -> AudioTags:
    return AudioTags(title=f"Song {n}", artist="Artist", isrc=f"USXX1{n:07d}", tidal_track_id=n)


def test_every_format_is_scanned_with_its_tags(library_root: Path) -> None:
    playlist = library_root / "Playlists" / "Warm Up"
    for n, fmt in enumerate(AUDIO_FORMATS, start=1):
        make_audio(playlist / f"Artist - Song {n}.{fmt}", fmt, tags=tags_for(n))
        make_audio(playlist / f"untagged {n}.{fmt}", fmt, seconds=0.5)

    result = scan_library(library_root)

    assert result.errors == []
    assert result.reread == 2 * len(AUDIO_FORMATS)
    entries = by_path(result)
    for n, fmt in enumerate(AUDIO_FORMATS, start=1):
        tagged = entries[f"Playlists/Warm Up/Artist - Song {n}.{fmt}"]
        assert tagged.kind is EntryKind.FILE
        assert tagged.tags is not None
        assert dataclasses.replace(tagged.tags, duration=None) == tags_for(n)
        assert tagged.size == (playlist / f"Artist - Song {n}.{fmt}").stat().st_size
        untagged = entries[f"Playlists/Warm Up/untagged {n}.{fmt}"]
        assert untagged.tags is not None
        assert untagged.tags.title is None
        assert untagged.tags.duration == pytest.approx(0.5, abs=0.1)


def test_hostile_entries_are_recorded_with_a_reason_and_never_stop_the_scan(
    library_root: Path, tmp_path: Path
) -> None:
    playlists = library_root / "Playlists"
    mix = playlists / "Mix"
    good = make_audio(mix / "A - Good.flac", "flac", tags=tags_for(1))
    (mix / "corrupt.mp3").write_bytes(b"\xff\xfb garbage, not mpeg frames" * 3)
    truncated = make_audio(mix / "truncated.m4a", "m4a", tags=tags_for(2))
    truncated.write_bytes(truncated.read_bytes()[:64])
    (mix / "zero.flac").write_bytes(b"")
    (mix / "notes.txt").write_text("my own notes")
    (mix / "broken.flac").symlink_to("../Nowhere/missing.flac")
    (mix / "loop-a").symlink_to("loop-b")
    (mix / "loop-b").symlink_to("loop-a")
    outside = make_audio(tmp_path / "elsewhere" / "x.flac", "flac")
    (mix / "outside.flac").symlink_to(outside)
    (mix / "outside-folder").symlink_to(outside.parent, target_is_directory=True)
    (playlists / "Other").mkdir()
    (playlists / "Other" / "A - Good.flac").symlink_to("../Mix/A - Good.flac")
    (playlists / "Other" / "via-absolute.flac").symlink_to(good)
    (playlists / "Other" / "Mix").symlink_to("../Mix", target_is_directory=True)
    os.link(good, playlists / "Other" / "hardlinked.flac")
    os.mkfifo(mix / "a-fifo")
    (mix / ".tidal-sync-tmp-123.flac").write_bytes(b"half a download")
    bad_folder = os.fsencode(mix) + b"/caf\xe9"
    os.mkdir(bad_folder)
    with open(bad_folder + b"/inside.flac", "wb") as handle:
        handle.write(good.read_bytes())
    with open(os.fsencode(mix) + b"/na\xefve.flac", "wb") as handle:
        handle.write(good.read_bytes())

    result = scan_library(library_root)
    entries = by_path(result)

    assert entries["Playlists/Mix/A - Good.flac"].nlink == 2
    assert entries["Playlists/Other/hardlinked.flac"].kind is EntryKind.FILE
    assert entries["Playlists/Other/hardlinked.flac"].inode == good.stat().st_ino
    for name in ("corrupt.mp3", "truncated.m4a", "zero.flac"):
        assert (entries[f"Playlists/Mix/{name}"].error or "").startswith("unreadable audio"), name
    assert entries["Playlists/Mix/zero.flac"].error == "unreadable audio: empty file"
    assert entries["Playlists/Mix/notes.txt"].error is None
    assert entries["Playlists/Mix/notes.txt"].tags is None
    assert entries["Playlists/Mix/broken.flac"].link_target == "../Nowhere/missing.flac"
    assert (entries["Playlists/Mix/broken.flac"].error or "").startswith("broken link")
    assert entries["Playlists/Mix/loop-a"].error == "link loop"
    assert entries["Playlists/Mix/loop-b"].error == "link loop"
    for name in ("outside.flac", "outside-folder"):
        assert entries[f"Playlists/Mix/{name}"].link_outside_root
        assert entries[f"Playlists/Mix/{name}"].link_resolves_to is None
    relative = entries["Playlists/Other/A - Good.flac"]
    assert relative.kind is EntryKind.SYMLINK
    assert relative.link_resolves_to == "Playlists/Mix/A - Good.flac"
    assert relative.error is None and relative.tags is None
    assert (
        entries["Playlists/Other/via-absolute.flac"].link_resolves_to
        == "Playlists/Mix/A - Good.flac"
    )
    assert entries["Playlists/Other/Mix"].link_resolves_to == "Playlists/Mix"
    assert entries["Playlists/Mix/a-fifo"].kind is EntryKind.OTHER
    internal = entries["Playlists/Mix/.tidal-sync-tmp-123.flac"]
    assert is_internal(internal.path)
    assert internal.error is None and internal.tags is None
    assert entries["Playlists/Mix/na\\xefve.flac"].error == NOT_UTF8
    assert entries["Playlists/Mix/caf\\xe9/inside.flac"].error == NOT_UTF8
    assert entries["Playlists/Mix/na\\xefve.flac"].tags is None
    # Never followed a link out of the root or into a folder twice.
    assert not any(
        path.startswith(("Playlists/Mix/outside-folder/", "Playlists/Other/Mix/"))
        for path in entries
    )
    assert all(entry.path.encode("utf-8") for entry in result.entries)
    assert {e.path for e in result.errors} == {p for p, e in entries.items() if e.error}


def test_a_folder_too_deep_to_list_is_recorded_as_unreadable(library_root: Path) -> None:
    # Paths beyond PATH_MAX cannot be listed even by root, so this always runs.
    fd = os.open(library_root / "Playlists", os.O_RDONLY)
    try:
        for _ in range(20):
            os.mkdir("d" * 250, dir_fd=fd)
            child = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
    make_audio(library_root / "Playlists" / "Mix" / "A - B.flac", "flac")

    result = scan_library(library_root)

    unreadable = [e for e in result.entries if e.kind is EntryKind.UNREADABLE]
    assert len(unreadable) == 1
    assert (unreadable[0].error or "").startswith("cannot list folder")
    assert "Playlists/Mix/A - B.flac" in by_path(result)


@pytest.mark.skipif(AS_ROOT, reason="root reads files and folders whatever their mode")
def test_unreadable_files_and_folders_are_recorded(library_root: Path) -> None:
    locked_file = make_audio(library_root / "Playlists" / "Mix" / "locked.flac", "flac")
    locked_folder = library_root / "Playlists" / "Private"
    locked_folder.mkdir()
    locked_file.chmod(0)
    locked_folder.chmod(0)
    try:
        entries = by_path(scan_library(library_root))
    finally:
        locked_file.chmod(0o644)
        locked_folder.chmod(0o755)
    assert (entries["Playlists/Mix/locked.flac"].error or "").startswith("unreadable audio")
    assert entries["Playlists/Private"].kind is EntryKind.UNREADABLE


def test_a_rescan_rereads_only_the_file_that_changed(library_root: Path) -> None:
    playlist = library_root / "Playlists" / "Mix"
    for n in range(5):
        make_audio(playlist / f"A - {n}.flac", "flac", tags=tags_for(n))
    (playlist / "link.flac").symlink_to("A - 0.flac")
    first = scan_library(library_root)
    assert first.reread == 5
    previous = by_path(first)

    touched = playlist / "A - 3.flac"
    write_tags(touched, dataclasses.replace(tags_for(3), title="Retitled"))
    second = scan_library(library_root, previous)

    assert second.reread == 1
    entries = by_path(second)
    tags = entries["Playlists/Mix/A - 3.flac"].tags
    assert tags is not None and tags.title == "Retitled"
    for n in (0, 1, 2, 4):
        assert entries[f"Playlists/Mix/A - {n}.flac"] is previous[f"Playlists/Mix/A - {n}.flac"]
    assert entries["Playlists/Mix/link.flac"] == previous["Playlists/Mix/link.flac"]


def test_a_rescan_notices_a_link_whose_target_disappeared(library_root: Path) -> None:
    playlist = library_root / "Playlists" / "Mix"
    target = make_audio(playlist / "A - B.flac", "flac")
    (playlist / "link.flac").symlink_to("A - B.flac")
    first = scan_library(library_root)
    target.unlink()

    second = scan_library(library_root, by_path(first))

    assert (by_path(second)["Playlists/Mix/link.flac"].error or "").startswith("broken link")
    assert second.reread == 0


def test_a_missing_root_is_an_error_and_nothing_is_created(tmp_path: Path) -> None:
    with pytest.raises(LibraryRootMissing):
        scan_library(tmp_path / "no-library")
    assert not (tmp_path / "no-library").exists()


def test_a_root_without_playlists_scans_empty(tmp_path: Path) -> None:
    (tmp_path / "library").mkdir()
    result = scan_library(tmp_path / "library")
    assert result == ScanResult([], 0, [])
    assert not (tmp_path / "library" / "Playlists").exists()


def test_a_playlists_folder_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    make_audio(elsewhere / "Mix" / "A - B.flac", "flac")
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "Playlists").symlink_to(elsewhere, target_is_directory=True)

    result = scan_library(tmp_path / "library")

    assert [(e.path, e.kind) for e in result.entries] == [("Playlists", EntryKind.UNREADABLE)]


def test_tags_read_by_the_process_pool_equal_those_read_in_one_process(tmp_path: Path) -> None:
    paths = [
        str(make_audio(tmp_path / f"a.{fmt}", fmt, tags=tags_for(n)))
        for n, fmt in enumerate(AUDIO_FORMATS)
    ]
    (tmp_path / "bad.flac").write_bytes(b"fLaC nonsense")
    paths.append(str(tmp_path / "bad.flac"))
    many = paths * (POOL_THRESHOLD // len(paths) + 1)

    pooled = read_all(many, workers=2)

    assert pooled == read_chunk(many)
    assert isinstance(pooled[-1], str)


@given(
    st.text(alphabet="ab./ACFLM34ç", max_size=12), st.sampled_from(["", ".flac", ".M4A", ".mp3"])
)
def test_audio_is_told_by_extension_exactly_as_splitext_tells_it(stem: str, extension: str) -> None:
    path = stem + extension
    assert is_audio(path) == (os.path.splitext(path)[1].lower() in AUDIO_EXTENSIONS)
