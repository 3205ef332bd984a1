"""The Rekordbox XML: DJ software sees each track once, at its real file.

The account: "Afternoon" [Alpha, Bravo, Charlie], "Bounce" [Charlie, Delta] and "Chill"
[Charlie, Echo], with TIDAL's BPM, key and release date on most tracks. Each scenario
syncs it through `tidal-sync sync`, then reads the XML back with two independent parsers
(pyrekordbox and ElementTree) and checks it against the sandbox catalog and the disk.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

import av
import mutagen
import pytest
import soundfile
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DefaultSensorStatus,
    evaluate_automation_conditions,
)
from pyrekordbox.rbxml import RekordboxXml
from sqlalchemy import func, select

from tests.fixtures.sync import (
    STORY_USER,
    SyncWorld,
    World,
    story_catalog,
    story_playlist,
    story_track,
)
from tidal_sync_assets.database import Plan, ScanRecord, TidalSnapshotRecord
from tidal_sync_assets.defs.partitions import PLAYLIST_PARTITIONS
from tidal_sync_assets.dj.export import export_rekordbox
from tidal_sync_assets.dj.keys import classic_key, in_notation
from tidal_sync_assets.dj.rekordbox import location
from tidal_sync_assets.sandbox.catalog import Catalog, playlist_from_dict, track_from_dict
from tidal_sync_assets.sandbox.images import cover_jpeg
from tidal_sync_assets.sandbox.payloads import cover_id
from tidal_sync_assets.settings import LINK_MODES

AFTERNOON = "0a0a0a0a-0000-4000-8000-00000000000a"
BOUNCE = "0b0b0b0b-0000-4000-8000-00000000000b"
CHILL = "0c0c0c0c-0000-4000-8000-00000000000c"
ZEN = "0d0d0d0d-0000-4000-8000-00000000000d"
ALPHA, BRAVO, CHARLIE, DELTA, ECHO, FOXTROT = 1, 2, 3, 4, 5, 6
TIDAL_ORDER = {
    "Afternoon": [ALPHA, BRAVO, CHARLIE],
    "Bounce": [CHARLIE, DELTA],
    "Chill": [CHARLIE, ECHO],
}


def dj_world(sync_world: World) -> SyncWorld:
    dj = {"release_date": "2023-06-30"}
    return sync_world(
        story_catalog(
            [
                story_track(ALPHA, "Alpha", "Ann", bpm=124, key="A", keyScale="MINOR", **dj),
                story_track(BRAVO, "Bravo", "Ben", bpm=128, key="FSharp", keyScale="MAJOR"),
                story_track(CHARLIE, "Charlie", "Cat", bpm=122, key="Eb", keyScale="MINOR"),
                story_track(DELTA, "Delta", "Dan"),  # TIDAL knows no BPM or key
                story_track(ECHO, "Echo", "Eve", bpm=100, key="C", keyScale="DORIAN"),
            ],
            [
                story_playlist(AFTERNOON, "Afternoon", TIDAL_ORDER["Afternoon"], day=1),
                story_playlist(BOUNCE, "Bounce", TIDAL_ORDER["Bounce"], day=2),
                story_playlist(CHILL, "Chill", TIDAL_ORDER["Chill"], day=3),
            ],
        )
    )


@dataclass(frozen=True)
class Exported:
    """The XML as ElementTree reads it: TrackID → (TIDAL track, attributes); playlists."""

    by_id: dict[int, tuple[int, dict[str, str]]]
    playlists: dict[str, list[int]]  # name → TIDAL tracks in XML order
    folders: list[str]  # the names of the nodes under ROOT


def read_xml(world: SyncWorld, path: Path) -> Exported:
    """Parse with ElementTree and pyrekordbox and assert what every export must hold."""
    root = ET.parse(path).getroot()
    assert (root.tag, root.get("Version")) == ("DJ_PLAYLISTS", "1.0.0")
    assert root.find("PRODUCT") is not None
    collection = root.find("COLLECTION")
    assert collection is not None
    tracks = collection.findall("TRACK")
    assert int(collection.get("Entries", "-1")) == len(tracks)
    by_primary = {world.root / row.file_path: t for t, row in world.track_rows().items()}
    by_id: dict[int, tuple[int, dict[str, str]]] = {}
    for track in tracks:
        where = track.get("Location", "")
        assert where.startswith("file://localhost/")
        file = Path(unquote(where.removeprefix("file://localhost")))
        assert file.is_file() and not file.is_symlink(), f"{file} is not a real file"
        assert os.stat(file).st_size == int(track.get("Size", "-1"))
        by_id[int(track.get("TrackID", "0"))] = (by_primary[file], dict(track.attrib))
    assert len({tidal for tidal, _ in by_id.values()}) == len(by_id), "a track listed twice"
    (top,) = root.findall("PLAYLISTS/NODE")
    assert (top.get("Type"), top.get("Name")) == ("0", "ROOT")
    playlists: dict[str, list[int]] = {}
    for node in top.iter("NODE"):
        if node.get("Type") == "1":
            keys = [int(t.get("Key", "0")) for t in node.findall("TRACK")]
            assert node.get("KeyType") == "0"
            assert int(node.get("Entries", "-1")) == len(keys)
            playlists[str(node.get("Name"))] = [by_id[key][0] for key in keys]
        else:
            assert int(node.get("Count", "-1")) == len(node.findall("NODE"))

    independent = RekordboxXml(path)
    assert independent.num_tracks == len(tracks)
    assert sorted(independent.get_track_ids()) == sorted(by_id)
    (tidal,) = independent.root_playlist_folder.get_playlists()
    assert tidal.is_folder and tidal.name == "TIDAL"
    return Exported(by_id, playlists, [n.get("Name", "") for n in top.findall("NODE")])


def ids_by_track(exported: Exported) -> dict[int, int]:
    return {tidal: track_id for track_id, (tidal, _) in exported.by_id.items()}


def test_every_track_is_one_collection_entry_at_its_primary_and_playlists_sit_in_tidal(
    sync_world: World,
) -> None:
    world = dj_world(sync_world)

    result = world.sync()

    assert result.code == 0, result
    xml = world.root / "rekordbox.xml"
    assert f"Rekordbox XML: 5 tracks, 3 playlists → {xml}" in result.out
    exported = read_xml(world, xml)
    assert exported.folders == ["TIDAL"]
    assert exported.playlists == TIDAL_ORDER
    attributes = {tidal: attrs for tidal, attrs in exported.by_id.values()}
    alpha = attributes[ALPHA]
    assert (alpha["Name"], alpha["Artist"], alpha["Album"]) == ("Alpha", "Ann", "Alpha EP")
    # TIDAL's duration is the served audio's length in whole seconds (0.5 s here → 1).
    assert (alpha["Kind"], alpha["TotalTime"], alpha["Year"]) == ("FLAC File", "1", "2023")
    # The rates are the delivered file's, as an independent reader finds them.
    alpha_file = world.root / world.track_rows()[ALPHA].file_path
    assert int(alpha["SampleRate"]) == soundfile.info(alpha_file).samplerate
    average = os.stat(alpha_file).st_size * 8 / int(alpha["TotalTime"]) / 1000
    assert int(alpha["BitRate"]) == round(average)
    assert (alpha["AverageBpm"], alpha["Tonality"]) == ("124.00", "Am")
    assert (attributes[BRAVO]["Tonality"], attributes[CHARLIE]["Tonality"]) == ("F#", "Ebm")
    assert "AverageBpm" not in attributes[DELTA] and "Tonality" not in attributes[DELTA]
    assert "Tonality" not in attributes[ECHO]  # a Dorian scale has no DJ notation
    assert attributes[DELTA]["Year"] == "2020"  # the album's release date


def test_downloaded_files_carry_tidals_bpm_key_and_year_as_dj_tags(sync_world: World) -> None:
    world = dj_world(sync_world)

    assert world.sync().code == 0

    found = {}
    for track in (ALPHA, BRAVO, CHARLIE, DELTA, ECHO):
        tags = mutagen.File(world.primary(track)).tags
        found[track] = tuple(tags.get(k, [None])[0] for k in ("BPM", "INITIALKEY", "DATE"))
    assert found == {
        ALPHA: ("124", "Am", "2023"),
        BRAVO: ("128", "F#", "2020"),
        CHARLIE: ("122", "Ebm", "2020"),
        DELTA: (None, None, "2020"),
        ECHO: ("100", None, "2020"),
    }
    # Each file embeds its album's front cover, as TIDAL's image server sent it at 640 px.
    for track in (ALPHA, BRAVO, CHARLIE, DELTA, ECHO):
        picture = mutagen.File(world.primary(track)).pictures[0]
        album = world.catalog.album_id(world.catalog.track(track))  # type: ignore[arg-type]
        assert (picture.type, picture.mime) == (3, "image/jpeg")
        assert picture.data == cover_jpeg(cover_id(album))
    images = world.requests("^/images/")
    assert len(images) <= 5 and all(path.endswith("/640x640.jpg") for path in images)


def dj_tags(path: Path) -> tuple[str | None, ...]:
    tags = mutagen.File(path).tags
    return tuple(tags.get(k, [None])[0] for k in ("BPM", "INITIALKEY", "DATE"))


def quiet_since(world: SyncWorld) -> tuple[int | None, int | None]:
    """The latest scan's changed rows and the latest plan's actions."""
    with world.engine.connect() as connection:
        scan = connection.execute(
            select(ScanRecord.changes).where(
                ScanRecord.id == select(func.max(ScanRecord.id)).scalar_subquery()
            )
        ).scalar()
        plan = connection.execute(
            select(Plan.actions).where(Plan.id == select(func.max(Plan.id)).scalar_subquery())
        ).scalar()
    return scan, plan


@pytest.mark.parametrize("link_mode", LINK_MODES)
def test_tidal_changing_a_tracks_bpm_and_key_retags_its_file_in_place(sync_world: World) -> None:
    world = dj_world(sync_world)
    assert world.sync().code == 0
    primary = world.primary(ALPHA)
    inode, cover = primary.stat().st_ino, mutagen.File(primary).pictures[0].data
    alpha, charlie = world.catalog.track(ALPHA), world.catalog.track(CHARLIE)
    assert alpha is not None and charlie is not None
    world.catalog.put_track(dataclasses.replace(alpha, bpm=126, key="C", key_scale="MAJOR"))
    world.catalog.put_track(dataclasses.replace(charlie, bpm=121))  # in all three playlists
    # TIDAL's new values reach the snapshot when a playlist that holds the track is fetched
    # again (its lastUpdated moved): here its curator edits its description.
    world.catalog.update_playlist(AFTERNOON, description="warmer")
    world.sandbox.clear_log()

    result = world.sync()

    assert result.code == 0, result
    assert dj_tags(primary) == ("126", "C", "2023")
    assert primary.stat().st_ino == inode and world.primary(ALPHA) == primary
    assert mutagen.File(primary).pictures[0].data == cover  # the cover stays
    assert world.audio_requests() == []  # nothing downloaded again
    assert "Afternoon: 2 retag" in result.out
    # Its links are the primary itself (symlink, hard link) or copies re-tagged with it.
    for folder in ("Afternoon", "Bounce", "Chill"):
        assert dj_tags(world.root / "Playlists" / folder / "Cat - Charlie.flac")[0] == "121"
    attributes = {t: a for t, a in read_xml(world, world.root / "rekordbox.xml").by_id.values()}
    assert (attributes[ALPHA]["AverageBpm"], attributes[ALPHA]["Tonality"]) == ("126.00", "C")
    instance = DagsterInstance.get()
    planned = instance.get_latest_materialization_event(AssetKey("dedup_plan"))
    library = instance.get_latest_materialization_event(AssetKey("playlist_library"))
    assert planned is not None and planned.asset_materialization is not None
    assert library is not None and library.asset_materialization is not None
    assert planned.asset_materialization.metadata["actions retag"].value == 2
    assert library.asset_materialization.metadata["files retagged"].value == 2
    # The scan's record follows the re-tagged file: the next sync reads nothing again.
    again = world.sync()
    assert again.code == 0, again
    assert quiet_since(world) == (0, 0)
    assert world.audio_requests() == []


def test_another_key_notation_retags_the_keys_in_place(
    sync_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = dj_world(sync_world)
    assert world.sync().code == 0
    world.sandbox.clear_log()
    monkeypatch.setenv("TIDAL_SYNC_KEY_NOTATION", "camelot")
    # The resources read which variables are set when the definitions load.
    importlib.reload(importlib.import_module("tidal_sync_assets.definitions"))

    result = world.sync()

    assert result.code == 0, result
    found = {track: dj_tags(world.primary(track))[1] for track in (ALPHA, BRAVO, CHARLIE, DELTA)}
    assert found == {ALPHA: "8A", BRAVO: "2B", CHARLIE: "2A", DELTA: None}
    assert world.audio_requests() == []
    assert world.sync().code == 0 and quiet_since(world) == (0, 0)


def test_trackids_stay_when_playlists_are_renamed_tracks_removed_and_added(
    sync_world: World,
) -> None:
    world = dj_world(sync_world)
    assert world.sync().code == 0
    xml = world.root / "rekordbox.xml"
    before = ids_by_track(read_xml(world, xml))
    world.catalog.rename_playlist(BOUNCE, "Zbounce")
    world.catalog.remove_playlist_tracks(AFTERNOON, [CHARLIE])  # its primary moves on
    world.catalog.put_track(track_from_dict(story_track(FOXTROT, "Foxtrot", "Fay")))
    world.catalog.put_playlist(playlist_from_dict(story_playlist(ZEN, "Zen", [FOXTROT, ALPHA])))

    result = world.sync()

    assert result.code == 0, result
    after = read_xml(world, xml)
    ids = ids_by_track(after)
    assert {t: ids[t] for t in before} == before
    assert ids[FOXTROT] not in before.values()
    assert after.playlists == {
        "Afternoon": [ALPHA, BRAVO],
        "Chill": [CHARLIE, ECHO],
        "Zbounce": [CHARLIE, DELTA],
        "Zen": [FOXTROT, ALPHA],
    }
    # Charlie's primary moved on to "Chill"; Delta's moved with its renamed folder.
    moved = [world.primary(CHARLIE), world.primary(DELTA)]
    assert [p.parent.name for p in moved] == ["Chill", "Zbounce"]
    assert "2 primaries moved since the last export" in result.out
    assert all(f"  {path}\n" in result.out for path in moved)


def test_a_sync_that_changes_nothing_leaves_the_xml_as_it_was(sync_world: World) -> None:
    world = dj_world(sync_world)
    assert world.sync().code == 0
    xml = world.root / "rekordbox.xml"
    data, mtime = xml.read_bytes(), xml.stat().st_mtime_ns

    result = world.sync()

    assert result.code == 0, result
    assert (xml.read_bytes(), xml.stat().st_mtime_ns) == (data, mtime)


def test_an_export_of_an_unchanged_library_does_not_rewrite_the_file(sync_world: World) -> None:
    world = dj_world(sync_world)
    assert world.sync().code == 0
    xml = world.root / "rekordbox.xml"
    mtime = xml.stat().st_mtime_ns

    outcome = export_rekordbox(world.engine, world.root, xml)

    assert not outcome.written and outcome.moved == []
    assert xml.stat().st_mtime_ns == mtime
    assert (outcome.without_bpm, outcome.without_key) == (
        ["Dan - Delta"],
        ["Dan - Delta", "Eve - Echo"],
    )


def test_camelot_notation_and_an_xml_elsewhere(sync_world: World, tmp_path: Path) -> None:
    world = dj_world(sync_world)
    assert world.sync().code == 0
    elsewhere = tmp_path / "dj" / "collection.xml"
    elsewhere.parent.mkdir()

    outcome = export_rekordbox(world.engine, world.root, elsewhere, notation="camelot")

    assert outcome.written and (outcome.tracks, outcome.playlists) == (5, 3)
    keys = {t: a.get("Tonality") for t, a in read_xml(world, elsewhere).by_id.values()}
    assert keys == {ALPHA: "8A", BRAVO: "2B", CHARLIE: "2A", DELTA: None, ECHO: None}


def test_off_writes_no_xml(sync_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = dj_world(sync_world)
    monkeypatch.setenv("TIDAL_SYNC_REKORDBOX_XML", "off")

    result = world.sync()

    assert result.code == 0, result
    assert not (world.root / "rekordbox.xml").exists()
    assert "Rekordbox XML" not in result.out


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/home/dj/Music/a b.flac", "file://localhost/home/dj/Music/a%20b.flac"),
        (
            "/m/R&B #1 100%/Beyoncé 🎧.m4a",
            "file://localhost/m/R%26B%20%231%20100%25/Beyonc%C3%A9%20%F0%9F%8E%A7.m4a",
        ),
        (r"C:\Music\Deep House\a b.flac", "file://localhost/C:/Music/Deep%20House/a%20b.flac"),
        (r"D:\Müsik\R&B #1.mp3", "file://localhost/D:/M%C3%BCsik/R%26B%20%231.mp3"),
    ],
)
def test_a_location_is_the_percent_encoded_absolute_path(path: str, url: str) -> None:
    assert location(path) == url
    decoded = unquote(url.removeprefix("file://localhost"))
    assert decoded == path if path.startswith("/") else decoded == "/" + path.replace("\\", "/")


def test_a_relative_path_has_no_location() -> None:
    with pytest.raises(ValueError, match="absolute"):
        location("Playlists/a.flac")


@pytest.mark.parametrize(
    ("root", "scale", "classic", "camelot"),
    [
        ("C", "MAJOR", "C", "8B"),
        ("A", "MINOR", "Am", "8A"),
        ("G", "MAJOR", "G", "9B"),
        ("FSharp", "MINOR", "F#m", "11A"),
        ("Eb", "MAJOR", "Eb", "5B"),
        ("Ab", "MINOR", "Abm", "1A"),
        ("B", "MAJOR", "B", "1B"),
        ("D", "MINOR", "Dm", "7A"),
        ("C", "DORIAN", None, None),
        ("UNKNOWN", "MAJOR", None, None),
        (None, None, None, None),
    ],
)
def test_tidal_keys_in_classic_and_camelot_notation(
    root: str | None, scale: str | None, classic: str | None, camelot: str | None
) -> None:
    assert classic_key(root, scale) == classic
    assert in_notation(classic, "camelot") == camelot


def test_in_the_ui_the_export_follows_a_library_run(tmp_path: Path) -> None:
    from tidal_sync_assets.definitions import defs as load_definitions

    defs = load_definitions()
    with DagsterInstance.ephemeral(tempdir=str(tmp_path)) as instance:
        instance.add_dynamic_partitions(PLAYLIST_PARTITIONS, [AFTERNOON, BOUNCE])
        quiet = evaluate_automation_conditions(defs=defs, instance=instance)
        instance.report_runless_asset_event(
            AssetMaterialization("playlist_library", partition=BOUNCE)
        )
        after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)

    sensor = defs.resolve_sensor_def("dj_export_follows_library")
    assert sensor.default_status is DefaultSensorStatus.RUNNING
    assert quiet.get_num_requested(AssetKey("dj_export")) == 0
    assert after.get_num_requested(AssetKey("dj_export")) == 1
    assert after.get_num_requested(AssetKey("playlist_library")) == 0


@pytest.mark.parametrize(
    "path",
    ["/x/\"<>?*|:;=+,'()[]{}!@$^`\\ü🎧 ~_.-", "/夜のドライブ/Ω.flac", "/a\tb/%41"],
)
def test_a_posix_location_encodes_exactly_as_urllib_quote(path: str) -> None:
    assert location(path) == "file://localhost" + quote(path)
    assert unquote(location(path).removeprefix("file://localhost")) == path


def test_an_aac_delivery_is_an_m4a_file_counted_below_the_wanted_quality(
    sync_world: World, tmp_path: Path
) -> None:
    # A device-code session asking LOSSLESS gets AAC for a release without a hi-res master.
    world = sync_world(
        story_catalog(
            [
                story_track(ALPHA, "Alpha", "Ann", hiResMaster=False),
                story_track(BRAVO, "Bravo", "Ben"),
            ],
            [story_playlist(AFTERNOON, "Afternoon", [ALPHA, BRAVO], day=1)],
        )
    )
    assert world.sync().code == 0

    outcome = export_rekordbox(world.engine, world.root, tmp_path / "x.xml")
    lossy = export_rekordbox(world.engine, world.root, tmp_path / "y.xml", wanted_quality="HIGH")

    attributes = {tidal: a for tidal, a in read_xml(world, tmp_path / "x.xml").by_id.values()}
    assert (attributes[ALPHA]["Kind"], attributes[BRAVO]["Kind"]) == ("M4A File", "FLAC File")
    aac = world.root / world.track_rows()[ALPHA].file_path
    assert aac.suffix == ".m4a"
    with av.open(str(aac)) as container:
        assert int(attributes[ALPHA]["SampleRate"]) == container.streams.audio[0].rate
    assert (outcome.below_quality, lossy.below_quality) == (1, 0)


def test_m3u8_entries_name_each_tracks_primary_when_asked(
    sync_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDAL_SYNC_M3U8_PATHS", "primary")
    world = dj_world(sync_world)
    # The resources read which variables are set when the definitions load.
    importlib.reload(importlib.import_module("tidal_sync_assets.definitions"))

    assert world.sync().code == 0

    for uuid, order in ((BOUNCE, [CHARLIE, DELTA]), (CHILL, [CHARLIE, ECHO])):
        folder = world.folder(uuid)
        (m3u8,) = folder.glob("*.m3u8")
        listed = [line for line in m3u8.read_text().splitlines() if not line.startswith("#")]
        files = [(folder / line).resolve(strict=True) for line in listed]
        assert files == [world.primary(track) for track in order]
        assert all(not (folder / line).is_symlink() for line in listed)
    assert listed[0] == "../Afternoon/Cat - Charlie.flac"


def m3u8_files(world: SyncWorld, playlist: str) -> list[Path]:
    """The files ``playlist``'s M3U8 lists, as written (a link stays a link)."""
    folder = world.folder(playlist)
    (m3u8,) = folder.glob("*.m3u8")
    lines = [line for line in m3u8.read_text().splitlines() if not line.startswith("#")]
    return [Path(os.path.normpath(folder / line)) for line in lines]


