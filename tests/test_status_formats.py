"""``tidal-sync status --format csv|json``: after a real sync against the sandbox, the
library as a spreadsheet, one row per playlist entry, read back with the ``csv`` and
``json`` modules (not pandas) and checked against the disk and the catalog."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.fixtures.sync import World, story_catalog, story_playlist, story_track
from tidal_sync_assets.disk.tags import read_tags
from tidal_sync_assets.dj.keys import classic_key

HEADER = ["playlist", "position", "artist", "title", "file", "quality", "codec", "bpm", "key"]
HOSTILE = 'Peak, "Time"\nafter; hours 🎧🔥'
CATALOG = story_catalog(
    [
        story_track(1, "Opener", "Ann, Bee", bpm=124, key="FSharp", keyScale="MINOR"),
        story_track(2, "Roller", "Cee", bpm=128, key="C", keyScale="MAJOR"),
        story_track(3, "Closer", "Dee"),  # TIDAL knows no BPM or key
    ],
    [
        story_playlist("aaaaaaaa-0000-4000-8000-000000000001", HOSTILE, [2, 1, 3]),
        story_playlist("aaaaaaaa-0000-4000-8000-000000000002", "Warm Up", [1, 2]),
    ],
)


def test_status_csv_lists_every_entry_of_the_synced_library(sync_world: World) -> None:
    world = sync_world(CATALOG)
    assert world.sync().code == 0
    result = world.cli("status", "--format", "csv")
    assert result.code == 0, result.err

    rows = list(csv.DictReader(io.StringIO(result.out, newline="")))
    assert list(rows[0]) == [*HEADER, "status"]
    by_playlist: dict[str, list[int]] = {}
    for row in rows:
        path = world.root / row["file"]
        assert Path(row["file"]).parts[0] == "Playlists" and path.is_file(), row
        track = read_tags(path).tidal_track_id
        assert track is not None
        expected = CATALOG.track(track)
        assert expected is not None
        assert (row["artist"], row["title"]) == (", ".join(expected.artists), expected.title)
        assert (float(row["bpm"]) if row["bpm"] else None) == expected.bpm
        assert (row["key"] or None) == classic_key(expected.key, expected.key_scale)
        assert row["status"] == "downloaded" and row["quality"] and row["codec"], row
        by_playlist.setdefault(row["playlist"], []).append(track)
        assert int(row["position"]) == len(by_playlist[row["playlist"]])
    # The hostile name survives the round trip, commas, quotes, newline and emoji alike.
    assert by_playlist == {p.title: list(p.track_ids) for p in CATALOG.own_playlists()}


def test_status_json_is_one_object_per_entry_and_table_stays_per_playlist(
    sync_world: World,
) -> None:
    world = sync_world(CATALOG)
    assert world.sync().code == 0

    entries = json.loads(world.cli("status", "--format", "json").out)
    assert [(e["playlist"], e["position"], e["title"]) for e in entries] == [
        (HOSTILE, 1, "Roller"),
        (HOSTILE, 2, "Opener"),
        (HOSTILE, 3, "Closer"),
        ("Warm Up", 1, "Opener"),
        ("Warm Up", 2, "Roller"),
    ]
    assert (entries[2]["bpm"], entries[2]["key"]) == (None, None)
    assert (entries[1]["bpm"], entries[1]["key"]) == (124, "F#m")

    table = world.cli("status").out.splitlines()
    assert table[0].split() == ["playlist", "status", "tracks", "missing", "failed"]
    assert table[-2].split()[-4:] == ["in_sync", "2", "0", "0"]  # Warm Up, then damaged files
