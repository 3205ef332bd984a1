"""Sync benchmark: the whole ``tidal-sync sync`` against a large synthetic TIDAL account.

Serves a synthetic account (``synthetic_catalog``, written to a catalog file in the work
dir) from ``tidal-sync sandbox`` in its own process on 127.0.0.1, as real TIDAL is a remote
server: the sandbox's CPU (JSON, synthesized audio) and memory are not counted. The
benchmark drives it over its ``/_sandbox/`` control API, logs in with the product's own
device-code login, and drives ``tidal-sync sync`` in-process (``cli.main(["sync"])``, the
same path a user takes) on a fresh DAGSTER_HOME, product database and library root:

1. a first full sync into an empty library;
2. ``--quiet-runs`` no-change syncs (medians per asset and in total);
3. one sync after changing ``--change`` of the account's entries (half removed, half
   added, a tenth of the additions brand-new tracks) and renaming one playlist: on the
   benchmark's own copy of the catalog, then pushed to the sandbox and checked there;
4. the floor: a bare ``os.scandir`` + ``lstat`` walk of the resulting library.

Per sync it prints wall time, the Dagster step durations (from the instance's
STEP_START / STEP_SUCCESS events), requests the sandbox saw (its request log: total,
audio downloads, playlist-track pages, and by kind: listing, track pages, playback info,
single tracks, audio files, audio segments, albums, covers, other), the peak RSS of the
phase (this process's VmHWM, reset before each phase: the product only, not the sandbox)
and the database size. It asserts nothing.

Requests per downloaded track (issue 17.1): ``--first-runs 3`` syncs the account from
scratch three times (each into a fresh library, database and Dagster instance) and prints
the median of each kind per downloaded track. A download is a BTS file or a DASH init
segment. The target, for BTS streams (``--stream bts``: TIDAL's AAC 320 that a device-code
login asking LOSSLESS gets for releases without a hi-res master), is the playback info and
the file per track plus one album request per distinct album plus the listing and the
track pages; cover images (one per album, from TIDAL's image server) are counted apart,
and so are DASH segments (``--stream dash``: the playback info plus its segments).

Targets (2-core machine): no-change sync <= 10x the lstat floor and < 20 s; the
1%-change sync < 60 s plus download time; peak memory < 1 GB; a no-change sync
makes no playlist-track requests.

    .venv/bin/python bench/sync_benchmark.py --playlists 100 --tracks 5000
    .venv/bin/python bench/sync_benchmark.py --playlists 200 --tracks 10000 --first-runs 3
    .venv/bin/python bench/sync_benchmark.py                     # 1,000 / 50,000 / 150,000
    .venv/bin/python bench/sync_benchmark.py --database-url postgresql+psycopg://127.0.0.1:5432/
    .venv/bin/python bench/sync_benchmark.py --profile nochange  # needs the '.[bench]' extra
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from tidal_sync_assets.sandbox.catalog import Catalog, Playlist, Track

REPO = Path(__file__).resolve().parents[1]
DAGSTER_YAML = REPO / "dagster_home" / "dagster.yaml"
ASSETS = ("tidal_snapshot", "filesystem_snapshot", "library_diff", "dedup_plan", "playlist_library")
PLAYLIST_TRACKS = re.compile(r"^/v1/playlists/[^/?]+/(tracks|items)")
AUDIO = "/_audio/"
# What each TIDAL request of a sync was for, by its path (the first match; else "other").
REQUEST_KINDS = {
    "listing": re.compile(
        r"^/v1/users/\d+/(playlists|playlistsAndFavoritePlaylists)(\?|$)"
        r"|^/v2/my-collection/playlists/folders"
    ),
    "track pages": re.compile(
        r"^/v1/playlists/[^/?]+/(tracks|items)|^/v1/users/\d+/favorites/tracks"
    ),
    "playback info": re.compile(r"^/v1/tracks/\d+/playbackinfo"),
    "single tracks": re.compile(r"^/v1/tracks/\d+(\?|$)"),
    "audio files": re.compile(r"^/_audio/\d+/\w+\.mp4"),
    "audio segments": re.compile(r"^/_audio/\d+/\w+/\d+\.mp4"),
    "albums": re.compile(r"^/v1/albums/\d+(\?|$)"),
    "covers": re.compile(r"^/images/"),
}
# A download starts with a BTS file or a DASH init segment (segment 0).
DOWNLOAD_START = re.compile(r"^/_audio/\d+/\w+(/0)?\.mp4")
# Issue 17.1: per downloaded track the playback info and its audio (BTS: the file; DASH:
# its segments, counted apart), plus one request per album, plus the listing and the
# track pages. Anything else (a single track's document) is over the target.
TARGET_KINDS = (
    "listing",
    "track pages",
    "playback info",
    "single tracks",
    "audio files",
    "albums",
)
ALLOWED_KINDS = ("listing", "track pages", "albums")  # plus 2 per download
TARGET_QUIET_SECONDS = 20.0
TARGET_QUIET_FLOOR_RATIO = 10.0
TARGET_CHANGE_SECONDS = 60.0
TARGET_MB = 1024.0
SANDBOX_START_SECONDS = 120.0
SANDBOX_STOP_SECONDS = 10.0
CONTROL_TIMEOUT = 120.0


@dataclasses.dataclass
class SyncFigures:
    label: str
    code: int
    wall: float
    steps: dict[str, float]  # asset (step key) -> seconds
    runs: dict[str, float]  # "plan" / "library" -> run seconds (Dagster's record)
    requests: int
    audio: int
    playlist_tracks: int
    kinds: dict[str, int]  # REQUEST_KINDS (and "other") -> requests
    downloads: int
    peak_mb: float
    traced_mb: float | None
    db_mb: float
    replanned: bool | None  # library_diff computed anew (False: the empty plan was reused)
    stderr: str


# -- memory ---------------------------------------------------------------------------


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    # Without a hi-res master, a device-code login asking LOSSLESS is streamed BTS AAC.
    tracks = [
        dataclasses.replace(t, audio_seconds=args.audio_seconds, hires_master=args.stream == "dash")
        for t in base.tracks()
    ]
    return Catalog(base.user, tracks, base.playlists())


def request_kinds(paths: list[str]) -> dict[str, int]:
    """How many of ``paths`` are of each kind (``REQUEST_KINDS``, then "other")."""
    counts = dict.fromkeys([*REQUEST_KINDS, "other"], 0)
    for path in paths:
        kind = next((k for k, pattern in REQUEST_KINDS.items() if pattern.match(path)), "other")
        counts[kind] += 1
    return counts


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
            title=f"New Track {i}",
            isrc=f"QZNEW{i:07d}",
            artists=(f"New Artist {i % 13}",),
            album_artist=f"New Artist {i % 13}",
            album=f"New Album {i // 12}",
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


# -- the environment ------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(admin_url: str, state: Path | None) -> Iterator[str]:
    """A database on the server of ``admin_url``: a fresh one dropped afterwards, or,
    with a ``state`` folder, the one named in it (created once and kept)."""
    from sqlalchemy import create_engine, text

    base = admin_url.rstrip("/")
    if base.count("/") < 3:  # "postgresql+psycopg://host:port" has no database name
        server, admin = base, base + "/postgres"
    else:
        server, admin = base.rsplit("/", 1)[0], base
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    named = state / "postgres-database" if state is not None else None
    name = f"tidal_sync_bench_{uuid.uuid4().hex[:10]}"
    if named is not None and named.exists():
        name = named.read_text().strip()
    else:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        if named is not None:
            named.write_text(name + "\n")
    try:
        yield f"{server}/{name}"
    finally:
        if named is None:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


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


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'dagster_home' / 'tidal_sync.db'}"


def point_at(home: Path, root: Path, url: str) -> None:
    """Make the next ``tidal-sync sync`` use this Dagster home, library and database."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    os.environ.update(
        {
            "DAGSTER_HOME": str(home),
            "TIDAL_SYNC_LIBRARY_ROOT": str(root),
            "TIDAL_SYNC_DATABASE_URL": url,
        }
    )