@pytest.mark.parametrize("link_mode", LINK_MODES)
def test_changing_what_m3u8_entries_name_rewrites_every_m3u8(
    sync_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = dj_world(sync_world)
    assert world.sync().code == 0
    folder_entries = {p: m3u8_files(world, p) for p in (AFTERNOON, BOUNCE, CHILL)}
    assert folder_entries[CHILL] == [
        world.folder(CHILL) / "Cat - Charlie.flac",
        world.primary(ECHO),
    ]

    monkeypatch.setenv("TIDAL_SYNC_M3U8_PATHS", "primary")
    # The resources read which variables are set when the definitions load.
    importlib.reload(importlib.import_module("tidal_sync_assets.definitions"))
    assert world.sync().code == 0  # no playlist changed on TIDAL
    for uuid, order in TIDAL_ORDER.items():
        playlist = {"Afternoon": AFTERNOON, "Bounce": BOUNCE, "Chill": CHILL}[uuid]
        assert m3u8_files(world, playlist) == [world.primary(track) for track in order]
    assert world.sync().code == 0 and quiet_since(world)[1] == 0  # nothing more to do

    # Naming primaries, an M3U8 follows a primary that moves, whoever's playlist it is in
    # (a hard link or a copy in that playlist stays as it is: nothing else touches it).
    world.catalog.remove_playlist_tracks(AFTERNOON, [CHARLIE])  # its primary moves on
    assert world.sync().code == 0
    assert world.primary(CHARLIE).parent.name == "Bounce"
    assert m3u8_files(world, CHILL) == [world.primary(CHARLIE), world.primary(ECHO)]

    monkeypatch.setenv("TIDAL_SYNC_M3U8_PATHS", "folder")
    importlib.reload(importlib.import_module("tidal_sync_assets.definitions"))
    assert world.sync().code == 0
    assert m3u8_files(world, CHILL) == folder_entries[CHILL]


def test_playlists_sit_in_their_tidal_folders_read_page_by_page_by_cursor(
    sync_world: World,
) -> None:
    tracks = [
        story_track(t, n, a) for t, n, a in ((ALPHA, "Alpha", "Ann"), (CHARLIE, "Charlie", "Cat"))
    ]
    # 55 empty folders at the top push "zz Deep" (by name) onto the listing's second page.
    filler = [{"id": f"f-{i:03d}", "name": f"Crate {i:03d}", "parent": None} for i in range(55)]
    data = {
        "user": STORY_USER,
        "tracks": tracks,
        "playlists": [
            {**story_playlist(AFTERNOON, "Afternoon", [ALPHA, CHARLIE]), "folder": "warm"},
            {**story_playlist(BOUNCE, "Bounce", [CHARLIE], day=2), "folder": "club"},
            {**story_playlist(CHILL, "Chill", [ALPHA], day=3), "folder": "deep"},
            story_playlist(ZEN, "Zen", [CHARLIE], day=4),
        ],
        "folders": [
            {"id": "club", "name": "Club", "parent": None},
            {"id": "warm", "name": "Warm-ups", "parent": "club"},
            {"id": "deep", "name": "zz Deep", "parent": None},
            *filler,
        ],
    }
    world = sync_world(Catalog.from_dict(data))

    assert world.sync().code == 0

    root = ET.parse(world.root / "rekordbox.xml").getroot()
    (tidal,) = root.findall("PLAYLISTS/NODE/NODE")

    def shape(node: ET.Element) -> object:
        if node.get("Type") == "1":
            return node.get("Name")
        return {node.get("Name"): [shape(child) for child in node.findall("NODE")]}

    assert shape(tidal) == {
        "TIDAL": [
            {"Club": [{"Warm-ups": ["Afternoon"]}, "Bounce"]},
            {"zz Deep": ["Chill"]},
            "Zen",
        ]
    }
    pages = world.requests("^/v2/my-collection/playlists/folders")
    assert len(pages) >= 5  # root twice (by cursor), Club, Warm-ups, zz Deep, the crates
    assert sorted(p.name for p in (world.root / "Playlists").iterdir() if p.is_dir()) == [
        "Afternoon",
        "Bounce",
        "Chill",
        "Zen",
    ]


@pytest.mark.parametrize("setting", ["off", "on"])
def test_playlists_the_user_favourited_are_synced_and_exported_when_asked(
    sync_world: World, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("TIDAL_SYNC_FAVORITE_PLAYLISTS", setting)
    theirs = {**story_playlist(ZEN, "Their Picks", [BRAVO, ALPHA]), "creator": 777}
    data = {
        "user": STORY_USER,
        "tracks": [story_track(ALPHA, "Alpha", "Ann"), story_track(BRAVO, "Bravo", "Ben")],
        "playlists": [
            story_playlist(AFTERNOON, "Afternoon", [ALPHA]),
            {**theirs, "favourite": True},
        ],
    }
    world = sync_world(Catalog.from_dict(data))
    importlib.reload(importlib.import_module("tidal_sync_assets.definitions"))

    assert world.sync().code == 0

    exported = read_xml(world, world.root / "rekordbox.xml")
    if setting == "on":
        assert exported.playlists == {"Afternoon": [ALPHA], "Their Picks": [BRAVO, ALPHA]}
        assert world.folder(ZEN).name == "Their Picks"
    else:
        assert exported.playlists == {"Afternoon": [ALPHA]}


def test_favourite_tracks_are_one_more_playlist_newest_first_when_asked(
    sync_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDAL_SYNC_FAVORITE_TRACKS", "on")
    data = {
        "user": STORY_USER,
        "tracks": [
            story_track(ALPHA, "Alpha", "Ann"),
            story_track(CHARLIE, "Charlie", "Cat"),
            story_track(DELTA, "Delta", "Dan"),
        ],
        "playlists": [story_playlist(AFTERNOON, "Afternoon", [ALPHA])],
        "favorite_tracks": [CHARLIE, ALPHA, DELTA],
    }
    world = sync_world(Catalog.from_dict(data))
    importlib.reload(importlib.import_module("tidal_sync_assets.definitions"))

    assert world.sync().code == 0

    folder = world.folder("favorites:tracks")
    assert folder.name == "Favorite Tracks"
    m3u8 = (folder / "Favorite Tracks.m3u8").read_text().splitlines()
    assert [line for line in m3u8 if not line.startswith("#")] == [
        "Cat - Charlie.flac",
        "Ann - Alpha.flac",  # a link to its primary in Afternoon
        "Dan - Delta.flac",
    ]
    exported = read_xml(world, world.root / "rekordbox.xml")
    assert exported.playlists == {
        "Afternoon": [ALPHA],
        "Favorite Tracks": [CHARLIE, ALPHA, DELTA],
    }
    with DagsterInstance.get() as instance:
        assert "favorites:tracks" in instance.get_dynamic_partitions(PLAYLIST_PARTITIONS)

    # Nothing changed: one page of favourites tells so, and the snapshot changed nothing.
    world.sandbox.clear_log()
    assert world.sync().code == 0
    assert len(world.requests("/favorites/tracks")) == 1
    assert latest_snapshot_changed(world) is False

    # A track favourited since: fetched whole again, the newest first.
    world.catalog.put_track(track_from_dict(story_track(ECHO, "Echo", "Eve")))
    world.catalog.add_favorite_track(ECHO)
    assert world.sync().code == 0
    assert latest_snapshot_changed(world) is True
    m3u8 = (folder / "Favorite Tracks.m3u8").read_text().splitlines()
    assert [line for line in m3u8 if not line.startswith("#")][:2] == [
        "Eve - Echo.flac",
        "Cat - Charlie.flac",
    ]


def latest_snapshot_changed(world: SyncWorld) -> bool | None:
    with world.engine.connect() as connection:
        return connection.execute(
            select(TidalSnapshotRecord.changed).order_by(TidalSnapshotRecord.id.desc()).limit(1)
        ).scalar_one()
