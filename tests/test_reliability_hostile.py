"""Reliability, hostile input: nasty names from TIDAL and a nasty library on disk.

Every hostile playlist and track name of the demo catalog and more; corrupt audio; a
symlink loop; a link out of the root; a user's file that is named like a TIDAL track but is
not that track; names that are not UTF-8. The user's things stay exactly as they were.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from tests.fixtures.library import make_audio
from tests.fixtures.reliability import (
    AFTERNOON,
    ALPHA,
    BRAVO,
    CHARLIE,
    Reliability,
    new_track,
    small_account,
    synced,
)
from tests.fixtures.sync import World, story_playlist
from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.sandbox.catalog import DEMO_CATALOG_PATH, load_catalog, playlist_from_dict

HOSTILE_NAMES = [
    "ctrl\x00\x07\x1b[31mred\x7f",
    "\u202eevil\u202c.flac",  # right-to-left override
    "\u200fRTL mark\u200e",
    "...",
    ".",
    "   ",
    "\t\n",
    "é" * 500,  # 1,000 bytes
    "🎧" * 300,  # 1,200 bytes
    "Same?Name",
    "Same:Name",
    "Same_Name",
    "same_name",
    "nul",
    "COM1.txt",
    "Late Night. ",
    "e\u0301 decomposed",
    "é decomposed",
]


def _sane(name: str) -> bool:
    return (
        name not in (".", "..")
        and not set('/\\:*?"<>|') & set(name)
        and not any(unicodedata.category(c) == "Cc" for c in name)
        and len(name.encode()) <= 255
        and name == unicodedata.normalize("NFC", name)
        and not name.endswith((".", " "))
    )


@pytest.mark.slow
def test_every_hostile_name_of_the_demo_catalog_and_more(
    sync_world: World, reliability: Reliability
) -> None:
    catalog = load_catalog(DEMO_CATALOG_PATH)
    for n, name in enumerate(HOSTILE_NAMES):
        track_id = 9000 + n
        # Tags are read back stripped: a title all of whitespace is bracketed by letters.
        title, artist = f"T{name}T", f"A{name[::-1]}A"
        catalog.put_track(new_track(track_id, title, artist, audio_seconds=0.3))
        uuid = f"babe0000-0000-4000-8000-{n:012d}"
        catalog.put_playlist(playlist_from_dict(story_playlist(uuid, name, [track_id, 1001])))
    world = sync_world(catalog)
    case = reliability("hostile", world)

    result = world.sync()

    assert result.code == 0, result
    case.check()
    for path in (world.root / "Playlists").rglob("*"):
        assert _sane(path.name), path
    assert world.sync().code == 0  # names are stable: nothing to do the second time


def test_a_hostile_library_on_disk_is_left_exactly_as_it_was(
    sync_world: World, reliability: Reliability, tmp_path: Path
) -> None:
    world = sync_world(small_account())
    folder = world.root / "Playlists" / "Afternoon"  # the user's own folder, adopted
    # Named like Alpha, but 20 s long where TIDAL says 180 s: not Alpha.
    impostor = make_audio(folder / "Ann - Alpha.flac", "flac", 20.0)
    # Named like Bravo, and not audio at all.
    corrupt = folder / "Ben - Bravo.flac"
    corrupt.write_bytes(b"fLaC" + os.urandom(2000))
    # A name that is not UTF-8.
    raw = os.fsencode(folder) + b"/\xff\xfe mix \xe9.flac"
    with open(raw, "wb") as handle:
        handle.write(b"not decodable, not ours")
    # A symlink loop, a folder link to itself, a dangling link.
    (folder / "loop-a").symlink_to("loop-b")
    (folder / "loop-b").symlink_to("loop-a")
    (folder / "self").symlink_to(".")
    (folder / "gone.flac").symlink_to("nowhere.flac")
    # A link out of the root to a real file that *is* tagged as Charlie: never followed,
    # adopted, moved or trashed.
    secret = make_audio(
        tmp_path / "outside" / "secret.flac",
        "flac",
        0.5,
        tags=AudioTags(title="Charlie", artist="Cat", tidal_track_id=CHARLIE),
    )
    (folder / "outside.flac").symlink_to(os.path.relpath(secret, folder))
    own = [
        "Ann - Alpha.flac",
        "Ben - Bravo.flac",
        os.fsdecode(b"\xff\xfe mix \xe9.flac"),
        "loop-a",
        "loop-b",
        "self",
        "gone.flac",
        "outside.flac",
    ]
    impostor_bytes, secret_bytes = impostor.read_bytes(), secret.read_bytes()
    case = reliability("hostile", world, outside=[secret])

    result = world.sync()

    assert result.code == 0, result
    case.check(user_files={AFTERNOON: own}, primaries_by_folder_name=True)
    assert impostor.read_bytes() == impostor_bytes
    assert secret.read_bytes() == secret_bytes
    assert world.primary(ALPHA).name == "Ann - Alpha (2).flac"
    assert world.primary(BRAVO).name == "Ben - Bravo (2).flac"
    assert world.primary(CHARLIE).parent == folder and not world.primary(CHARLIE).is_symlink()


def test_a_managed_file_gone_corrupt_is_downloaded_again_and_the_corrupt_one_kept(
    sync_world: World, reliability: Reliability
) -> None:
    world = synced(sync_world(small_account()))
    bravo = world.primary(BRAVO)
    bravo.write_bytes(b"fLaC" + b"\x00" * 64)  # a disk error ate it
    case = reliability("hostile", world)

    result = world.sync()

    assert result.code == 0, result
    case.check(primaries_by_folder_name=True)
    assert world.requests(rf"^/_audio/{BRAVO}\b")