# -- one sync -------------------------------------------------------------------------


def step_seconds(kind: str, since: float) -> tuple[dict[str, float], float, list[str]]:
    """Step durations, run duration and step failures of the newest run tagged
    ``tidal-sync/step=kind`` that started after ``since`` (epoch seconds)."""
    from dagster import DagsterEventType, DagsterInstance, RunsFilter

    instance = DagsterInstance.get()
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
    run = (record.end_time or 0.0) - (record.start_time or 0.0)
    failures = []
    for event in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = event.dagster_event.step_failure_data if event.dagster_event else None
        error = data.error if data is not None else None
        while error is not None and error.cause is not None:  # the user code's own error
            error = error.cause
        if error is not None:
            failures.append(f"{event.step_key}: {error.message.strip()}")
            if os.environ.get("SYNC_BENCH_TRACEBACKS"):
                failures.append("".join(error.stack))
    return steps, run, failures


def replanned() -> bool | None:
    """Whether the latest ``library_diff`` computed the diff anew (its metadata says)."""
    from dagster import AssetKey, DagsterInstance

    event = DagsterInstance.get().get_latest_materialization_event(AssetKey("library_diff"))
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get("recomputed")
    return None if value is None else bool(value.value)


def run_sync(label: str, sandbox: Sandbox, url: str, trace: bool, profile: bool) -> SyncFigures:
    from tidal_sync_assets import cli

    sandbox.clear_requests()
    reset_peak_rss()
    if trace:
        tracemalloc.start()
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    out, err = io.StringIO(), io.StringIO()
    since = time.time()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["sync"])
    wall = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        name = "sync-bench-" + re.sub(r"\W+", "-", label) + ".txt"
        target = Path(tempfile.gettempdir()) / name
        show_all = bool(os.environ.get("SYNC_BENCH_SHOW_ALL"))  # Dagster's frames too
        target.write_text(profiler.output_text(unicode=False, color=False, show_all=show_all))
        print(f"  profile of {label!r} written to {target}")
    traced = None
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    peak = peak_rss_mb()
    paths = sandbox.request_paths()
    plan_steps, plan_run, plan_failures = step_seconds("plan", since)
    library_steps, library_run, library_failures = step_seconds("library", since)
    return SyncFigures(
        label=label,
        code=code,
        wall=wall,
        steps={**plan_steps, **library_steps},
        runs={"plan": plan_run, "library": library_run},
        requests=len(paths),
        audio=sum(1 for path in paths if path.startswith(AUDIO)),
        playlist_tracks=sum(1 for path in paths if PLAYLIST_TRACKS.match(path)),
        kinds=request_kinds(paths),
        downloads=sum(1 for path in paths if DOWNLOAD_START.match(path)),
        peak_mb=peak,
        traced_mb=traced,
        db_mb=database_mb(url),
        replanned=replanned(),
        stderr="\n".join([err.getvalue().strip(), *plan_failures, *library_failures]),
    )


