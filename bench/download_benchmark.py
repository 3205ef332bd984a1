"""Download benchmark: the product's download path against the sandbox TIDAL, with a floor.

Starts the sandbox on loopback with a synthetic catalog (``--tracks`` tracks of
``--audio-seconds`` of FLAC each, about 1 MB at the default), logs in with the
product's device-code login, lists the tracks through ``fetch_snapshot`` and then
downloads every track through ``download_primary`` (manifest, stream, mutagen
check, tags, fsync, atomic rename) with each ``--workers`` count, one shared
tidalapi session as the library executor uses it. Each configuration runs
``--runs`` times into a fresh library; the table shows the median.

The floor is a single-stream loopback copy of the same bytes: plain ``requests``
GETs of the sandbox's ``/_audio/<id>.flac`` URLs written to files, with no API
calls, tagging or fsync.

The product's rate limiter spaces every TIDAL request (API and audio alike); the
benchmark passes a limiter of ``--rate`` requests per second (default: high
enough never to wait) so that the transfer path is measured, not the limit.

    .venv/bin/python bench/download_benchmark.py --tracks 200 --workers 1 4 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
import tidalapi

from tidal_sync_assets.library.download import download_primary
from tidal_sync_assets.sandbox.audio import track_flac
from tidal_sync_assets.sandbox.catalog import Catalog, synthetic_catalog
from tidal_sync_assets.sandbox.manifests import whole_file_url
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.tidal.fetch import fetch_snapshot
from tidal_sync_assets.tidal.login import login
from tidal_sync_assets.tidal.ratelimit import DEFAULT_REQUESTS_PER_SECOND, RateLimiter
from tidal_sync_assets.tidal.session import open_session
from tidal_sync_assets.tidal.snapshot import TidalTrack

_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Timing:
    """One configuration's median over its runs."""

    label: str
    seconds: float
    total_bytes: int
    tracks: int
    runs: int

    @property
    def mb_per_second(self) -> float:
        return self.total_bytes / 1e6 / self.seconds

    @property
    def tracks_per_second(self) -> float:
        return self.tracks / self.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument(
        "--audio-seconds", type=float, default=50.0, help="per track; 50 s is about 1 MB"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--quality", default="LOSSLESS", help="LOSSLESS: BTS, HI_RES_LOSSLESS: DASH"
    )
    parser.add_argument(
        "--rate", type=float, default=1_000_000.0, help="rate limiter, requests per second"
    )
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp dir)")
    args = parser.parse_args()

    base = args.dir or Path(tempfile.mkdtemp(prefix="download-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    catalog = bench_catalog(args.tracks, args.audio_seconds)
    started = time.perf_counter()
    for track in catalog.tracks():  # the sandbox renders audio once; keep that out of the timing
        track_flac(track.id, track.audio_seconds)
    print(
        f"rendered {args.tracks} tracks of {args.audio_seconds:g} s FLAC in "
        f"{time.perf_counter() - started:.1f} s; cpus={os.cpu_count()}"
    )
    try:
        with SandboxServer(catalog) as sandbox:
            timings, product_requests = run(sandbox, base, args)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print_table(timings)
    requests_per_track = product_requests / (args.tracks * args.runs * len(args.workers))
    print(
        f"\nrate limiter: the session was given RateLimiter({args.rate:g} requests/s) so that it "
        f"never waits. The product's default is {DEFAULT_REQUESTS_PER_SECOND:g} requests/s "
        f"(TIDAL_SYNC_RATE_LIMIT); at the {requests_per_track:.1f} TIDAL requests per track "
        f"measured here (API + audio) it would cap downloads at "
        f"{DEFAULT_REQUESTS_PER_SECOND / requests_per_track:.1f} tracks/s whatever the workers."
    )


def bench_catalog(tracks: int, audio_seconds: float) -> Catalog:
    """``tracks`` tracks in one playlist, each with ``audio_seconds`` of audio."""
    document = synthetic_catalog(n_playlists=1, n_tracks=tracks, entries_per_track=1.0).to_dict()
    for track in document["tracks"]:
        track["audio_seconds"] = audio_seconds
    return Catalog.from_dict(document)


def run(sandbox: SandboxServer, base: Path, args: argparse.Namespace) -> tuple[list[Timing], int]:
    """The floor and every workers count; also the requests the product's downloads sent."""
    session_file = base / "session.json"
    login(session_file, sandbox.base_url, print_fn=lambda _: None)
    session = open_session(session_file, sandbox.base_url, limiter=RateLimiter(args.rate))
    tracks = sorted(fetch_snapshot(session, {}).tracks.values(), key=lambda t: t.tidal_id)
    print(
        f"sandbox at {sandbox.base_url}; {len(tracks)} tracks listed; quality {args.quality}; "
        f"{args.runs} runs per configuration\n"
    )
    timings = [floor_copy(sandbox.base_url, tracks, base, args.runs)]
    sandbox.clear_log()
    for workers in args.workers:
        timings.append(product_download(session, tracks, args.quality, base, workers, args.runs))
    return timings, len(sandbox.request_log)


def product_download(
    session: tidalapi.Session,
    tracks: Sequence[TidalTrack],
    quality: str,
    base: Path,
    workers: int,
    runs: int,
) -> Timing:
    """``download_primary`` for every track on ``workers`` threads, one shared session."""

    def once(root: Path) -> int:
        def one(track: TidalTrack) -> int:
            target = f"Playlists/Bench/{track.artist} - {track.title} {track.tidal_id}.flac"
            _, size = download_primary(session, track, quality, target, root)
            return size

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return sum(pool.map(one, tracks))

    label = f"download_primary, {workers} worker{'s' if workers > 1 else ''}"
    return timed(label, once, base, len(tracks), runs)


def floor_copy(base_url: str, tracks: Sequence[TidalTrack], base: Path, runs: int) -> Timing:
    """One stream, plain GETs of the audio URLs into files: what loopback can do."""

    def once(root: Path) -> int:
        folder = root / "copy"
        folder.mkdir(parents=True)
        total = 0
        with requests.Session() as http:
            for track in tracks:
                with http.get(whole_file_url(base_url, track.tidal_id), stream=True) as response:
                    response.raise_for_status()
                    with (folder / f"{track.tidal_id}.flac").open("wb") as out:
                        for chunk in response.iter_content(_CHUNK_BYTES):
                            out.write(chunk)
                            total += len(chunk)
        return total

    return timed("floor: single-stream loopback copy", once, base, len(tracks), runs)


def timed(label: str, once: Callable[[Path], int], base: Path, tracks: int, runs: int) -> Timing:
    """The median wall time of ``runs`` calls of ``once``, each into a fresh folder."""
    seconds: list[float] = []
    sizes: set[int] = set()
    for n in range(runs):
        root = Path(tempfile.mkdtemp(prefix=f"run-{n}-", dir=base))
        started = time.perf_counter()
        sizes.add(once(root))
        seconds.append(time.perf_counter() - started)
        shutil.rmtree(root)
    if len(sizes) != 1:
        raise RuntimeError(f"{label}: runs wrote different byte counts {sorted(sizes)}")
    return Timing(label, statistics.median(seconds), sizes.pop(), tracks, runs)


def print_table(timings: Sequence[Timing]) -> None:
    floor = timings[0]
    header = ("configuration", "median s", "MB/s", "tracks/s", "x floor time")
    rows = [
        (
            t.label,
            f"{t.seconds:.2f}",
            f"{t.mb_per_second:.1f}",
            f"{t.tracks_per_second:.1f}",
            f"{t.seconds / floor.seconds:.2f}",
        )
        for t in timings
    ]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join(f"{{:<{widths[0]}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    print(
        f"\n{floor.tracks} tracks, {floor.total_bytes / 1e6:.1f} MB of audio per run "
        f"(MB = 10^6 bytes); median of {floor.runs} runs each."
    )


if __name__ == "__main__":
    main()
