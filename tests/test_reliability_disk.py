"""Reliability, disk faults: a full, read-only, missing or half-forbidden library loses nothing.

A full disk and a read-only library are real mounts (a small tmpfs, a read-only bind
mount), so these cases need root with CAP_SYS_ADMIN and skip elsewhere, saying so. A folder
the sync may not enter is made with chmod 000 and a sync whose process has dropped
CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (root ignores file modes otherwise).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.reliability import (
    ALPHA,
    BOUNCE,
    CHILL,
    DELTA,
    FOXTROT,
    Reliability,
    Spawn,
    new_track,
    small_account,
    synced,
)
from tests.fixtures.sync import World

pytestmark = pytest.mark.slow


def _mount(*argv: str) -> str | None:
    """Run mount(8); None on success, else why it failed."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "needs root and mount(8)"
    done = subprocess.run(["mount", *argv], capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else (done.stderr.strip() or "mount failed")


@pytest.fixture
def mounts() -> Iterator[Callable[..., None]]:
    """``mount(*argv, target)``: mount, or skip the test with the reason; unmounted after."""
    mounted: list[Path] = []

    def mount(*argv: str) -> None:
        problem = _mount(*argv)
        if problem is not None:
            pytest.skip(f"cannot mount here ({problem}); this case needs a real mount")
        mounted.append(Path(argv[-1]))

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], check=False)


def _free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_a_full_disk_fails_downloads_cleanly_and_loses_nothing(
    sync_world: World, reliability: Reliability, mounts: Callable[..., None]
) -> None:
    world = sync_world(small_account())
    world.root.mkdir()
    mounts("-t", "tmpfs", "-o", "size=4m", "tidal-sync-full", str(world.root))
    # The user's own big file leaves room for locks and a folder or two, not for audio.
    filler = world.root / "Playlists" / "Afternoon" / "my big mix.wav"
    filler.parent.mkdir(parents=True)
    filler.write_bytes(b"\0" * (_free_bytes(world.root) - 24 * 1024))
    case = reliability("disk", world)

    result = world.sync()

    assert result.code in (1, 3), result
    assert "Traceback" not in result.err
    assert "No space left" in result.err or "space" in result.err.lower(), result
    case.check(converge=False)
    filler.unlink()  # the user makes room
    case.check(
        meant_to_go={filler.relative_to(world.root).as_posix()},
        primaries_by_folder_name=True,
    )


def test_a_read_only_library_is_refused_clearly_and_loses_nothing(
    sync_world: World, reliability: Reliability, mounts: Callable[..., None]
) -> None:
    world = synced(sync_world(small_account()))
    world.catalog.put_track(new_track(FOXTROT, "Foxtrot", "Fay"))
    world.catalog.add_playlist_tracks(CHILL, [FOXTROT, ALPHA])
    world.catalog.remove_playlist_tracks(BOUNCE, [DELTA])
    mounts("--bind", str(world.root), str(world.root))
    mounts("-o", "remount,bind,ro", str(world.root))
    case = reliability("disk", world)

    result = world.sync()

    assert result.code in (1, 3), result
    assert "Traceback" not in result.err
    assert "read-only" in result.err.lower(), result
    case.check(converge=False)
    subprocess.run(["umount", str(world.root)], check=True)
    case.check()


def test_a_missing_library_root_creates_nothing_and_removes_nothing(
    sync_world: World,
    reliability: Reliability,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    world = synced(sync_world(small_account()))
    case = reliability("disk", world)
    drive = tmp_path_factory.mktemp("unplugged-drive") / "library"
    world.root.rename(drive)  # the drive is unmounted

    result = world.sync()

    assert result.code == 3, result
    assert "does not exist" in result.err and "mount" in result.err, result
    assert "Traceback" not in result.err
    assert not world.root.exists()
    assert world.sync("--dry-run").code != 0
    assert not world.root.exists()
    drive.rename(world.root)  # and mounted again
    case.check()


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, PR_CAPBSET_DROP = 1, 2, 24


def _without_dac_override() -> None:
    """In the child before exec: root loses the capabilities that ignore file modes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_a_folder_the_sync_may_not_enter_fails_its_playlist_only(
    sync_world: World, reliability: Reliability, spawn: Spawn
) -> None:
    world = synced(sync_world(small_account()))
    world.catalog.put_track(new_track(FOXTROT, "Foxtrot", "Fay"))
    world.catalog.add_playlist_tracks(BOUNCE, [FOXTROT])
    world.catalog.add_playlist_tracks(CHILL, [ALPHA])
    bounce = world.folder(BOUNCE)
    case = reliability("disk", world)
    bounce.chmod(0)
    try:
        child = spawn(world, preexec_fn=_without_dac_override if os.geteuid() == 0 else None)
        code = child.finish()
        output = child.output()
    finally:
        bounce.chmod(0o755)

    assert code == 1, output
    assert "Bounce failed" in output and "Traceback" not in output
    assert "Chill failed" not in output
    case.check()
