"""Random libraries and random TIDAL changes, planned and carried out for real.

Hypothesis draws a catalog (names that collide once sanitized or by case), playlists
with hostile names (slashes, "..", emoji, names equal case-insensitively, over-long),
tracks in one to three playlists (and twice within one), and a previous library:
tagged audio files placed in the user's "Inbox" or in folders named like playlists,
under their own names or under another track's name, next to the user's own files.
Every track is adopted, never downloaded (no track may be streamed and the TIDAL
session refuses to open). Each round goes through the real stores, a real SQLite
database, the real scanner and the real executor on a real temporary library, then
checks the disk against the SPEC, independently of the planner:

- every playlist folder holds exactly its distinct tracks, each the primary or a valid
  link of the configured mode, and its M3U8 lists every position;
- every track has exactly one real file (one inode), in the playlist the SPEC names;
- the user's own files are byte-identical and where they were;
- no action names a path outside ``Playlists/`` (no ``..``, nothing absolute), and
  nothing appears outside the library root;
- planning again right afterwards gives an empty plan.

Then TIDAL changes at random (tracks added and dropped, playlists renamed, deleted,
created, a track dropped from the playlist holding its primary, new tracks the user
already has) and the same holds. Removals run regardless of the guard, as under
``--allow-mass-removal``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tidalapi
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from tests.fixtures.library import make_audio
from tidal_sync_assets.database import (
    PlanStatus,
    Playlist,
    Track,
    make_engine,
    plan_inputs,
    plan_store,
    status_store,
    tidal_store,
)
from tidal_sync_assets.database.migrations import upgrade
from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.disk.naming import m3u8_path_for, sanitize_component, track_stem
from tidal_sync_assets.disk.tags import read_tags, write_tags
from tidal_sync_assets.library.handlers import LibrarySettings
from tidal_sync_assets.planning.actions import ActionKind
from tidal_sync_assets.planning.diff import compute_diff
from tidal_sync_assets.planning.plan import Plan, build_plan
from tidal_sync_assets.planning.state import LibraryState
from tidal_sync_assets.planning.status import diff_statuses
from tidal_sync_assets.services.library import run_playlists
from tidal_sync_assets.services.plan import PlanSettings, load_state
from tidal_sync_assets.services.scan import scan_and_store
from tidal_sync_assets.settings import LinkMode
from tidal_sync_assets.tidal.snapshot import TidalPlaylist, TidalSnapshot, TidalTrack

ARTISTS = ("Ann", "ANN", "A/C", "A_C", "Zoë", "CON", "Bob.")
TITLES = ("Song", "song", "Song?", "Song:", "..", "Intro", "🔥 Fire")
VERSIONS = (None, None, "Remix", "remix")
PLAYLIST_NAMES = (
    "Deep House",
    "deep house",
    "Deep House (2)",
    "a/b",
    "a_b",
    "..",
    ".",
    "CON",
    "🔥 Fire",
    "Ünïcødé Ñight",
    "Late. ",
    "🔥" * 70,  # 280 bytes: truncated
    "x" * 260,
)
INBOX = "Inbox"  # the user's own folder; no playlist is called that
UNKNOWN_TRACK = 999_999_999  # a TIDAL_TRACK_ID tag that no catalog track has
USER_AUDIO_TAGS = AudioTags(
    title="Rain On Tin", artist="Field Recorder", tidal_track_id=UNKNOWN_TRACK
)
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # No "explain" phase: its tracing makes mutagen crawl.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


# -- the world: what TIDAL holds and what the user put on disk ---------------------------


@dataclass
class World:
    tracks: dict[int, TidalTrack] = field(default_factory=dict)
    playlists: dict[str, tuple[str, list[int]]] = field(default_factory=dict)  # uuid -> ...
    removed: set[str] = field(default_factory=set)
    version: int = 0
    next_playlist: int = 0
    next_track: int = 100

    def new_playlist(self, name: str, tracks: list[int]) -> str:
        uuid = f"00000000-0000-4000-8000-{self.next_playlist:012d}"
        self.next_playlist += 1
        self.playlists[uuid] = (name, tracks)
        return uuid

    def new_track(self, data: st.DataObject) -> int:
        tidal_id = self.next_track
        self.next_track += 1
        self.tracks[tidal_id] = TidalTrack(
            tidal_id=tidal_id,
            title=data.draw(st.sampled_from(TITLES), label="title"),
            artists=(data.draw(st.sampled_from(ARTISTS), label="artist"),),
            version=data.draw(st.sampled_from(VERSIONS), label="version"),
            album="Album",
            allow_streaming=False,  # no download can be attempted
        )
        return tidal_id

    def in_playlists(self) -> set[int]:
        return {t for _, tracks in self.playlists.values() for t in tracks}

    def snapshot(self) -> TidalSnapshot:
        """Every playlist fetched anew (its lastUpdated moved)."""
        self.version += 1
        wanted = self.in_playlists()
        return TidalSnapshot(
            playlists=self._playlists(fetched=True),
            tracks={t: self.tracks[t] for t in sorted(wanted)},
        )

    def quiet_snapshot(self) -> TidalSnapshot:
        """What a snapshot brings when nothing changed: no playlist fetched again."""
        return TidalSnapshot(playlists=self._playlists(fetched=False), tracks={})

    def _playlists(self, *, fetched: bool) -> tuple[TidalPlaylist, ...]:
        moment = EPOCH + timedelta(hours=self.version)
        return tuple(
            TidalPlaylist(
                tidal_id=uuid,
                name=name,
                number_of_tracks=len(tracks),
                last_updated=moment,
                track_ids=tuple(tracks),
                fetched=fetched,
            )
            for uuid, (name, tracks) in sorted(self.playlists.items())
        )


@dataclass
class Library:
    """A real library root and database, and what the test knows about them."""

    base: Path
    engine: Engine
    link_mode: LinkMode
    audio_template: bytes
    user_files: dict[str, bytes] = field(default_factory=dict)  # root-relative -> content
    primary_holder: dict[int, str] = field(default_factory=dict)  # track -> playlist uuid

    @property
    def root(self) -> Path:
        return self.base / "library"

    def place_track_file(self, relative: str, track: TidalTrack) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.audio_template)
        write_tags(
            path, AudioTags(title=track.title, artist=track.artist, tidal_track_id=track.tidal_id)
        )

    def place_user_file(self, relative: str, audio: bool) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if audio:
            path.write_bytes(self.audio_template)
            write_tags(path, USER_AUDIO_TAGS)
        else:
            path.write_bytes(f"the user's own {relative}\n".encode())
        self.user_files[relative] = path.read_bytes()


# -- strategies -------------------------------------------------------------------------


def _free(library: Library, folder: str, name: str, fallback: str) -> str:
    """``folder/name`` unless something is there (or it is too long); then ``fallback``."""
    relative = f"Playlists/{folder}/{name}"
    if len(name.encode()) > 250 or (library.root / relative).exists():
        relative = f"Playlists/{folder}/{fallback}"
    return relative


def draw_first_library(data: st.DataObject, library: Library) -> World:
    world = World()
    count = data.draw(st.integers(1, 10), label="tracks")
    tracks = [world.new_track(data) for _ in range(count)]
    names = data.draw(
        st.lists(st.sampled_from(PLAYLIST_NAMES), min_size=1, max_size=5), label="playlists"
    )
    uuids = [world.new_playlist(name, []) for name in names]
    for track in tracks:
        holders = data.draw(
            st.lists(st.sampled_from(uuids), min_size=1, max_size=3, unique=True), label="holders"
        )
        for uuid in holders:
            world.playlists[uuid][1].append(track)
            if data.draw(st.integers(0, 7), label="duplicate") == 0:
                world.playlists[uuid][1].append(track)  # the same track twice in one playlist
    for uuid in uuids:
        data.draw(st.randoms(use_true_random=False), label="order").shuffle(
            world.playlists[uuid][1]
        )

    folders = [INBOX] + [sanitize_component(name) for name in names]
    library.place_user_file(f"Playlists/{INBOX}/notes.txt", audio=False)
    library.place_user_file(f"Playlists/{INBOX}/Field Recorder - Rain On Tin.flac", audio=True)
    canonical = {t: track_stem(world.tracks[t]) + ".flac" for t in tracks}
    for track in tracks:
        folder = data.draw(st.sampled_from(folders), label="placed in")
        name = data.draw(
            st.sampled_from([canonical[track], f"track {track}.flac", *canonical.values()]),
            label="placed as",
        )
        library.place_track_file(
            _free(library, folder, name, f"t{track}.flac"), world.tracks[track]
        )
    for folder in data.draw(st.lists(st.sampled_from(folders[1:]), max_size=2), label="user"):
        # The user's own audio under a track's wanted name: a blocker, never taken over.
        name = data.draw(st.sampled_from(sorted(canonical.values())), label="blocker")
        relative = _free(library, folder, name, "mine.flac")
        if relative not in library.user_files and not (library.root / relative).exists():
            library.place_user_file(relative, audio=True)
        if not (library.root / f"Playlists/{folder}/cover.txt").exists():
            library.place_user_file(f"Playlists/{folder}/cover.txt", audio=False)
    return world


def draw_changes(data: st.DataObject, library: Library, world: World) -> None:
    alive = sorted(world.in_playlists())
    new_tracks = [world.new_track(data) for _ in range(data.draw(st.integers(0, 2), label="new"))]
    for track in new_tracks:  # the user already has it: adopted, not downloaded
        library.place_track_file(f"Playlists/{INBOX}/new {track}.flac", world.tracks[track])
    addable = alive + new_tracks
    for uuid in sorted(world.playlists):
        name, tracks = world.playlists[uuid]
        what = data.draw(st.sampled_from(["keep", "rename", "delete", "edit"]), label=uuid[-2:])
        if what == "rename":
            world.playlists[uuid] = (data.draw(st.sampled_from(PLAYLIST_NAMES)), tracks)
        elif what == "delete":
            del world.playlists[uuid]
            world.removed.add(uuid)
        elif what == "edit":
            kept = [t for t in tracks if data.draw(st.integers(0, 3), label="keep entry")]
            added = data.draw(st.lists(st.sampled_from(addable), max_size=3), label="add")
            kept[len(kept) // 2 : len(kept) // 2] = added
            world.playlists[uuid] = (name, kept)
    # A track's primary playlist drops it: the file moves to the next playlist.
    moved = (
        data.draw(st.lists(st.sampled_from(alive), max_size=2, unique=True), label="mv")
        if (alive)
        else []
    )
    for track in moved:
        holder = library.primary_holder.get(track)
        if holder in world.playlists:
            name, tracks = world.playlists[holder]
            world.playlists[holder] = (name, [t for t in tracks if t != track])
    if addable and data.draw(st.booleans(), label="new playlist"):
        tracks = data.draw(st.lists(st.sampled_from(addable), min_size=1, max_size=4))
        world.new_playlist(data.draw(st.sampled_from(PLAYLIST_NAMES)), tracks)
    for track in new_tracks:  # a new track no playlist took: keep the world simple
        if track not in world.in_playlists():
            some = (
                data.draw(st.sampled_from(sorted(world.playlists)), label="home")
                if (world.playlists)
                else world.new_playlist("Deep House", [])
            )
            world.playlists[some][1].append(track)


# -- one sync, as the assets do it -------------------------------------------------------


def _no_tidal() -> tidalapi.Session:
    raise AssertionError("every track is adopted: TIDAL is never asked for audio")


def rescan(library: Library) -> None:
    scan_and_store(library.engine, library.root, datetime.now(UTC), workers=1)


def plan_now(library: Library) -> tuple[LibraryState, Plan]:
    state = load_state(library.engine, PlanSettings(library.link_mode, ".flac"))
    return state, build_plan(state)


def store_plan(library: Library, state: LibraryState, plan: Plan) -> int:
    key = plan_inputs.settings_key(library.link_mode, ".flac")
    return plan_store.save_plan(
        library.engine,
        plan,
        held_reason=None,
        link_mode=library.link_mode,
        managed=len(set(state.primaries.values()) | set(state.links.values())),
        inputs=plan_inputs.current_inputs(library.engine, key),
    )


def sync(library: Library, world: World) -> Plan:
    engine = library.engine
    key = plan_inputs.settings_key(library.link_mode, ".flac")
    outcome = tidal_store.save_snapshot(engine, world.snapshot())
    rescan(library)
    reusable = plan_inputs.unchanged_empty_plan(engine, key)
    state, plan = plan_now(library)
    # The no-change shortcut is sound: it never skips a plan that has work to do.
    assert reusable is None or plan.actions == (), [(a.kind.value, a.target) for a in plan.actions]
    status_store.save_statuses(engine, diff_statuses(compute_diff(state)))
    assert_actions_inside_playlists(plan)
    plan_id = store_plan(library, state, plan)
    assert plan_store.latest_plan(engine) == (plan_id, PlanStatus.READY, None)
    settings = LibrarySettings(
        link_mode=library.link_mode,
        quality="LOSSLESS",
        min_quality=None,
        workers=1,
        key_notation="classic",
        m3u8_paths="folder",
    )
    planned = plan_inputs.current_inputs(engine, key)
    # Partitions in UUID order, deleted playlists included: order must not matter.
    partitions = sorted(outcome.partitions)
    for result in run_playlists(engine, library.root, partitions, settings, _no_tidal):
        assert result.ok, [(a.kind.value, a.source, a.target, e) for a, e in result.failed]
        assert not result.skipped, [(a.kind.value, a.target, e) for a, e in result.skipped]
    # Carried-out actions move the placement: a diff computed before no longer holds.
    assert (plan_inputs.current_inputs(engine, key) == planned) == (plan.actions == ())
    follow_folder_renames(library, plan)
    rescan(library)
    settled_state, again = plan_now(library)
    assert again.actions == (), [(a.kind.value, a.source, a.target) for a in again.actions]
    # Stored, the settled plan is what a quiet next sync reuses instead of planning.
    settled = store_plan(library, settled_state, again)
    tidal_store.save_snapshot(engine, world.quiet_snapshot())
    rescan(library)
    assert plan_inputs.unchanged_empty_plan(engine, key) == settled
    return plan


def follow_folder_renames(library: Library, plan: Plan) -> None:
    """The user's files in a renamed playlist folder travel with it (see the note below).

    The SPEC says both "a renamed playlist's folder is renamed" and "the user's files
    are never moved"; when a playlist folder holds the user's files, RENAME_FOLDER
    moves them along. This follows them so the other properties (byte-identical,
    never lost, never adopted) are still checked; which rule wins is a product call.
    """
    for action in plan.actions:
        if action.kind is ActionKind.RENAME_FOLDER and action.source and action.target:
            prefix = action.source + "/"
            library.user_files = {
                (action.target + "/" + path[len(prefix) :] if path.startswith(prefix) else path): (
                    content
                )
                for path, content in library.user_files.items()
            }


# -- the properties ----------------------------------------------------------------------


def assert_actions_inside_playlists(plan: Plan) -> None:
    for action in plan.actions:
        assert action.playlist_id is not None, action  # some partition runs it
        for path in (action.source, action.target):
            if path is None:
                continue
            parts = path.split("/")
            assert not path.startswith("/") and parts[0] == "Playlists" and len(parts) >= 2, path
            assert all(part not in ("", ".", "..") for part in parts), path
            assert all(len(part.encode()) <= 255 for part in parts), path


def _folders(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Playlist.tidal_id, Playlist.local_folder_path).where(
                Playlist.removed_from_tidal.is_(False)
            )
        ).all()
    return {uuid: folder for uuid, folder in rows}


def _primary_paths(engine: Engine) -> dict[int, str | None]:
    with engine.connect() as connection:
        return dict(connection.execute(select(Track.tidal_id, Track.file_path)).tuples().all())


def _walk(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root / "Playlists"):
        dirs.sort()
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]):
            yield Path(folder, name).relative_to(root).as_posix()


def check_library(library: Library, world: World, before: dict[int, str]) -> None:
    """The disk is what the SPEC says, judged from the disk itself (and the placement)."""
    root = library.root
    assert sorted(p.name for p in library.base.iterdir() if not p.name.startswith("db")) == [
        "library"
    ], "something was written outside the library root"
    folders = _folders(library.engine)
    assert set(folders) == set(world.playlists)
    names = [f.removeprefix("Playlists/") for f in folders.values()]
    assert all(
        f.startswith("Playlists/") and "/" not in n
        for f, n in zip(folders.values(), names, strict=True)
    )
    assert all(sanitize_component(n) == n for n in names), names
    assert len({n.casefold() for n in names}) == len(names), f"folders collide: {names}"
    owner = {folder: uuid for uuid, folder in folders.items()}

    seen: dict[str, Counter[int]] = {folder: Counter() for folder in folders.values()}
    real_files: dict[int, set[tuple[int, int]]] = {}
    real_path: dict[int, str] = {}
    m3u8s = {m3u8_path_for(folder) for folder in folders.values()}
    for relative in _walk(root):
        path = root / relative
        if relative in library.user_files:
            assert path.read_bytes() == library.user_files[relative], (
                f"user file changed: {relative}"
            )
            continue
        if relative in m3u8s:
            continue
        folder = relative.rpartition("/")[0]
        assert folder in seen, f"a managed file outside any playlist's folder: {relative}"
        real = Path(os.path.realpath(path))
        assert real.is_relative_to(os.path.realpath(root / "Playlists")), relative
        track = read_tags(real).tidal_track_id
        assert track is not None, f"an untagged file the product left: {relative}"
        seen[folder][track] += 1
        if path.is_symlink():
            assert library.link_mode == "symlink", relative
            assert not os.path.isabs(os.readlink(path)), f"absolute symlink: {relative}"
        else:
            stat = path.stat()
            real_files.setdefault(track, set()).add((stat.st_dev, stat.st_ino))
            real_path[track] = relative
    for relative, content in library.user_files.items():
        assert (root / relative).read_bytes() == content, f"user file gone: {relative}"

    for uuid, (_, tracks) in world.playlists.items():
        folder = folders[uuid]
        assert seen[folder] == Counter(set(tracks)), (folder, seen[folder], tracks)
        m3u8 = root / m3u8_path_for(folder)
        lines = [line for line in m3u8.read_text().splitlines() if not line.startswith("#")]
        assert len(lines) == len(tracks), (m3u8, lines, tracks)
        assert all((m3u8.parent / line).exists() for line in lines), lines

    # One real file (one inode) per track, in the playlist the SPEC names.
    primaries = _primary_paths(library.engine)
    wanted = world.in_playlists()
    by_name = sorted(folders, key=lambda u: (names_of(folders)[u].casefold(), names_of(folders)[u]))
    holder: dict[int, str] = {}
    for track in sorted(wanted):
        assert len(real_files.get(track, ())) == 1, (track, real_files.get(track))
        primary = primaries[track]
        assert primary is not None and (root / primary).is_file(), (track, primary)
        assert not (root / primary).is_symlink(), primary
        stat = (root / primary).stat()
        assert real_files[track] == {(stat.st_dev, stat.st_ino)}
        if library.link_mode == "symlink":
            assert real_path[track] == primary
        holder[track] = owner[primary.rpartition("/")[0]]
        kept = before.get(track)
        if kept in world.playlists and track in world.playlists[kept][1]:
            assert holder[track] == kept, f"a valid primary moved: {track}"
        else:
            first = next(u for u in by_name if track in world.playlists[u][1])
            assert holder[track] == first, f"{track} not in the first playlist by folder name"
    for track in set(real_files) - wanted:
        raise AssertionError(f"track {track} is in no playlist but still on disk")
    for uuid in world.removed:
        assert uuid not in folders
    library.primary_holder = holder


def names_of(folders: dict[str, str]) -> dict[str, str]:
    return {uuid: folder.removeprefix("Playlists/") for uuid, folder in folders.items()}


# -- fixtures and the test ---------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A migrated database file to copy, and a tiny FLAC to tag per track."""
    folder = tmp_path_factory.mktemp("template")
    engine = make_engine(f"sqlite:///{folder / 'db.sqlite'}")
    upgrade(engine)
    engine.dispose()
    audio = make_audio(folder / "tiny.flac", "flac", seconds=0.05)
    return folder / "db.sqlite", audio.read_bytes()


