"""A damaged file is never adopted, tagged or otherwise changed (issue 13, part 1).

The account: "Afternoon" [Alpha, Bravo] and "Chill" [Charlie]. Each track lasts 3 s on
TIDAL and in the sandbox's audio, so a whole file agrees with TIDAL's duration. The
damaged files are real FLACs cut after their first kilobytes: STREAMINFO is intact, so a
tag reader opens them and reports the full 3 s; only decoding shows they are short.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import mutagen
import pytest
import soundfile
from dagster import AssetKey, DagsterInstance

from tests.fixtures.library import make_audio
from tests.fixtures.sync import SyncWorld, World, story_catalog, story_playlist, story_track
from tidal_sync_assets.database import ScannedFile
from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.disk.integrity import damage
from tidal_sync_assets.library.verify import verify_library

AFTERNOON = "0a0a0a0a-0000-4000-8000-00000000000a"
CHILL = "0c0c0c0c-0000-4000-8000-00000000000c"
ALPHA, BRAVO, CHARLIE = 1, 2, 3
SECONDS = 3.0
MANIFEST = ".tidal-sync/trash/manifest.jsonl"


def account(sync_world: World) -> SyncWorld:
    whole = {"duration": int(SECONDS), "audio_seconds": SECONDS}
    return sync_world(
        story_catalog(
            [
                story_track(ALPHA, "Alpha", "Ann", **whole),
                story_track(BRAVO, "Bravo", "Ben", **whole),
                story_track(CHARLIE, "Charlie", "Cat", **whole),
            ],
            [
                story_playlist(AFTERNOON, "Afternoon", [ALPHA, BRAVO], day=1),
                story_playlist(CHILL, "Chill", [CHARLIE], day=2),
            ],
        )
    )


def truncated_flac(path: Path, tags: AudioTags | None = None, keep: int = 4096) -> Path:
    """A 3 s FLAC cut after ``keep`` bytes; a tag reader still sees all 3 s."""
    make_audio(path, "flac", SECONDS, tags=tags)
    path.write_bytes(path.read_bytes()[:keep])
    info = mutagen.File(path).info  # type: ignore[attr-defined]
    assert abs(info.length - SECONDS) < 0.01, "the cut must leave STREAMINFO intact"
    return path


def decodes_whole(path: Path) -> bool:
    """Decoded to the end by an independent reader, and as long as TIDAL says."""
    frames = 0
    with soundfile.SoundFile(path) as audio:
        rate = audio.samplerate
        for block in audio.blocks(blocksize=4096):
            frames += len(block)
    return abs(frames / rate - SECONDS) < 0.1


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scan_metadata() -> dict[str, Any]:
    event = DagsterInstance.get().get_latest_materialization_event(AssetKey("filesystem_snapshot"))
    assert event is not None and event.asset_materialization is not None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def trashed(world: SyncWorld) -> dict[str, dict[str, Any]]:
    manifest = world.root / MANIFEST
    lines = manifest.read_text().splitlines() if manifest.exists() else []
    return {e["original_path"]: e for e in map(json.loads, lines)}


def verdicts(world: SyncWorld) -> dict[str, tuple[bool, str | None]]:
    with world.engine.connect() as connection:
        rows = connection.execute(
            ScannedFile.__table__.select().where(ScannedFile.audio_checked.is_(True))
        ).all()
    return {row.path: (row.audio_checked, row.audio_damage) for row in rows}


def test_a_truncated_copy_named_as_the_track_is_trashed_untouched_and_the_track_downloaded_whole(
    sync_world: World,
) -> None:
    world = account(sync_world)
    # Before the first sync: the DJ's own, cut-short copy of Alpha, named exactly as the
    # product names Alpha in "Afternoon".
    afternoon = world.root / "Playlists" / "Afternoon"
    damaged = truncated_flac(afternoon / "Ann - Alpha.flac")
    original = sha256(damaged)
    relative = damaged.relative_to(world.root).as_posix()

    result = world.sync()

    assert result.code == 0, result
    report = world.check()
    # The track got a complete file of its own at its path, downloaded from TIDAL.
    assert report.primaries[ALPHA] == damaged
    assert decodes_whole(damaged)
    assert world.requests(rf"^/_audio/{ALPHA}\b")
    assert sorted(p.name for p in afternoon.iterdir() if p.suffix == ".flac") == [
        "Ann - Alpha.flac",
        "Ben - Bravo.flac",
    ]
    # The user's bytes went to the trash unchanged, with a manifest entry.
    entry = trashed(world)[relative]
    assert sha256(world.root / entry["trash_path"]) == original
    assert entry["reason"].startswith("damaged (does not decode"), entry
    # The scan that found it says so, and so does `tidal-sync status`.
    metadata = scan_metadata()
    assert metadata["damaged"] == 1
    assert relative in [r.data["path"] for r in metadata["damaged files"].records]
    assert metadata["files decoded"] == 1
    status = world.cli("status")
    assert status.code == 0 and "damaged files: 1" in status.out, status

    # The next scan decodes the file now at that path once (it changed), finds it whole,
    # and nothing is downloaded again; the one after decodes nothing at all.
    world.sandbox.clear_log()
    assert world.sync().code == 0
    assert scan_metadata()["files decoded"] == 1
    assert scan_metadata()["damaged"] == 0
    assert world.audio_requests() == []
    assert "damaged files: 0" in world.cli("status").out
    assert world.graph_sync().exit_code == 0  # the scan itself (a quiet sync scans nothing)
    assert scan_metadata()["files decoded"] == 0

    # The DJ wants the broken copy back: once the path is free, restore gives the same bytes.
    damaged.unlink()
    restored = world.cli("trash", "restore", entry["id"])
    assert restored.code == 0, restored
    assert sha256(damaged) == original


def test_a_damaged_copy_elsewhere_stays_untouched_and_is_decoded_only_once(
    sync_world: World,
) -> None:
    world = account(sync_world)
    # Tagged with Bravo's ISRC, in "Chill" (which does not hold Bravo): an adoption
    # candidate by ISRC, but damaged. It is not in the way of anything.
    bootleg = truncated_flac(
        world.root / "Playlists" / "Chill" / "bravo rip.flac",
        tags=AudioTags(title="Bravo", artist="Ben", isrc="QZSTY0000002"),
    )
    original, inode = sha256(bootleg), bootleg.stat().st_ino
    relative = bootleg.relative_to(world.root).as_posix()

    result = world.sync()

    assert result.code == 0, result
    world.check(user_files={CHILL: ["bravo rip.flac"]})
    assert sha256(bootleg) == original and bootleg.stat().st_ino == inode
    assert decodes_whole(world.primary(BRAVO))
    assert world.primary(BRAVO) != bootleg
    assert relative not in trashed(world)
    (checked, why) = verdicts(world)[relative]
    assert checked and why is not None and "decode" in why
    assert scan_metadata()["files decoded"] == 1

    # Later scans keep the stored verdict: the file is not decoded again, still not adopted.
    assert world.sync().code == 0
    metadata = scan_metadata()
    assert metadata["files decoded"] == 0
    assert metadata["damaged"] == 1 and relative in [
        r.data["path"] for r in metadata["damaged files"].records
    ]
    assert sha256(bootleg) == original
    assert "damaged files: 1" in world.cli("status").out


def test_a_managed_file_cut_short_on_disk_is_reported_then_downloaded_again(
    sync_world: World,
) -> None:
    world = account(sync_world)
    assert world.sync().code == 0
    primary = world.primary(BRAVO)
    whole = primary.read_bytes()
    # A disk error cuts the managed file short in place (same inode, new size and mtime).
    with primary.open("r+b") as handle:
        handle.truncate(4096)
    cut = sha256(primary)
    relative = primary.relative_to(world.root).as_posix()

    # A dry run scans and plans: the changed primary is decoded and found damaged, and
    # the consistency check reports it while it is still on disk.
    planned = world.sync("--dry-run")
    assert planned.code == 0, planned
    assert scan_metadata()["files decoded"] == 1
    consistency = verify_library(world.engine, world.root, world.link_mode)  # type: ignore[arg-type]
    assert [p for p in consistency.problems if p[0] == relative and "damaged" in p[1]]

    world.sandbox.clear_log()
    result = world.sync()

    assert result.code == 0, result
    world.check()
    assert world.primary(BRAVO) == primary
    assert decodes_whole(primary) and primary.read_bytes() == whole
    assert world.requests(rf"^/_audio/{BRAVO}\b")
    assert sha256(world.root / trashed(world)[relative]["trash_path"]) == cut
    assert verify_library(world.engine, world.root, world.link_mode).ok  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a"])
def test_a_whole_file_is_intact_and_a_cut_or_shorter_one_is_not(tmp_path: Path, fmt: str) -> None:
    whole = make_audio(tmp_path / f"whole.{fmt}", fmt, SECONDS)
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])

    assert damage(whole, SECONDS) is None
    assert damage(whole, None) is None  # TIDAL's length unknown: decoding to the end is enough
    assert damage(whole, SECONDS + 5) == f"decodes to 3.0 s, TIDAL says {SECONDS + 5:g} s"
    assert damage(cut, SECONDS) is not None