def show(figures: SyncFigures) -> None:
    f = figures
    traced = f", tracemalloc peak {f.traced_mb:.0f} MB" if f.traced_mb is not None else ""
    print(
        f"  {f.label}: exit {f.code}, wall {f.wall:.2f} s "
        f"(plan run {f.runs['plan']:.2f} s, library run {f.runs['library']:.2f} s); "
        f"requests {f.requests} (audio {f.audio}, playlist-track pages {f.playlist_tracks}); "
        f"peak RSS {f.peak_mb:.0f} MB{traced}; database {f.db_mb:.1f} MB; "
        f"{'planned anew' if f.replanned else 'empty plan reused'}"
    )
    print("    steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in f.steps.items()))
    print(
        f"    requests by kind ({f.downloads} downloads): "
        + ", ".join(f"{kind} {n}" for kind, n in f.kinds.items())
    )
    if f.code != 0:
        print("    stderr: " + f.stderr.strip()[:2000].replace("\n", "\n            "))


def per_track(runs: list[SyncFigures], stream: str) -> tuple[float, float] | None:
    """Print the median requests of each kind per downloaded track over ``runs`` (first
    syncs) and the issue's count; return it and its allowance per track (None: nothing
    was downloaded)."""
    downloads = statistics.median(r.downloads for r in runs)
    if not downloads:
        print("  requests per downloaded track: nothing was downloaded")
        return None
    print(f"  requests per downloaded track, median of {len(runs)} first syncs ({stream}):")
    for kind in [*REQUEST_KINDS, "other"]:
        count = statistics.median(r.kinds[kind] for r in runs)
        print(f"    {kind:<16} {count:>9.0f}  {count / downloads:6.3f} per track")
    counted = statistics.median(sum(r.kinds[k] for k in TARGET_KINDS) for r in runs)
    # BTS: the playback info and the file; DASH: the playback info (its segments apart).
    each = 2 if stream == "bts" else 1
    allowed = statistics.median(
        each * r.downloads + sum(r.kinds[k] for k in ALLOWED_KINDS) for r in runs
    )
    total = statistics.median(r.requests for r in runs)
    print(
        f"    issue 17.1 count ({' + '.join(TARGET_KINDS)}): {counted / downloads:.3f} "
        f"per track, allowed {allowed / downloads:.3f} ({each} per track + albums, listing "
        f"and track pages); covers and DASH segments apart; every request (login too): "
        f"{total / downloads:.3f} per track"
    )
    return counted / downloads, allowed / downloads


def medians(runs: list[SyncFigures]) -> None:
    print(f"  median of {len(runs)} no-change syncs:")
    print(f"    wall {statistics.median(r.wall for r in runs):.2f} s")
    for key in ASSETS:
        values = [r.steps[key] for r in runs if key in r.steps]
        if values:
            print(f"    {key:<20} {statistics.median(values):.2f} s")
    for kind in ("plan", "library"):
        print(f"    {kind + ' run':<20} {statistics.median(r.runs[kind] for r in runs):.2f} s")
    print(
        f"    requests {statistics.median(r.requests for r in runs):.0f}, playlist-track pages "
        f"{max(r.playlist_tracks for r in runs)} (max), audio {max(r.audio for r in runs)} (max), "
        f"peak RSS {max(r.peak_mb for r in runs):.0f} MB (max)"
    )


# -- the benchmark --------------------------------------------------------------------


def benchmark(args: argparse.Namespace, base: Path, url: str | None) -> None:
    from tidal_sync_assets.tidal.login import login

    home, root, session_file = base / "dagster_home", base / "library", base / "session.json"
    marker = base / "first-sync-done"
    reuse = marker.exists()
    url = url or f"sqlite:///{home / 'tidal_sync.db'}"
    point_at(home, root, url)

    started = time.perf_counter()
    catalog = build_catalog(args)
    playlists = catalog.own_playlists()
    entries = sum(len(p.track_ids) for p in playlists)
    print(
        f"account: {len(playlists)} playlists, {len(catalog.tracks())} tracks, {entries} "
        f"playlist entries, audio {args.audio_seconds} s/track; built in "
        f"{time.perf_counter() - started:.1f} s"
    )
    print(
        f"machine: {os.cpu_count()} cpus; database {url.split('://')[0]}; "
        f"download workers {args.workers}; work dir {base}"
    )
    profile = set(args.profile or ())
    with sandbox_process(catalog, base) as sandbox:
        print(
            f"sandbox: its own process (pid {sandbox.pid}) on {sandbox.base_url}; its CPU and "
            "memory are not counted (peak RSS is this process's: the product only)"
        )
        os.environ.update(
            {
                "TIDAL_SYNC_API_BASE": sandbox.base_url,
                "TIDAL_SYNC_SESSION_FILE": str(session_file),
                "TIDAL_SYNC_RATE_LIMIT": str(args.rate_limit),
                "TIDAL_SYNC_CDN_RATE_LIMIT": str(args.rate_limit),
                "TIDAL_SYNC_DOWNLOAD_WORKERS": str(args.workers),
            }
        )
        login(session_file, sandbox.base_url, print_fn=lambda _: None)

        def sync(label: str, phase: str, database: str = url) -> SyncFigures:
            figures = run_sync(label, sandbox, database, args.tracemalloc, phase in profile)
            show(figures)
            return figures

        firsts: list[SyncFigures] = []
        counts = None
        if reuse:
            print(f"first sync: reusing the library synced before in {base}")
            first = None
        else:
            for i in range(1, args.first_runs):
                scratch = base / f"first-sync-{i + 1}"
                print(f"first sync #{i + 1} of {args.first_runs} (a fresh library on SQLite):")
                scratch_url = sqlite_url(scratch)
                point_at(scratch / "dagster_home", scratch / "library", scratch_url)
                firsts.append(sync(f"first sync #{i + 1}", "first", scratch_url))
                shutil.rmtree(scratch, ignore_errors=True)
            point_at(home, root, url)
            empty = not (root / "Playlists").exists()
            print(
                "first sync (empty library):"
                if empty
                else "first sync (of the seed account, onto the library an earlier run left):"
            )
            first = sync("first sync", "first")
            firsts.append(first)
            if args.state is not None:
                marker.write_text("the first sync of this account is done\n")
            counts = per_track(firsts, args.stream)
        files = lstat_walk(root)
        print(f"  library: {files} entries under Playlists/")

        print("no-change syncs:")
        quiet = [sync(f"no-change #{i + 1}", "nochange") for i in range(args.quiet_runs)]
        medians(quiet)

        change = after = None
        if not args.no_change_only:
            print(f"change {args.change:.1%} of the account:")
            changed = change_account(catalog, sandbox, args.change, args.seed)
            print("  " + ", ".join(f"{k} {v}" for k, v in changed.items()))
            marker.unlink(missing_ok=True)  # the library no longer matches the seed's account
            change = sync("change sync", "change")
            after = sync("no-change after the change", "nochange")

        floors = []
        for _ in range(args.floor_runs):
            t0 = time.perf_counter()
            lstat_walk(root)
            floors.append(time.perf_counter() - t0)
        floor = statistics.median(floors)
        print(f"floor: os.scandir + lstat walk of {lstat_walk(root)} entries: median {floor:.3f} s")

    quiet_wall = statistics.median(r.wall for r in quiet)
    every = [r for r in (*firsts, *quiet, change, after) if r is not None]
    quiet_all = [r for r in (*quiet, after) if r is not None]
    peak = max(r.peak_mb for r in every)
    print("targets:")
    verdicts = [
        (
            f"no-change sync {quiet_wall:.2f} s <= {TARGET_QUIET_FLOOR_RATIO:.0f}x floor "
            f"({TARGET_QUIET_FLOOR_RATIO * floor:.2f} s)",
            quiet_wall <= TARGET_QUIET_FLOOR_RATIO * floor,
        ),
        (f"no-change sync {quiet_wall:.2f} s < {TARGET_QUIET_SECONDS:.0f} s", quiet_wall < 20),
        (f"peak RSS {peak:.0f} MB < {TARGET_MB:.0f} MB", peak < TARGET_MB),
        (
            "no-change syncs make no playlist-track requests "
            f"({sum(r.playlist_tracks for r in quiet_all)})",
            all(r.playlist_tracks == 0 for r in quiet_all),
        ),
        ("every sync exited 0", all(r.code == 0 for r in every)),
    ]
    if change is not None:
        # The allowance for downloads is the first sync's pace, when it downloaded.
        pace = first.wall / first.audio if first is not None and first.audio else None
        allowance = (
            f" + download time (~{pace * change.audio:.1f} s for {change.audio} downloads at "
            "the first sync's pace)"
            if pace is not None
            else " (no download allowance: this run's first sync downloaded nothing)"
        )
        limit = TARGET_CHANGE_SECONDS + (pace * change.audio if pace is not None else 0.0)
        verdicts.insert(
            2,
            (
                f"1%-change sync {change.wall:.2f} s < {TARGET_CHANGE_SECONDS:.0f} s{allowance}",
                change.wall < limit,
            ),
        )
    if firsts and counts is not None:
        count, allowed = counts
        verdicts.insert(
            0,
            (
                f"requests per downloaded track {count:.3f} <= {allowed:.3f} "
                f"({args.stream}; median of {len(firsts)} first syncs)",
                count <= allowed,
            ),
        )
    for text, met in verdicts:
        print(f"  [{'met' if met else 'MISSED'}] {text}")
    print(f"process ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--playlists", type=int, default=1_000)
    parser.add_argument("--tracks", type=int, default=50_000)
    parser.add_argument(
        "--entries-per-track", type=float, default=3.0, help="playlist entries per track"
    )
    parser.add_argument("--audio-seconds", type=float, default=0.05, help="synthesized audio")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tracks-per-album", type=int, default=4, help="10,000 tracks: 2,500 albums"
    )
    parser.add_argument(
        "--stream",
        choices=("bts", "dash"),
        default="bts",
        help="how TIDAL streams the tracks to the device-code login asking LOSSLESS: "
        "bts (AAC 320, no hi-res master) or dash (FLAC segments, a hi-res master)",
    )
    parser.add_argument(
        "--first-runs",
        type=int,
        default=1,
        help="first syncs from scratch (the extra ones on SQLite, each into a fresh "
        "library); requests per track are their median",
    )
    parser.add_argument("--quiet-runs", type=int, default=3, help="no-change syncs (>= 3)")
    parser.add_argument("--change", type=float, default=0.01, help="share of entries changed")
    parser.add_argument("--floor-runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=8, help="TIDAL_SYNC_DOWNLOAD_WORKERS")
    parser.add_argument("--rate-limit", type=float, default=100_000.0)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL (e.g. postgresql+psycopg://127.0.0.1:5432/): a fresh "
        "database is created there and dropped afterwards; default: SQLite",
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also trace (slow)")
    parser.add_argument(
        "--profile",
        action="append",
        choices=("first", "nochange", "change"),
        help="profile these syncs with pyinstrument (text to the temp dir)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="keep the work (library, databases) in this folder; when it already holds a "
        "first sync of the same account (same sizes and seed), reuse it instead of syncing "
        "from scratch (with --database-url, the PostgreSQL database is kept too)",
    )
    parser.add_argument("--no-change-only", action="store_true", help="skip the 1%%-change phase")
    args = parser.parse_args(argv)

    base = args.state or Path(tempfile.mkdtemp(prefix="sync-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        with contextlib.ExitStack() as stack:
            url = None
            if args.database_url:
                url = stack.enter_context(postgres_database(args.database_url, args.state))
            benchmark(args, base, url)
    finally:
        if args.state is None:
            shutil.rmtree(base, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