@contextlib.contextmanager
def fresh_library(template: tuple[Path, bytes], link_mode: LinkMode) -> Iterator[Library]:
    database, audio = template
    with tempfile.TemporaryDirectory(prefix="plan-props-") as base:
        shutil.copyfile(database, Path(base, "db.sqlite"))
        (Path(base) / "library" / "Playlists").mkdir(parents=True)
        engine = make_engine(f"sqlite:///{Path(base, 'db.sqlite')}")
        try:
            yield Library(Path(base), engine, link_mode, audio)
        finally:
            engine.dispose()


@PROPERTY_SETTINGS
@given(data=st.data(), link_mode=st.sampled_from(["symlink", "hardlink"]))
def test_any_library_after_any_tidal_change_is_synced_exactly(
    template: tuple[Path, bytes], data: st.DataObject, link_mode: LinkMode
) -> None:
    with fresh_library(template, link_mode) as library:
        world = draw_first_library(data, library)

        sync(library, world)
        check_library(library, world, before={})

        for _ in range(2):
            before = dict(library.primary_holder)
            draw_changes(data, library, world)
            sync(library, world)
            check_library(library, world, before)


def test_a_deleted_playlist_whose_partition_runs_first_still_loses_its_folder(
    template: tuple[Path, bytes],
) -> None:
    with fresh_library(template, "symlink") as library:
        world = World()
        track = world.tracks.setdefault(
            100, TidalTrack(100, "Song", ("Ann",), allow_streaming=False)
        )
        world.next_track = 101
        first = world.new_playlist("A Side", [track.tidal_id])
        world.new_playlist("B Side", [track.tidal_id])
        library.place_track_file(f"Playlists/{INBOX}/x.flac", track)
        sync(library, world)
        del world.playlists[first]  # the primary's playlist goes: the file moves to "B Side"
        world.removed.add(first)
        world.removed.clear()  # run the deleted playlist's partition first (sorted order)

        sync(library, world)
