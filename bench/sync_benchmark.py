"""Sync benchmark: ``tidal-sync sync`` as a user runs it, against a large synthetic account.

Serves a synthetic account (``synthetic_catalog``, written to a catalog file in the work
dir) from ``tidal-sync sandbox`` in its own process on 127.0.0.1, as real TIDAL is a remote
server: the sandbox's CPU (JSON, synthesized audio) and memory are not counted. The
benchmark drives it over its ``/_sandbox/`` control API, logs in once with the product's
device-code login, and runs every sync as a user does: ``tidal-sync sync`` in a process
of its own (``python -m tidal_sync_assets.cli sync``), so each wall time includes the
process start and its imports, and each peak RSS is that process's ``ru_maxrss`` (from
``wait4``; the tag-reading pool's worker processes are not in it).

Phases, each figure printed with its input size, its baseline and its target:

1. first sync (issue 17 item 2), ``--first-runs`` times, each into a fresh DAGSTER_HOME,
   database and library; before each one, the **bare loop** on the same sandbox: a
   process that lists the playlists and their tracks with tidalapi and downloads every
   distinct track with ``Track.get_stream()`` → manifest → its parts into a file, with
   the same number of workers, and nothing else (no database, remux, tags, fsync). The
   ratio of the medians is the overhead. The last first sync's library is kept.
2. the settling sync: the first sync after one that changed the library rescans what it
   placed (a full sync by design: the last scan predates the downloads).
3. ``--quiet-runs`` no-change syncs (item 3), each next to the floor: a bare
   ``os.scandir`` + ``lstat`` walk of the same library in this process (median of
   ``--floor-runs``). Each says whether it took the quick check (no Dagster run started)
   or the full path.
4. ``--change-runs`` syncs after changing ``--change`` of the account's entries (item 4;
   half removed, half added, a tenth of the additions brand-new tracks, one playlist
   renamed; a new change each time, each followed by its settling sync).
5. Dagster's own cost per partition (item 4): a throwaway instance of the same storage
   (SQLite, or PostgreSQL with ``--database-url``) runs a partitioned asset that does
   nothing but report one materialization per partition, over 1 and ``--event-partitions``
   partitions, with and without ``DAGSTER_EVENT_BATCH_SIZE``.

Per sync it prints wall time, whether Dagster ran (and its run and step durations, from
the instance), the requests the sandbox saw by kind (listing, track pages, playback info,
single tracks, audio files, audio segments, albums, covers, other), the child's CPU time
and peak RSS, and the database size. It asserts nothing.

After each first sync it also prints the requests of each kind per downloaded track (a
download is a BTS file or a DASH init segment) and issue 17 item 1's allowance: per
downloaded track the playback info and, for BTS, the file (2; DASH: 1, its segments
counted apart), plus one request per distinct album, plus the listing and the track
pages; covers are counted apart. ``--stream bts`` gives the tracks no hi-res master, so a
device-code login asking LOSSLESS gets TIDAL's BTS AAC 320; ``--stream dash`` (the
default, the synthetic catalog's) streams FLAC segments. ``--tracks-per-album`` sets how
many albums the allowance counts.

At 50,000 tracks a first sync takes a long while on a loaded 2-core machine: build the
library once and reuse it (``--state DIR``), and take a single first sync
(``--first-runs 1``; the output says the first-sync figure is then one run, not a median).

    .venv/bin/python bench/sync_benchmark.py --playlists 200 --tracks 10000
    .venv/bin/python bench/sync_benchmark.py --first-runs 1 --state /var/tmp/sync-50k
    .venv/bin/python bench/sync_benchmark.py --playlists 200 --tracks 10000 --stream bts
    .venv/bin/python bench/sync_benchmark.py --database-url postgresql+psycopg://127.0.0.1:5432/
    .venv/bin/python bench/sync_benchmark.py --profile nochange   # cProfile, every thread
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import json
import os
import pstats
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from tidal_sync_assets.sandbox.catalog import Catalog, Playlist, Track

REPO = Path(__file__).resolve().parents[1]
DAGSTER_YAML = REPO / "dagster_home" / "dagster.yaml"
SYNC_COMMAND = [sys.executable, "-m", "tidal_sync_assets.cli", "sync"]  # as a user runs it
ASSETS = (
    "tidal_snapshot",
    "filesystem_snapshot",
    "library_diff",
    "dedup_plan",
    "playlist_library",
    "dj_export",
)
# The sandbox's request log, by kind (the path with its query; the first match, else "other").
REQUEST_KINDS = (
    (
        "listing",
        re.compile(
            r"^/v1/users/\d+/(playlists|playlistsAndFavoritePlaylists)(\?|$)"
            r"|^/v2/my-collection/playlists/folders"
        ),
    ),
    (
        "track pages",
        re.compile(r"^/v1/playlists/[^/?]+/(tracks|items)|^/v1/users/\d+/favorites/tracks"),
    ),
    ("playback info", re.compile(r"^/v1/tracks/\d+/playbackinfo")),
    ("single tracks", re.compile(r"^/v1/tracks/\d+(\?|$)")),
    ("audio files", re.compile(r"^/_audio/\d+/\w+\.mp4")),
    ("audio segments", re.compile(r"^/_audio/\d+/\w+/\d+\.mp4")),
    ("albums", re.compile(r"^/v1/albums/\d+(\?|$)")),
    ("covers", re.compile(r"^/images/")),
)
# A download starts with a BTS file or a DASH init segment (segment 0).
DOWNLOAD_START = re.compile(r"^/_audio/\d+/\w+(/0)?\.mp4")
# Issue 17 item 1: what it counts, and what it allows besides the requests per download
# (BTS: the playback info and the file; DASH: the playback info, its segments apart).
TARGET_KINDS = ("listing", "track pages", "playback info", "single tracks", "audio files", "albums")
ALLOWED_KINDS = ("listing", "track pages", "albums")
ALLOWED_PER_DOWNLOAD = {"bts": 2, "dash": 1}
TARGET_FIRST_RATIO = 1.5  # first sync / bare loop
TARGET_QUIET_RATIO = {10_000: 10.0, 50_000: 4.0}  # no-change sync / lstat floor, by tracks
TARGET_CHANGE_SECONDS = 20.0  # a 1% change at 50,000 tracks, SQLite
TARGET_POSTGRES_RATIO = 1.2  # PostgreSQL / SQLite, the same change
TARGET_PEAK_MB = 400.0
SANDBOX_START_SECONDS = 120.0
SANDBOX_STOP_SECONDS = 10.0
CONTROL_TIMEOUT = 120.0
PLAYLIST_PAGE = 100
PART_CHUNK_BYTES = 64 * 1024


@dataclasses.dataclass
class Child:
    """One process the benchmark ran: its exit code, wall time and resource use."""

    code: int
    wall: float
    cpu: float  # user + system seconds
    peak_mb: float  # ru_maxrss
    stdout: str
    stderr: str
    peak_at: float  # epoch seconds when the sampled RSS was highest


@dataclasses.dataclass
class SyncFigures:
    label: str
    child: Child
    dagster_runs: int  # runs the sync started on the instance (0: the quick check)
    steps: dict[str, float]  # asset (step key) -> seconds
    runs: dict[str, float]  # "plan" / "library" / "export" -> run seconds (Dagster's record)
    requests: Counter[str]  # by kind (REQUEST_KINDS, "other"), and "total"
    downloads: int  # BTS files and DASH init segments fetched
    db_mb: float
    replanned: bool | None  # library_diff computed anew (False: the empty plan was reused)
    profile: str | None  # where the profile went
    peak_step: str | None  # the step running when the RSS was highest


# -- processes ------------------------------------------------------------------------


def run_child(command: list[str], env: dict[str, str], work: Path) -> Child:
    """Run ``command``; its wall time from spawn to exit, its own ``ru_maxrss``, and when
    its RSS (sampled every 0.1 s) was highest."""
    out_path, err_path = work / "child-stdout.txt", work / "child-stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err)
        highest = [0, time.time()]
        done = threading.Event()

        def sample() -> None:
            status_file = Path(f"/proc/{process.pid}/status")
            while not done.wait(0.1):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    for line in status_file.read_text().splitlines():
                        if line.startswith("VmRSS:") and int(line.split()[1]) > highest[0]:
                            highest[:] = [int(line.split()[1]), time.time()]

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Child(
        peak_at=highest[1],
        code=process.returncode,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def python_start(env: dict[str, str], work: Path) -> float:
    """Median wall time of ``python -c pass``: what any command pays before its imports."""
    return statistics.median(
        run_child([sys.executable, "-c", "pass"], env, work).wall for _ in range(3)
    )


# -- the floor ------------------------------------------------------------------------


def lstat_walk(root: Path) -> int:
    """The least any scan must do: list every folder and lstat every entry."""
    count = 0
    stack = [str(root / "Playlists")]
    while stack:
        with os.scandir(stack.pop()) as listing:
            for item in listing:
                item.stat(follow_symlinks=False)
                count += 1
                if item.is_dir(follow_symlinks=False):
                    stack.append(item.path)
    return count


def floor_seconds(root: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        lstat_walk(root)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- the bare loop --------------------------------------------------------------------


def bare_loop(base_url: str, session_file: Path, quality: str, workers: int, out: Path) -> None:
    """What any downloader must do, with tidalapi alone: list the playlists and their
    tracks, then each distinct track's stream → manifest → parts into one file."""
    import tidalapi

    from tidal_sync_assets.tidal.session import rebase_url

    class Rebased(requests.Session):  # the sandbox stands at base_url, not at TIDAL
        def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
            prepared = super().prepare_request(request)
            prepared.url = rebase_url(prepared.url or "", base_url)
            return prepared

    session = tidalapi.Session(tidalapi.Config())
    session.request_session = Rebased()
    if not session.load_session_from_file(session_file):
        raise RuntimeError("the bare loop could not load the session file")
    session.audio_quality = {
        "LOW": tidalapi.Quality.low_96k,
        "HIGH": tidalapi.Quality.low_320k,
        "LOSSLESS": tidalapi.Quality.high_lossless,
        "HI_RES_LOSSLESS": tidalapi.Quality.hi_res_lossless,
    }[quality]
    assert session.user is not None
    started = time.perf_counter()
    tracks: dict[int, tidalapi.Track] = {}
    offset = 0
    while True:
        playlists = session.user.playlist_and_favorite_playlists(offset=offset)  # type: ignore[union-attr]
        for playlist in playlists:
            for start in range(0, playlist.num_tracks, PLAYLIST_PAGE):
                for track in playlist.tracks(limit=PLAYLIST_PAGE, offset=start):
                    tracks[int(track.id)] = track
        offset += len(playlists)
        if not playlists:
            break
    listed = time.perf_counter()
    audio = requests.Session()
    audio.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=workers))

    def download(track: tidalapi.Track) -> int:
        manifest = track.get_stream().get_stream_manifest()
        urls = list(manifest.get_urls())
        dash = manifest.dash_info if manifest.is_mpd else None
        if dash is not None and dash.first_url and dash.first_url not in urls:
            urls.insert(0, dash.first_url)
        written = 0
        with (out / f"{track.id}.{(manifest.file_extension or '').lstrip('.')}").open("wb") as file:
            for url in urls:
                with audio.get(url, stream=True) as response:
                    response.raise_for_status()
                    for chunk in response.iter_content(PART_CHUNK_BYTES):
                        written += file.write(chunk)
        return written

    with ThreadPoolExecutor(workers) as pool:
        written = sum(pool.map(download, tracks.values()))
    print(
        json.dumps(
            {
                "tracks": len(tracks),
                "bytes": written,
                "listing_seconds": listed - started,
                "download_seconds": time.perf_counter() - listed,
            }
        )
    )


