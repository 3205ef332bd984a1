"""The library's path guard and atomic writes, on a real temporary library."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from tidal_sync_assets.disk.atomic import (
    DestinationExists,
    atomic_move,
    atomic_target,
    atomic_write_bytes,
    remove_stale_temp_files,
)
from tidal_sync_assets.disk.paths import (
    TEMP_PREFIX,
    LibraryPaths,
    LibraryRootMissing,
    OutsideLibraryRoot,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    library = tmp_path / "library"
    (library / "Playlists" / "Deep House").mkdir(parents=True)
    return library


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(f"{TEMP_PREFIX}*")]


# --- the guard -------------------------------------------------------------------------


def test_a_root_relative_path_resolves_inside_the_root(root: Path) -> None:
    library = LibraryPaths(root)
    assert library.resolve("Playlists/Deep House/a.flac") == root / "Playlists/Deep House/a.flac"
    assert library.resolve(root / "Playlists/x.flac") == root / "Playlists/x.flac"
    assert library.relative(root / "Playlists/x.flac") == "Playlists/x.flac"


@pytest.mark.parametrize(
    "hostile",
    [
        "../escape.flac",
        "Playlists/../../escape.flac",
        "Playlists/Deep House/..",
        "/etc/passwd",
        "",
        ".",
        Path("/etc/passwd"),
        Path("relative/as/a/Path.flac"),
    ],
)
def test_paths_escaping_the_root_are_refused(root: Path, hostile: str | Path) -> None:
    with pytest.raises(OutsideLibraryRoot):
        LibraryPaths(root).resolve(hostile)


def test_an_absolute_path_with_dotdot_is_refused_even_if_it_lands_inside(root: Path) -> None:
    with pytest.raises(OutsideLibraryRoot):
        LibraryPaths(root).resolve(root / "Playlists" / ".." / "Playlists" / "a.flac")


def test_a_symlinked_folder_pointing_outside_is_refused_and_nothing_is_written(
    root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "Playlists" / "Evil").symlink_to(outside)

    with pytest.raises(OutsideLibraryRoot):
        LibraryPaths(root).resolve("Playlists/Evil/a.flac")
    with pytest.raises(OutsideLibraryRoot):
        atomic_write_bytes("Playlists/Evil/a.flac", b"data", root=root)
    with pytest.raises(OutsideLibraryRoot):
        atomic_write_bytes("Playlists/Evil/new/a.flac", b"data", root=root)
    assert list(outside.iterdir()) == []


def test_a_symlinked_folder_inside_the_root_is_followed(root: Path) -> None:
    (root / "Playlists" / "Alias").symlink_to(root / "Playlists" / "Deep House")
    resolved = LibraryPaths(root).resolve("Playlists/Alias/a.flac")
    assert resolved == root / "Playlists" / "Deep House" / "a.flac"


def test_the_last_component_is_not_followed(root: Path, tmp_path: Path) -> None:
    link = root / "Playlists" / "Deep House" / "link.flac"
    link.symlink_to(tmp_path / "elsewhere.flac")
    assert LibraryPaths(root).resolve("Playlists/Deep House/link.flac") == link


def test_a_root_reached_through_a_symlink_works(root: Path, tmp_path: Path) -> None:
    (tmp_path / "mounted").symlink_to(root)
    written = atomic_write_bytes("Playlists/a.txt", b"hi", root=tmp_path / "mounted")
    assert written == root / "Playlists" / "a.txt"
    assert (root / "Playlists" / "a.txt").read_bytes() == b"hi"


def test_a_missing_root_is_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "unmounted-usb"
    with pytest.raises(LibraryRootMissing, match="does not exist"):
        atomic_write_bytes("Playlists/A/a.txt", b"hi", root=missing)
    assert not missing.exists()


# --- atomic writes and moves -----------------------------------------------------------


def test_atomic_target_puts_the_file_under_its_final_name_only_on_success(root: Path) -> None:
    final = root / "Playlists" / "New" / "song.flac"
    with atomic_target("Playlists/New/song.flac", root=root) as temp:
        assert temp.parent == final.parent
        assert temp.name.startswith(TEMP_PREFIX) and temp.suffix == ".flac"
        temp.write_bytes(b"audio")
        assert not final.exists()
    assert final.read_bytes() == b"audio"
    assert leftovers(root) == []


def test_a_failing_block_leaves_neither_final_nor_temporary_file(root: Path) -> None:
    final = root / "Playlists" / "Deep House" / "song.flac"
    with (
        pytest.raises(RuntimeError, match="download broke"),
        atomic_target("Playlists/Deep House/song.flac", root=root) as temp,
    ):
        temp.write_bytes(b"half")
        raise RuntimeError("download broke")
    assert not final.exists()
    assert leftovers(root) == []


def test_a_failing_block_keeps_the_previous_file(root: Path) -> None:
    final = root / "Playlists" / "Deep House" / "song.flac"
    final.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_target(final, root=root) as temp:
        temp.write_bytes(b"ne")
        raise RuntimeError
    assert final.read_bytes() == b"old"


def test_a_killed_writer_leaves_no_file_under_the_final_name(root: Path) -> None:
    writer = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from tidal_sync_assets.disk.atomic import atomic_target
        with atomic_target("Playlists/Deep House/song.flac", root=Path(sys.argv[1])) as temp:
            with temp.open("wb") as handle:
                handle.write(b"x" * 65536)
                handle.flush()
                print("half written", flush=True)
                time.sleep(30)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", writer, str(root)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "half written"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    assert not (root / "Playlists" / "Deep House" / "song.flac").exists()
    assert len(leftovers(root)) == 1  # only the prefixed temp file, which the scanner skips
    assert remove_stale_temp_files(root, older_than=timedelta(hours=1)) == 0  # may still be writing
    assert remove_stale_temp_files(root, older_than=timedelta(0)) == 1
    assert leftovers(root) == []


def test_atomic_move_refuses_to_replace_a_different_file(root: Path) -> None:
    folder = root / "Playlists" / "Deep House"
    (folder / "a.flac").write_bytes(b"a")
    (folder / "b.flac").write_bytes(b"b")
    with pytest.raises(DestinationExists):
        atomic_move("Playlists/Deep House/a.flac", "Playlists/Deep House/b.flac", root=root)
    assert (folder / "b.flac").read_bytes() == b"b"

    atomic_move(folder / "a.flac", folder / "b.flac", root=root, overwrite=True)
    assert (folder / "b.flac").read_bytes() == b"a" and not (folder / "a.flac").exists()


def test_atomic_move_renames_a_folder_and_creates_parents(root: Path) -> None:
    (root / "Playlists" / "Deep House" / "a.flac").write_bytes(b"a")
    moved = atomic_move("Playlists/Deep House", "Playlists/Renamed/Deep House 2", root=root)
    assert (moved / "a.flac").read_bytes() == b"a"
    assert not (root / "Playlists" / "Deep House").exists()


def test_atomic_move_refuses_a_destination_outside(root: Path, tmp_path: Path) -> None:
    (root / "Playlists" / "a.flac").write_bytes(b"a")
    with pytest.raises(OutsideLibraryRoot):
        atomic_move("Playlists/a.flac", tmp_path / "stolen.flac", root=root)
    assert (root / "Playlists" / "a.flac").exists()
    assert os.listdir(tmp_path) == ["library"]
