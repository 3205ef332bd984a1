"""One sync at a time per library, and one writer per track, across real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidal_sync_assets.disk.lock import (
    KeyBusy,
    LibraryBusy,
    library_lock,
    read_lock_holder,
    track_lock,
)
from tidal_sync_assets.disk.paths import LibraryRootMissing

REPO = Path(__file__).resolve().parents[1]
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tidal_sync_assets.disk.lock import library_lock
    with library_lock(Path(sys.argv[1]), timeout=5):
        print("locked", flush=True)
        sys.stdin.readline()
    print("released", flush=True)
    """
)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the library lock until told (a line on stdin) to let go."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)


def test_a_second_sync_is_told_who_holds_the_library(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    expected = f"another sync holds the library .*pid {holder.pid}"
    with pytest.raises(LibraryBusy, match=expected) as busy, library_lock(tmp_path, timeout=0.2):
        pytest.fail("the lock was taken twice")
    assert busy.value.holder is not None and busy.value.holder.pid == holder.pid

    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("done\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "released"
    holder.wait(timeout=10)

    with library_lock(tmp_path, timeout=1) as me:
        holding = read_lock_holder(tmp_path)
        assert holding is not None and holding.pid == me.pid
    assert read_lock_holder(tmp_path) is None


def test_a_killed_sync_does_not_leave_the_library_locked(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    with library_lock(tmp_path, timeout=1) as me:
        holding = read_lock_holder(tmp_path)
        assert holding is not None and holding.pid == me.pid  # the stale record was replaced


def test_a_missing_root_is_a_clear_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "not-mounted"
    with pytest.raises(LibraryRootMissing), library_lock(missing, timeout=0):
        pass
    assert not missing.exists()


def test_the_lock_lives_in_the_internal_folder_only(tmp_path: Path) -> None:
    with library_lock(tmp_path, timeout=0):
        pass
    assert [p.name for p in tmp_path.iterdir()] == [".tidal-sync"]
    assert (tmp_path / ".tidal-sync" / "sync.lock").exists()


def test_one_writer_per_track_across_threads(tmp_path: Path) -> None:
    held, release = threading.Event(), threading.Event()

    def downloader() -> None:
        with track_lock(tmp_path, 42):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=downloader)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(KeyBusy), track_lock(tmp_path, 42, timeout=0.1):
            pass
        with track_lock(tmp_path, 43, timeout=0.1):  # another track is not blocked
            pass
    finally:
        release.set()
        thread.join()
    with track_lock(tmp_path, 42, timeout=0.1):
        pass