# -- profiling a child ----------------------------------------------------------------


def profiled(target: Path, clock: str, run: Callable[[], int]) -> int:
    """``run()`` under cProfile in every thread it starts, timed by the wall clock (where
    the time goes, waits included) or by each thread's CPU time (what the work costs,
    without the waits for the network, the disk or the GIL); the merged stats to
    ``target``."""
    timer = time.thread_time if clock == "cpu" else time.perf_counter
    profiles: list[cProfile.Profile] = []
    original = threading.Thread.run

    def run_profiled(thread: threading.Thread) -> None:
        profile = cProfile.Profile(timer)
        profiles.append(profile)
        profile.runcall(original, thread)

    threading.Thread.run = run_profiled  # type: ignore[method-assign,assignment]
    main = cProfile.Profile(timer)
    try:
        return main.runcall(run)
    finally:
        threading.Thread.run = original  # type: ignore[method-assign]
        stats = pstats.Stats(main)
        for profile in profiles:
            with contextlib.suppress(TypeError):  # a thread that never ran
                stats.add(profile)
        stats.dump_stats(str(target))


# -- the account ----------------------------------------------------------------------


def build_catalog(args: argparse.Namespace) -> Catalog:
    from tidal_sync_assets.sandbox.catalog import Catalog, synthetic_catalog

    base = synthetic_catalog(
        args.playlists,
        args.tracks,
        entries_per_track=args.entries_per_track,
        seed=args.seed,
        tracks_per_album=args.tracks_per_album,
    )
    # Without a hi-res master, a device-code login asking LOSSLESS is streamed BTS AAC 320.
    tracks = [
        dataclasses.replace(t, audio_seconds=args.audio_seconds, hires_master=args.stream == "dash")
        for t in base.tracks()
    ]
    return Catalog(base.user, tracks, base.playlists())


