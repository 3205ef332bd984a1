"""The trash: removed files are recoverable, on a real temporary library."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from tidal_sync_assets.disk.paths import OutsideLibraryRoot
from tidal_sync_assets.disk.trash import ALL, MANIFEST, Trash, remove_empty_folder

EMOJI = "Playlists/🎧 Late Night 🌙/Daft Punk - One More Time 🎉.flac"
CJK = "Playlists/夜の曲/坂本龍一 - 戦場のメリークリスマス.m4a"
LONG = "Playlists/Long/" + "あ" * 83 + "x.flac"  # a 255-byte name
NOT_UTF8 = os.fsdecode(b"Playlists/Raw/caf\xe9.mp3")  # a Latin-1 name, as the OS gives it
HOSTILE = [EMOJI, CJK, LONG, NOT_UTF8]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    for number, relative in enumerate(HOSTILE):
        (library / relative).parent.mkdir(parents=True, exist_ok=True)
        (library / relative).write_bytes(b"audio %d" % number)
    return library


def test_hostile_names_survive_put_list_and_restore(root: Path) -> None:
    assert len(os.fsencode(Path(LONG).name)) == 255
    trash = Trash(root, batch="sync-1")

    for number, relative in enumerate(HOSTILE):
        entry = trash.put(relative, reason="dropped from playlist", track_id=number, playlist="p")
        assert not os.path.lexists(root / relative)
        assert entry.trash_path == f".tidal-sync/trash/sync-1/{relative}"
        assert (root / entry.trash_path).read_bytes() == b"audio %d" % number

    listed = trash.list()
    assert [e.original_path for e in listed] == HOSTILE
    assert [e.track_id for e in listed] == [0, 1, 2, 3]
    assert {(e.reason, e.playlist, e.size) for e in listed} == {("dropped from playlist", "p", 7)}

    outcome = Trash(root).restore(ALL)
    assert [e.original_path for e in outcome.restored] == HOSTILE
    assert outcome.conflicts == [] and outcome.missing == []
    for number, relative in enumerate(HOSTILE):
        assert (root / relative).read_bytes() == b"audio %d" % number
    assert trash.list() == []
    assert os.listdir(root / ".tidal-sync" / "trash") == ["manifest.jsonl"]


def test_the_manifest_is_json_lines_with_every_field(root: Path) -> None:
    Trash(root, batch="b").put(EMOJI, reason="removed on TIDAL", track_id=42, playlist="uuid-1")
    (line,) = (root / MANIFEST).read_text().splitlines()
    record = json.loads(line)
    assert record["original_path"] == EMOJI and record["track_id"] == 42
    assert set(record) == {
        "id", "batch", "original_path", "trash_path", "size", "trashed_at", "reason",
        "track_id", "playlist",
    }  # fmt: skip


def test_restore_never_overwrites_and_reports_the_conflict(root: Path) -> None:
    trash = Trash(root)
    entry = trash.put(EMOJI, reason="dropped")
    (root / EMOJI).write_bytes(b"downloaded again")

    outcome = trash.restore(entry.id)
    assert outcome.conflicts == [entry] and outcome.restored == []
    assert (root / EMOJI).read_bytes() == b"downloaded again"
    assert trash.list() == [entry]  # still in the trash, still restorable

    (root / EMOJI).unlink()
    assert trash.restore(entry.id).restored == [entry]
    assert (root / EMOJI).read_bytes() == b"audio 0"


def test_restore_recreates_missing_folders_and_by_batch(root: Path) -> None:
    first, second = Trash(root, batch="one"), Trash(root, batch="two")
    first.put(CJK, reason="x")
    second.put(EMOJI, reason="y")
    remove_empty_folder("Playlists/夜の曲", root=root)
    assert not (root / "Playlists" / "夜の曲").exists()

    assert [e.original_path for e in Trash(root).restore("one").restored] == [CJK]
    assert (root / CJK).exists() and not (root / EMOJI).exists()
    assert [e.batch for e in Trash(root).list()] == ["two"]


def test_the_same_path_trashed_twice_in_a_batch_keeps_both(root: Path) -> None:
    trash = Trash(root, batch="b")
    first = trash.put(CJK, reason="x")
    (root / CJK).write_bytes(b"second version")
    second = trash.put(CJK, reason="x")
    assert second.trash_path == f".tidal-sync/trash/b~2/{CJK}"
    assert (root / first.trash_path).read_bytes() == b"audio 1"
    assert (root / second.trash_path).read_bytes() == b"second version"


def test_empty_deletes_only_what_is_old_enough(root: Path) -> None:
    trash = Trash(root)
    for relative in HOSTILE:
        trash.put(relative, reason="x")

    assert trash.empty(older_than=timedelta(days=30)) == 0
    assert len(trash.list()) == 4
    assert trash.empty() == 4
    assert trash.list() == []
    assert os.listdir(root / ".tidal-sync" / "trash") == ["manifest.jsonl"]


def test_a_file_removed_from_the_trash_by_hand_is_reported_missing(root: Path) -> None:
    trash = Trash(root)
    entry = trash.put(EMOJI, reason="x")
    (root / entry.trash_path).unlink()
    outcome = trash.restore(ALL)
    assert outcome.missing == [entry] and trash.list() == []


def test_unknown_ids_folders_and_outside_paths_are_refused(root: Path, tmp_path: Path) -> None:
    trash = Trash(root)
    with pytest.raises(KeyError):
        trash.restore("nope")
    with pytest.raises(IsADirectoryError):
        trash.put("Playlists/夜の曲", reason="x")
    (tmp_path / "outside.flac").write_bytes(b"not ours")
    with pytest.raises(OutsideLibraryRoot):
        trash.put(tmp_path / "outside.flac", reason="x")
    with pytest.raises(OutsideLibraryRoot):
        trash.put("../outside.flac", reason="x")
    assert (tmp_path / "outside.flac").exists()


def test_a_tampered_manifest_cannot_restore_outside_the_root(root: Path, tmp_path: Path) -> None:
    trash = Trash(root)
    entry = trash.put(EMOJI, reason="x")
    manifest = root / MANIFEST
    record = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(record | {"original_path": "../../evil.flac"}) + "\n")
    with pytest.raises(OutsideLibraryRoot):
        trash.restore(entry.id)
    assert (root / entry.trash_path).exists()
    assert not (tmp_path / "evil.flac").exists()


def test_a_torn_manifest_line_is_skipped_and_later_lines_still_count(root: Path) -> None:
    trash = Trash(root)
    trash.put(EMOJI, reason="x")
    with (root / MANIFEST).open("a") as manifest:
        manifest.write('{"id": "torn", "batch"')  # a crash mid-append
    trash.put(CJK, reason="y")
    assert [e.original_path for e in trash.list()] == [EMOJI, CJK]


def test_only_empty_folders_are_removed(root: Path) -> None:
    assert remove_empty_folder("Playlists/夜の曲", root=root) is False
    assert (root / CJK).exists()
    (root / "Playlists" / "Empty").mkdir()
    assert remove_empty_folder("Playlists/Empty", root=root) is True
    assert not (root / "Playlists" / "Empty").exists()
