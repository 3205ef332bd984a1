"""Links to a track's primary, in each link mode, on a real temporary library."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from tidal_sync_assets.disk.atomic import atomic_move
from tidal_sync_assets.disk.links import (
    WouldLoseData,
    link_is_valid,
    make_link,
    remove_link,
)
from tidal_sync_assets.disk.paths import TEMP_PREFIX, OutsideLibraryRoot

PRIMARY = "Playlists/A Deep/Artist - Title.flac"
LINK = "Playlists/B Peak 🔥/Artist - Title.flac"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    (library / "Playlists" / "A Deep").mkdir(parents=True)
    (library / PRIMARY).write_bytes(b"fLaC" + bytes(range(256)) * 40)
    return library


def test_a_symlink_is_relative_and_survives_moving_the_whole_root(
    root: Path, tmp_path: Path
) -> None:
    make_link(PRIMARY, LINK, "symlink", root=root)

    link = root / LINK
    assert os.readlink(link) == "../A Deep/Artist - Title.flac"
    assert link_is_valid(PRIMARY, LINK, "symlink", root=root)

    moved = tmp_path / "elsewhere" / "library"
    moved.parent.mkdir()
    root.rename(moved)
    assert (moved / LINK).read_bytes() == (moved / PRIMARY).read_bytes()
    assert link_is_valid(PRIMARY, LINK, "symlink", root=moved)


def test_an_absolute_symlink_is_invalid_and_remade_relative(root: Path) -> None:
    (root / LINK).parent.mkdir()
    (root / LINK).symlink_to(root / PRIMARY)
    assert not link_is_valid(PRIMARY, LINK, "symlink", root=root)

    make_link(PRIMARY, LINK, "symlink", root=root)
    assert not os.path.isabs(os.readlink(root / LINK))


def test_a_hardlink_shares_the_primary_inode(root: Path) -> None:
    make_link(PRIMARY, LINK, "hardlink", root=root)

    primary, link = (root / PRIMARY).stat(), (root / LINK).stat()
    assert (link.st_dev, link.st_ino) == (primary.st_dev, primary.st_ino)
    assert primary.st_nlink == 2
    assert link_is_valid(PRIMARY, LINK, "hardlink", root=root)
    assert not link_is_valid(PRIMARY, LINK, "copy", root=root)  # a hardlink is not a copy


def test_a_copy_is_equal_and_goes_stale_when_the_primary_changes(root: Path) -> None:
    make_link(PRIMARY, LINK, "copy", root=root)

    assert (root / LINK).read_bytes() == (root / PRIMARY).read_bytes()
    assert (root / LINK).stat().st_ino != (root / PRIMARY).stat().st_ino
    assert link_is_valid(PRIMARY, LINK, "copy", root=root)

    primary_stat = (root / PRIMARY).stat()
    (root / PRIMARY).write_bytes(b"retagged" + (root / PRIMARY).read_bytes()[8:])
    os.utime(root / PRIMARY, (primary_stat.st_atime, primary_stat.st_mtime + 60))
    assert not link_is_valid(PRIMARY, LINK, "copy", root=root)
    with pytest.raises(WouldLoseData):  # a stale copy is trashed first, never overwritten
        make_link(PRIMARY, LINK, "copy", root=root)


def test_a_valid_link_is_left_alone(root: Path) -> None:
    make_link(PRIMARY, LINK, "symlink", root=root)
    before = (root / LINK).lstat()
    make_link(PRIMARY, LINK, "symlink", root=root)
    assert (root / LINK).lstat().st_ino == before.st_ino


def test_repointing_a_link_never_leaves_its_name_missing(root: Path) -> None:
    other = "Playlists/A Deep/Artist - Title (Extended Mix).flac"
    (root / other).write_bytes(b"other")
    make_link(PRIMARY, LINK, "symlink", root=root)

    link = root / LINK
    done = threading.Event()
    missing: list[int] = []

    def watch() -> None:
        while not done.is_set():
            if not os.path.lexists(link):
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(200):
            make_link(other if i % 2 == 0 else PRIMARY, LINK, "symlink", root=root)
    finally:
        done.set()
        watcher.join()
    assert missing == []
    assert link_is_valid(PRIMARY, LINK, "symlink", root=root)
    assert not list((root / "Playlists").rglob(f"{TEMP_PREFIX}*"))


def test_a_symlink_is_replaced_by_a_hardlink_when_the_mode_changes(root: Path) -> None:
    make_link(PRIMARY, LINK, "symlink", root=root)
    make_link(PRIMARY, LINK, "hardlink", root=root)
    assert not (root / LINK).is_symlink()
    assert link_is_valid(PRIMARY, LINK, "hardlink", root=root)


def test_a_real_file_is_never_replaced_by_a_link(root: Path) -> None:
    (root / LINK).parent.mkdir()
    (root / LINK).write_bytes(b"the user's own file")
    for mode in ("symlink", "hardlink", "copy"):
        with pytest.raises(WouldLoseData):
            make_link(PRIMARY, LINK, mode, root=root)
    assert (root / LINK).read_bytes() == b"the user's own file"


def test_remove_link_removes_links_and_refuses_a_real_file(root: Path) -> None:
    make_link(PRIMARY, LINK, "symlink", root=root)
    assert remove_link(LINK, root=root)
    assert not os.path.lexists(root / LINK)
    assert remove_link(LINK, root=root) is False  # already gone: nothing to do

    make_link(PRIMARY, LINK, "hardlink", root=root)
    assert remove_link(LINK, root=root)
    assert (root / PRIMARY).stat().st_nlink == 1

    with pytest.raises(WouldLoseData):
        remove_link(PRIMARY, root=root)
    assert (root / PRIMARY).exists()


def test_links_outside_the_root_are_refused(root: Path, tmp_path: Path) -> None:
    with pytest.raises(OutsideLibraryRoot):
        make_link(PRIMARY, tmp_path / "outside.flac", "symlink", root=root)
    with pytest.raises(OutsideLibraryRoot):
        make_link(PRIMARY, "../outside.flac", "copy", root=root)
    shutil.copy(root / PRIMARY, tmp_path / "foreign.flac")
    with pytest.raises(OutsideLibraryRoot):
        make_link(tmp_path / "foreign.flac", LINK, "hardlink", root=root)
    assert sorted(os.listdir(tmp_path)) == ["foreign.flac", "library"]


def test_moving_a_primary_onto_its_own_hardlink_completes_the_move(root: Path) -> None:
    make_link(PRIMARY, LINK, "hardlink", root=root)
    atomic_move(PRIMARY, LINK, root=root)
    assert not (root / PRIMARY).exists()
    assert (root / LINK).stat().st_nlink == 1