def request_kinds(paths: list[str]) -> Counter[str]:
    """How many of ``paths`` are of each kind (``REQUEST_KINDS``, then "other"), and "total"."""
    kinds: Counter[str] = Counter()
    for path in paths:
        kinds[next((k for k, pattern in REQUEST_KINDS if pattern.match(path)), "other")] += 1
    kinds["total"] = len(paths)
    return kinds


def change_account(catalog: Catalog, sandbox: Sandbox, share: float, seed: int) -> dict[str, int]:
    """Change the benchmark's catalog (``change_catalog``), push every changed track and
    playlist to the sandbox, and check the sandbox now serves the changed playlists."""
    tracks_before = {t.id: t for t in catalog.tracks()}
    playlists_before = {p.uuid: p for p in catalog.playlists()}
    changed = change_catalog(catalog, share, seed)
    for track in catalog.tracks():
        if tracks_before.get(track.id) != track:
            sandbox.put_track(track)
    playlists = [p for p in catalog.playlists() if playlists_before.get(p.uuid) != p]
    for playlist in playlists:
        sandbox.update_playlist(playlist)
    check_served(sandbox, playlists)
    return changed


def check_served(sandbox: Sandbox, playlists: list[Playlist]) -> None:
    """Raise unless the sandbox serves ``playlists`` with these titles and tracks."""
    served = {p["uuid"]: (p["title"], p["tracks"]) for p in sandbox.catalog()["playlists"]}
    wrong = [p.uuid for p in playlists if served.get(p.uuid) != (p.title, list(p.track_ids))]
    if wrong:
        raise RuntimeError(
            f"the sandbox serves {len(wrong)} of the {len(playlists)} changed playlists "
            f"differently from the benchmark's catalog (e.g. {wrong[0]})"
        )


def change_catalog(catalog: Catalog, share: float, seed: int) -> dict[str, int]:
    """Drop and add ``share`` of the entries (half each; a tenth of the adds are new
    tracks) and rename one playlist, through the catalog's mutation helpers."""
    rng = random.Random(seed + 1)
    playlists = catalog.own_playlists()
    entries = sum(len(p.track_ids) for p in playlists)
    changes = max(2, round(entries * share))
    removals, additions = changes // 2, changes - changes // 2
    new_tracks = max(1, additions // 10)
    removed = 0
    for _ in range(removals * 4):
        if removed >= removals:
            break
        playlist = catalog.playlist(rng.choice(playlists).uuid)
        if playlist is None or not playlist.track_ids:
            continue
        dropped = rng.choice(playlist.track_ids)
        before = len(playlist.track_ids)
        after = catalog.remove_playlist_tracks(playlist.uuid, [dropped])
        removed += before - len(after.track_ids)
    template = catalog.tracks()[0]
    next_id = max(t.id for t in catalog.tracks()) + 1
    fresh = []
    for i in range(new_tracks):
        track = dataclasses.replace(
            template,
            id=next_id + i,
            title=f"New Track {seed}-{i}",
            isrc=f"QZN{seed % 100:02d}{i:07d}",
            artists=(f"New Artist {i % 13}",),
            album_artist=f"New Artist {i % 13}",
            album=f"New Album {seed}-{i // 12}",
        )
        catalog.put_track(track)
        fresh.append(track.id)
    existing = [t.id for t in catalog.tracks()[: -new_tracks or None]]
    wanted = fresh + [rng.choice(existing) for _ in range(additions - new_tracks)]
    by_playlist: dict[str, list[int]] = {}
    for track_id in wanted:
        by_playlist.setdefault(rng.choice(playlists).uuid, []).append(track_id)
    for playlist_uuid, track_ids in by_playlist.items():
        catalog.add_playlist_tracks(playlist_uuid, track_ids)
    renamed = rng.choice(playlists)
    catalog.rename_playlist(renamed.uuid, renamed.title + " (renamed)")
    touched = len(by_playlist.keys() | {renamed.uuid}) + removed  # upper bound
    return {
        "entries removed": removed,
        "entries added": len(wanted),
        "new tracks": new_tracks,
        "playlists renamed": 1,
        "playlists touched (<=)": min(touched, len(playlists)),
    }


# -- the sandbox ----------------------------------------------------------------------


class Sandbox:
    """The sandbox TIDAL running in another process, driven over its ``/_sandbox/`` API."""

    def __init__(self, base_url: str, pid: int) -> None:
        self.base_url = base_url
        self.pid = pid
        self._http = requests.Session()

    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(
            method, f"{self.base_url}/_sandbox/{path}", json=body, timeout=CONTROL_TIMEOUT
        )
        response.raise_for_status()
        return response.json()

    def answers(self) -> bool:
        try:
            self._control("GET", "faults")
        except requests.ConnectionError:
            return False
        return True

    def request_paths(self) -> list[str]:
        """The path (with query) of every TIDAL request since the log was last cleared."""
        return [entry["path"] for entry in self._control("GET", "requests")["requests"]]

    def clear_requests(self) -> None:
        self._control("DELETE", "requests")

    def catalog(self) -> dict[str, Any]:
        """The live catalog, in the catalog file format."""
        return self._control("GET", "catalog")

    def put_track(self, track: Track) -> None:
        from tidal_sync_assets.sandbox.catalog import track_to_dict

        self._control("PUT", f"catalog/tracks/{track.id}", track_to_dict(track))

    def update_playlist(self, playlist: Playlist) -> None:
        """Give the served playlist ``playlist``'s title and tracks."""
        body = {"title": playlist.title, "tracks": list(playlist.track_ids)}
        self._control("POST", f"catalog/playlists/{playlist.uuid}", body)


@contextlib.contextmanager
def sandbox_process(catalog: Catalog, base: Path) -> Iterator[Sandbox]:
    """``tidal-sync sandbox`` serving ``catalog`` in its own process until the block ends."""
    catalog_file, errors = base / "sandbox-catalog.json", base / "sandbox-stderr.log"
    catalog_file.write_text(json.dumps(catalog.to_dict()), encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "tidal_sync_assets.cli", "sandbox", "--port", str(port)]
    with errors.open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--catalog", str(catalog_file)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        sandbox = Sandbox(f"http://127.0.0.1:{port}", process.pid)
        wait_until_answering(sandbox, process, errors)
        yield sandbox
    finally:
        stop(process)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_answering(sandbox: Sandbox, process: subprocess.Popen[bytes], errors: Path) -> None:
    deadline = time.monotonic() + SANDBOX_START_SECONDS
    while not sandbox.answers():
        if process.poll() is not None:
            raise RuntimeError(
                f"the sandbox exited with code {process.returncode}: "
                + errors.read_text(errors="replace")[-2000:]
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox did not answer within {SANDBOX_START_SECONDS:.0f} s")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupt the process (as Ctrl-C would) and reap it; kill it if it lingers."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=SANDBOX_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- databases ------------------------------------------------------------------------


class PostgresDatabases:
    """Databases on the server of ``admin_url``, created as asked and dropped at the end
    unless kept (a ``--state`` folder names the one it keeps)."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine

        base = admin_url.rstrip("/")
        if base.count("/") < 3:  # "postgresql+psycopg://host:port" has no database name
            self.server, admin = base, base + "/postgres"
        else:
            self.server, admin = base.rsplit("/", 1)[0], base
        self._engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        self._made: list[str] = []
        self._kept: set[str] = set()

    def fresh(self) -> str:
        from sqlalchemy import text

        name = f"tidal_sync_bench_{uuid.uuid4().hex[:10]}"
        with self._engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self._made.append(name)
        return f"{self.server}/{name}"

    def url(self, name: str) -> str:
        return f"{self.server}/{name}"

    def keep(self, url: str) -> str:
        name = url.rsplit("/", 1)[1]
        self._kept.add(name)
        return name

    def drop(self, url: str) -> None:
        from sqlalchemy import text

        name = url.rsplit("/", 1)[1]
        with self._engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        for name in self._made:
            if name not in self._kept:
                self.drop(self.url(name))
        self._engine.dispose()


def database_mb(url: str) -> float:
    from sqlalchemy import create_engine, make_url, text

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists()) / 2**20
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            return int(size.scalar_one()) / 2**20
    finally:
        engine.dispose()


# -- one sync -------------------------------------------------------------------------


@dataclasses.dataclass
class Work:
    """One DAGSTER_HOME, product database and library, and the environment naming them."""

    folder: Path
    url: str
    env: dict[str, str]

    @property
    def home(self) -> Path:
        return self.folder / "dagster_home"

    @property
    def root(self) -> Path:
        return self.folder / "library"

    @contextlib.contextmanager
    def instance(self) -> Iterator[DagsterInstance]:
        from dagster import DagsterInstance
        from dagster._core.instance.ref import InstanceRef

        with DagsterInstance.from_ref(InstanceRef.from_dir(str(self.home))) as instance:
            yield instance


def make_work(folder: Path, url: str | None, common: dict[str, str]) -> Work:
    home = folder / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    url = url or f"sqlite:///{home / 'tidal_sync.db'}"
    env = {
        **common,
        "DAGSTER_HOME": str(home),
        "TIDAL_SYNC_LIBRARY_ROOT": str(folder / "library"),
        "TIDAL_SYNC_DATABASE_URL": url,
    }
    return Work(folder, url, env)


def step_seconds(
    instance: DagsterInstance, kind: str, since: float, windows: dict[str, tuple[float, float]]
) -> tuple[dict[str, float], float, list[str]]:
    """Step durations, run duration and step failures of the newest run tagged
    ``tidal-sync/step=kind`` that started after ``since`` (epoch seconds); each step's
    (start, end) into ``windows``."""
    from dagster import DagsterEventType, RunsFilter

    records = instance.get_run_records(filters=RunsFilter(tags={"tidal-sync/step": kind}), limit=1)
    if not records or (records[0].start_time or 0.0) < since:
        return {}, 0.0, []
    record = records[0]
    run_id = record.dagster_run.run_id
    steps = {
        stat.step_key: stat.end_time - stat.start_time
        for stat in instance.get_run_step_stats(run_id)
        if stat.start_time is not None and stat.end_time is not None
    }
    windows.update(
        {
            stat.step_key: (stat.start_time, stat.end_time)
            for stat in instance.get_run_step_stats(run_id)
            if stat.start_time is not None and stat.end_time is not None
        }
    )
    run = (record.end_time or 0.0) - (record.start_time or 0.0)
    failures = []
    for event in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = event.dagster_event.step_failure_data if event.dagster_event else None
        error = data.error if data is not None else None
        while error is not None and error.cause is not None:  # the user code's own error
            error = error.cause
        if error is not None:
            failures.append(f"{event.step_key}: {error.message.strip()}")
    return steps, run, failures


def replanned(instance: DagsterInstance, since: float) -> bool | None:
    """Whether a ``library_diff`` since ``since`` computed the diff anew (its metadata)."""
    from dagster import AssetKey

    event = instance.get_latest_materialization_event(AssetKey("library_diff"))
    if event is None or event.asset_materialization is None or event.timestamp < since:
        return None
    value = event.asset_materialization.metadata.get("recomputed")
    return None if value is None else bool(value.value)


def run_sync(label: str, sandbox: Sandbox, work: Work, clock: str | None) -> SyncFigures:
    """One ``tidal-sync sync`` in a process of its own; ``clock``: profile it (see
    ``profiled``)."""
    with work.instance() as instance:
        runs_before = instance.get_runs_count()
    sandbox.clear_requests()
    target = None
    command = SYNC_COMMAND
    slug = re.sub(r"\W+", "-", label).strip("-")
    if clock == "spy":  # sampled: no cost per call, so many small calls are not inflated
        target = Path(tempfile.gettempdir()) / f"sync-bench-{slug}-spy.txt"
        spy = os.environ.get("BENCH_PY_SPY") or shutil.which("py-spy") or "py-spy"
        command = [spy, "record", "--format", "raw", "--threads", "--idle", "--rate", "200"]
        command += ["--output", str(target), "--", *SYNC_COMMAND]
    elif clock is not None:
        target = Path(tempfile.gettempdir()) / f"sync-bench-{slug}-{clock}.pstats"
        command = [sys.executable, __file__, "--as-child", "profile", str(target), clock]
    since = time.time()
    child = run_child(command, work.env, work.folder)
    paths = sandbox.request_paths()
    with work.instance() as instance:
        started = instance.get_runs_count() - runs_before
        steps, runs, failures = {}, {}, []
        windows: dict[str, tuple[float, float]] = {}
        for kind in ("plan", "library", "export"):
            kind_steps, runs[kind], kind_failures = step_seconds(instance, kind, since, windows)
            steps.update(kind_steps)
            failures += kind_failures
        diff = replanned(instance, since)
    if failures:
        child.stderr = "\n".join([child.stderr.strip(), *failures])
    peak_step = next(
        (key for key, (start, end) in windows.items() if start <= child.peak_at <= end),
        "outside the steps" if windows else None,
    )
    return SyncFigures(
        peak_step=peak_step,
        label=label,
        child=child,
        dagster_runs=started,
        steps=steps,
        runs=runs,
        requests=request_kinds(paths),
        downloads=sum(1 for path in paths if DOWNLOAD_START.match(path)),
        db_mb=database_mb(work.url),
        replanned=diff,
        profile=str(target) if target else None,
    )


def show(figures: SyncFigures, tracks: int) -> None:
    f, c = figures, figures.child
    path = (
        f"Dagster runs {f.dagster_runs} (plan {f.runs['plan']:.2f} s, library "
        f"{f.runs['library']:.2f} s, export {f.runs['export']:.2f} s); "
        + ("planned anew" if f.replanned else "empty plan reused")
        if f.dagster_runs
        else "quick check: no Dagster run"
    )
    print(
        f"  {f.label} [{tracks:,} tracks]: exit {c.code}, wall {c.wall:.2f} s, CPU {c.cpu:.2f} s, "
        f"peak RSS {c.peak_mb:.0f} MB"
        + (f" (during {f.peak_step})" if f.peak_step else "")
        + f"; {path}; database {f.db_mb:.1f} MB"
    )
    per_kind = ", ".join(f"{k} {n}" for k, n in f.requests.most_common() if k != "total")
    print(f"    requests {f.requests['total']}" + (f": {per_kind}" if per_kind else ""))
    if f.steps:
        print("    steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in f.steps.items()))
    if f.profile:
        print(f"    profile (cProfile or py-spy, every thread): {f.profile}")
        if f.profile.endswith(".pstats"):
            pstats.Stats(f.profile).sort_stats("cumulative").print_stats(25)
    if c.code != 0:
        print("    stderr: " + c.stderr.strip()[-2000:].replace("\n", "\n            "))


def per_download(figures: SyncFigures, stream: str) -> tuple[float, float] | None:
    """Issue 17 item 1's count per downloaded track and its allowance per downloaded
    track; None: the sync downloaded nothing."""
    if not figures.downloads:
        return None
    counted = sum(figures.requests[k] for k in TARGET_KINDS)
    allowed = ALLOWED_PER_DOWNLOAD[stream] * figures.downloads + sum(
        figures.requests[k] for k in ALLOWED_KINDS
    )
    return counted / figures.downloads, allowed / figures.downloads


def show_per_download(figures: SyncFigures, stream: str) -> None:
    """The requests of each kind per downloaded track, and issue 17 item 1's count."""
    found = per_download(figures, stream)
    if found is None:
        print("    requests per downloaded track: nothing was downloaded")
        return
    f, (counted, allowed) = figures, found
    print(
        f"    requests per downloaded track ({f.downloads:,} downloads, {stream}): "
        + ", ".join(
            f"{kind} {f.requests[kind] / f.downloads:.3f}"
            for kind in [*(k for k, _ in REQUEST_KINDS), "other"]
        )
        + f"; every request {f.requests['total'] / f.downloads:.3f}"
    )
    print(
        f"    issue 17.1: {' + '.join(TARGET_KINDS)} = {counted:.3f} per track, allowed "
        f"{allowed:.3f} ({ALLOWED_PER_DOWNLOAD[stream]} per track + albums, listing and track "
        "pages; covers and DASH segments apart)"
    )


def clock_for(args: argparse.Namespace, phase: str) -> str | None:
    """The profile clock for the syncs of ``phase``; None: not profiled."""
    return str(args.profile_clock) if phase in args.profile else None


def median_of(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- phases ---------------------------------------------------------------------------


@dataclasses.dataclass
class Bare:
    child: Child
    tracks: int
    bytes: int
    listing: float
    download: float


def run_bare(sandbox: Sandbox, work: Work, args: argparse.Namespace, out: Path) -> Bare:
    out.mkdir(parents=True, exist_ok=True)
    sandbox.clear_requests()
    command = [sys.executable, __file__, "--as-child", "bare", sandbox.base_url]
    command += [work.env["TIDAL_SYNC_SESSION_FILE"], args.quality, str(args.workers), str(out)]
    child = run_child(command, work.env, work.folder)
    if child.code != 0:
        raise RuntimeError("the bare loop failed: " + child.stderr[-2000:])
    found = json.loads(child.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return Bare(
        child, found["tracks"], found["bytes"], found["listing_seconds"], found["download_seconds"]
    )


def settling(sandbox: Sandbox, work: Work, tracks: int, label: str) -> SyncFigures:
    """Syncs until one runs no library run: the sync after one that changed the library
    rescans what it placed (a full sync by design). A library kept from an earlier run
    of the benchmark may first need a change sync back to the seed's account."""
    for attempt in range(1, 4):
        figures = run_sync(f"{label} ({attempt})" if attempt > 1 else label, sandbox, work, None)
        show(figures, tracks)
        if figures.child.code == 0 and not figures.runs["library"]:
            break
    return figures


def first_syncs(
    args: argparse.Namespace,
    sandbox: Sandbox,
    new_work: Callable[[str], Work],
    drop_work: Callable[[Work], None],
) -> tuple[Work, list[SyncFigures], list[Bare]]:
    syncs: list[SyncFigures] = []
    bares: list[Bare] = []
    work = None
    for i in range(args.first_runs):
        if work is not None:
            drop_work(work)
        work = new_work(f"first-{i + 1}")
        bare = run_bare(sandbox, work, args, work.folder / "bare")
        bares.append(bare)
        b = bare.child
        print(
            f"  bare loop #{i + 1} [{bare.tracks:,} tracks, {args.workers} workers]: wall "
            f"{b.wall:.2f} s (listing {bare.listing:.2f} s, downloads {bare.download:.2f} s), "
            f"CPU {b.cpu:.2f} s, peak RSS {b.peak_mb:.0f} MB, {bare.bytes / 2**20:.0f} MB"
        )
        figures = run_sync(f"first sync #{i + 1}", sandbox, work, clock_for(args, "first"))
        show(figures, args.tracks)
        show_per_download(figures, args.stream)
        syncs.append(figures)
    assert work is not None
    return work, syncs, bares


# -- Dagster's own cost per partition --------------------------------------------------


def event_cost_child(storage_url: str, partitions: int) -> None:
    """In a child: a fresh instance on ``storage_url`` (SQLite file or PostgreSQL) runs an
    asset whose body reports one materialization per partition and nothing else."""
    from dagster import (
        AssetMaterialization,
        BackfillPolicy,
        DagsterInstance,
        Definitions,
        DynamicPartitionsDefinition,
        asset,
        define_asset_job,
    )

    warnings.simplefilter("ignore")  # backfill_policy is "beta": the product accepts that too
    partitions_def = DynamicPartitionsDefinition(name="playlists")

    @asset(
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        output_required=False,
    )
    def playlist(context) -> Iterator[Any]:  # type: ignore[no-untyped-def]
        for key in context.partition_keys:
            # About what the product's playlist_library reports per playlist.
            yield AssetMaterialization(
                context.asset_key,
                partition=key,
                metadata={"done": 3, "failed": 0, "skipped": 0, "playlist": f"Playlist {key}"},
            )

    job = define_asset_job("sync", selection=[playlist], partitions_def=partitions_def)
    defs = Definitions(assets=[playlist], jobs=[job])
    home = Path(tempfile.mkdtemp(prefix="event-cost-"))
    if storage_url.startswith("postgresql"):
        (home / "dagster.yaml").write_text(
            "telemetry: {enabled: false}\nstorage:\n  postgres:\n    postgres_url: "
            # dagster-postgres talks psycopg2 (deploy/dagster.postgres.yaml says why)
            + json.dumps(storage_url.replace("postgresql+psycopg://", "postgresql+psycopg2://"))
            + "\n"
        )
    else:
        (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    os.environ["DAGSTER_HOME"] = str(home)
    instance = DagsterInstance.get()
    keys = [f"p{i:05d}" for i in range(partitions)]
    instance.add_dynamic_partitions("playlists", keys)
    started = time.perf_counter()
    result = defs.resolve_job_def("sync").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        },
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )
    seconds = time.perf_counter() - started
    events = Counter(
        e.dagster_event.event_type_value
        for e in instance.all_logs(result.run_id)
        if e.dagster_event is not None
    )
    instance.dispose()
    shutil.rmtree(home, ignore_errors=True)
    print(json.dumps({"seconds": seconds, "events": dict(events)}))


def event_cost(args: argparse.Namespace, env: dict[str, str], work: Path) -> None:
    """Per-partition cost of Dagster's own bookkeeping, by storage and batching."""
    storages: list[tuple[str, str, Callable[[str], None] | None]] = [("SQLite", "sqlite", None)]
    databases = None
    if args.database_url:
        databases = PostgresDatabases(args.database_url)
        storages.append(("PostgreSQL", "", databases.drop))
    n = args.event_partitions
    try:
        for name, url, drop in storages:
            for batch in ("0", "1000"):
                seconds = {}
                counts: dict[str, int] = {}
                for count in (1, n):
                    storage = url if url else databases.fresh()  # type: ignore[union-attr]
                    command = [sys.executable, __file__, "--as-child", "events", storage]
                    child = run_child(
                        [*command, str(count)],
                        {**env, "DAGSTER_EVENT_BATCH_SIZE": batch},
                        work,
                    )
                    if drop is not None:
                        drop(storage)
                    if child.code != 0:
                        raise RuntimeError("the event-cost run failed: " + child.stderr[-2000:])
                    found = json.loads(child.stdout.strip().splitlines()[-1])
                    seconds[count] = found["seconds"]
                    counts = found["events"]
                per = (seconds[n] - seconds[1]) / (n - 1) * 1000
                per_partition = {
                    k: round(v / n, 2) for k, v in counts.items() if v >= n and "ASSET" in k
                }
                print(
                    f"  {name}, DAGSTER_EVENT_BATCH_SIZE={batch}: a run over 1 partition "
                    f"{seconds[1]:.2f} s, over {n:,} {seconds[n]:.2f} s: "
                    f"{per:.2f} ms per partition; events per partition {per_partition}"
                )
    finally:
        if databases is not None:
            databases.close()


# -- the benchmark --------------------------------------------------------------------


def quiet_target(tracks: int) -> float:
    """The no-change target at this size: 10x the floor up to 10,000 tracks, 4x from
    50,000 (in between: the nearer size's)."""
    return TARGET_QUIET_RATIO[10_000 if tracks < 30_000 else 50_000]


def benchmark(args: argparse.Namespace, base: Path, databases: PostgresDatabases | None) -> None:
    from tidal_sync_assets.tidal.login import login

    session_file = base / "session.json"
    marker = base / "first-sync-done"
    started = time.perf_counter()
    catalog = build_catalog(args)
    playlists = catalog.own_playlists()
    entries = sum(len(p.track_ids) for p in playlists)
    size = f"{len(playlists):,} playlists / {len(catalog.tracks()):,} tracks / {entries:,} entries"
    print(
        f"account: {size}, audio {args.audio_seconds} s/track; built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    database = "PostgreSQL" if databases else "SQLite"
    print(
        f"machine: {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; database {database}; "
        f"download workers {args.workers}; quality {args.quality}; work dir {base}"
    )
    tracks = args.tracks
    with sandbox_process(catalog, base) as sandbox:
        print(
            f"sandbox: its own process (pid {sandbox.pid}) on {sandbox.base_url}; its CPU and "
            "memory are not counted"
        )
        common = {
            **os.environ,
            "TIDAL_SYNC_API_BASE": sandbox.base_url,
            "TIDAL_SYNC_SESSION_FILE": str(session_file),
            "TIDAL_SYNC_RATE_LIMIT": str(args.rate_limit),
            "TIDAL_SYNC_CDN_RATE_LIMIT": str(args.rate_limit),
            "TIDAL_SYNC_DOWNLOAD_WORKERS": str(args.workers),
            "TIDAL_SYNC_QUALITY": args.quality,
        }
        login(session_file, sandbox.base_url, print_fn=lambda _: None)
        kept_database = base / "postgres-database"

        def new_work(name: str) -> Work:
            url = databases.fresh() if databases else None
            return make_work(base / name, url, common)

        def drop_work(work: Work) -> None:
            shutil.rmtree(work.folder, ignore_errors=True)
            if databases:
                databases.drop(work.url)

        start_cost = python_start(common, base)
        print(f"process start (python -c pass): median {start_cost:.3f} s")

        first: list[SyncFigures] = []
        bares: list[Bare] = []
        if marker.exists():
            work_name = marker.read_text().strip()
            url = databases.url(kept_database.read_text().strip()) if databases else None
            work = make_work(base / work_name, url, common)
            print(f"first sync: reusing the library synced before in {work.folder}")
        else:
            runs = args.first_runs
            print(
                f"first sync [{tracks:,} tracks], {runs} run(s) each next to the bare loop"
                + ("" if runs >= 3 else f" (a single run, not a median of 3: --first-runs {runs})")
                + ":"
            )
            work, first, bares = first_syncs(args, sandbox, new_work, drop_work)
            if args.state is not None:
                marker.write_text(work.folder.name + "\n")
                if databases:
                    kept_database.write_text(databases.keep(work.url) + "\n")
        settle = settling(sandbox, work, tracks, "settling sync")

        print("no-change syncs, each next to the floor:")
        floors = [floor_seconds(work.root, args.floor_runs)]
        quiet = []
        for i in range(args.quiet_runs):
            label = f"no-change #{i + 1}"
            quiet.append(run_sync(label, sandbox, work, clock_for(args, "nochange")))
            show(quiet[-1], tracks)
            floors.append(floor_seconds(work.root, args.floor_runs))
        files = lstat_walk(work.root)

        changes: list[SyncFigures] = []
        settles: list[SyncFigures] = []
        for i in range(args.change_runs):
            print(f"change #{i + 1}: {args.change:.1%} of the account's entries:")
            changed = change_account(catalog, sandbox, args.change, args.seed + 100 * (i + 1))
            print("  " + ", ".join(f"{k} {v}" for k, v in changed.items()))
            changes.append(
                run_sync(
                    f"{args.change:.0%}-change #{i + 1}", sandbox, work, clock_for(args, "change")
                )
            )
            show(changes[-1], tracks)
            settles.append(settling(sandbox, work, tracks, f"settling after change #{i + 1}"))

    if args.event_partitions > 1:
        print(f"Dagster's own cost per partition ({args.event_partitions:,} partitions):")
        event_cost(args, common, base)

    summary(args, size, files, start_cost, first, bares, settle, quiet, floors, changes, settles)


def summary(
    args: argparse.Namespace,
    size: str,
    files: int,
    start_cost: float,
    first: list[SyncFigures],
    bares: list[Bare],
    settle: SyncFigures,
    quiet: list[SyncFigures],
    floors: list[float],
    changes: list[SyncFigures],
    settles: list[SyncFigures],
) -> None:
    print(f"figures [{size}; {files:,} entries under Playlists/; {args.workers} workers]:")
    verdicts: list[tuple[str, bool]] = []
    if first:
        how = f"median of {len(first)}" if len(first) >= 3 else f"{len(first)} run(s), no median"
        first_wall = median_of([f.child.wall for f in first])
        bare_wall = median_of([b.child.wall for b in bares])
        ratio = first_wall / bare_wall
        print(
            f"  first sync {first_wall:.1f} s vs bare loop {bare_wall:.1f} s ({how}): {ratio:.2f}x"
        )
        verdicts.append(
            (f"first sync <= {TARGET_FIRST_RATIO}x the bare loop: {ratio:.2f}x", ratio <= 1.5)
        )
        counts = [c for c in (per_download(f, args.stream) for f in first) if c is not None]
        if counts:
            counted = median_of([c[0] for c in counts])
            allowed = median_of([c[1] for c in counts])
            print(
                f"  requests per downloaded track ({args.stream}, {how}): {counted:.3f}, "
                f"issue 17.1 allows {allowed:.3f}"
            )
            verdicts.append(
                (
                    f"requests per downloaded track <= issue 17.1's allowance: {counted:.3f} "
                    f"<= {allowed:.3f}",
                    counted <= allowed,
                )
            )
    else:
        print("  first sync: not run (reused an earlier one)")
    floor = median_of(floors)
    quiet_wall = median_of([q.child.wall for q in quiet])
    target = quiet_target(args.tracks)
    quick = sum(1 for q in quiet if q.dagster_runs == 0)
    print(
        f"  no-change sync: median of {len(quiet)} {quiet_wall:.3f} s ({quick} of them the quick "
        f"check, no Dagster run), process start included (python alone {start_cost:.3f} s); "
        f"floor (scandir + lstat, median of {len(floors)}x{args.floor_runs}) {floor:.3f} s: "
        f"{quiet_wall / floor:.1f}x; settling sync before them {settle.child.wall:.2f} s"
    )
    verdicts.append(
        (
            f"no-change sync <= {target:.0f}x the floor: {quiet_wall / floor:.1f}x",
            quiet_wall <= target * floor,
        )
    )
    if changes:
        change_wall = median_of([c.child.wall for c in changes])
        downloads = median_of([float(c.downloads) for c in changes])
        print(
            f"  {args.change:.0%}-change sync: median of {len(changes)} {change_wall:.2f} s "
            f"({downloads:.0f} downloads each, median); steps (median): "
            + ", ".join(
                f"{k} {median_of([c.steps[k] for c in changes if k in c.steps]):.2f} s"
                for k in ASSETS
            )
            + "; settling syncs after them, median "
            + f"{median_of([s.child.wall for s in settles]):.2f} s"
        )
        verdicts.append(
            (
                f"{args.change:.0%}-change sync <= {TARGET_CHANGE_SECONDS:.0f} s: "
                f"{change_wall:.1f} s"
                + ("" if args.tracks >= 50_000 else " (the target is for 50,000 tracks)"),
                change_wall <= TARGET_CHANGE_SECONDS,
            )
        )
        print(
            f"    PostgreSQL within {TARGET_POSTGRES_RATIO}x of SQLite: compare this figure with "
            "the same run on the other database (--database-url)"
        )
    every = [*first, settle, *quiet, *changes, *settles]
    peak = max(s.child.peak_mb for s in every)
    worst = max(every, key=lambda s: s.child.peak_mb)
    print(f"  peak RSS of a sync process: {peak:.0f} MB ({worst.label})")
    verdicts.append((f"peak RSS <= {TARGET_PEAK_MB:.0f} MB: {peak:.0f} MB", peak <= TARGET_PEAK_MB))
    verdicts.append(("every sync exited 0", all(s.child.code == 0 for s in every)))
    print("targets:")
    for text, met in verdicts:
        print(f"  [{'met' if met else 'MISSED'}] {text}")


def as_child(argv: list[str]) -> None:
    """The benchmark's own child processes: the bare loop, a profiled sync, an event-cost run."""
    what = argv[0]
    if what == "bare":
        base_url, session_file, quality, workers, out = argv[1:]
        bare_loop(base_url, Path(session_file), quality, int(workers), Path(out))
    elif what == "profile":
        from tidal_sync_assets.cli import commands as cli

        sys.exit(profiled(Path(argv[1]), argv[2], lambda: cli.main(["sync"])))
    elif what == "events":
        event_cost_child(argv[1], int(argv[2]))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--as-child"]:
        as_child(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--playlists", type=int, default=1_000)
    parser.add_argument("--tracks", type=int, default=50_000)
    parser.add_argument(
        "--entries-per-track", type=float, default=3.0, help="playlist entries per track"
    )
    parser.add_argument(
        "--audio-seconds",
        type=float,
        default=0.2,
        help="synthesized audio per track (0.2 s: 4 DASH segments, the shape of TIDAL's)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tracks-per-album", type=int, default=4, help="10,000 tracks: 2,500 albums"
    )
    parser.add_argument(
        "--stream",
        choices=("bts", "dash"),
        default="dash",
        help="how TIDAL streams the tracks to the device-code login asking LOSSLESS: dash "
        "(FLAC segments, a hi-res master) or bts (AAC 320, no hi-res master)",
    )
    parser.add_argument(
        "--first-runs", type=int, default=3, help="first syncs (each next to a bare loop)"
    )
    parser.add_argument("--quiet-runs", type=int, default=3, help="no-change syncs")
    parser.add_argument("--change", type=float, default=0.01, help="share of entries changed")
    parser.add_argument("--change-runs", type=int, default=3, help="changes, each synced")
    parser.add_argument("--floor-runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8, help="TIDAL_SYNC_DOWNLOAD_WORKERS")
    parser.add_argument("--quality", default="LOSSLESS", help="TIDAL_SYNC_QUALITY")
    parser.add_argument("--rate-limit", type=float, default=100_000.0)
    parser.add_argument(
        "--event-partitions",
        type=int,
        default=1_000,
        help="partitions of the Dagster event-cost run (0: skip it)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL (e.g. postgresql+psycopg://127.0.0.1:5432/): fresh "
        "databases are created there and dropped afterwards; default: SQLite",
    )
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        choices=("first", "nochange", "change"),
        help="profile these syncs (every thread; to the temp dir; see --profile-clock)",
    )
    parser.add_argument(
        "--profile-clock",
        choices=("wall", "cpu", "spy"),
        default="wall",
        help="time the profile by the wall clock (waits included) or each thread's CPU time "
        "(cProfile: each call costs, inflating many small ones), or sample it with py-spy "
        "(BENCH_PY_SPY or py-spy on the PATH; collapsed stacks, idle ones included)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="keep the work (library, databases) in this folder; when it already holds a "
        "first sync of the same account (same sizes and seed), reuse it instead of syncing "
        "from scratch, synced back to the seed's account first if an earlier run changed "
        "it (with --database-url, the PostgreSQL database is kept too)",
    )
    args = parser.parse_args(argv)

    base = args.state or Path(tempfile.mkdtemp(prefix="sync-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    databases = PostgresDatabases(args.database_url) if args.database_url else None
    try:
        benchmark(args, base, databases)
    finally:
        if databases is not None:
            databases.close()
        if args.state is None:
            shutil.rmtree(base, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
