"""Download benchmark: the product's download path against the sandbox TIDAL, with a floor.

Starts the sandbox on loopback with a synthetic catalog (``--tracks`` tracks of
``--audio-seconds`` of FLAC each, about 1 MB at the default; every release has a
hi-res master, so LOSSLESS comes as DASH: FLAC in fragmented MP4), logs in with the
product's device-code login, lists the tracks through ``fetch_snapshot`` and then
downloads every track through ``download_primary`` (manifest, segments, remux into
a native FLAC, tags, fsync, atomic rename) with each ``--workers`` count, one shared
tidalapi session as the library executor uses it. Each configuration runs
``--runs`` times into a fresh library; the table shows the median.

The floor is a single-stream loopback copy of the same bytes: plain ``requests``
GETs of every track's audio URLs (taken from its manifest beforehand) written to
files, with no API calls, remuxing, tagging or fsync.

The remux line times ``to_native`` alone on each downloaded stream (median per
track, and MB/s of input), against the per-track download time with 1 worker.

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

from tidal_sync_assets.disk.remux import to_native
from tidal_sync_assets.library.download import download_primary
from tidal_sync_assets.sandbox.catalog import Catalog, synthetic_catalog
from tidal_sync_assets.sandbox.manifests import delivery
from tidal_sync_assets.sandbox.media import dash_rendition, plain_mp4
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.tidal.fetch import fetch_snapshot
from tidal_sync_assets.tidal.login import login
from tidal_sync_assets.tidal.ratelimit import DEFAULT_REQUESTS_PER_SECOND, RateLimiter
from tidal_sync_assets.tidal.session import open_session
from tidal_sync_assets.tidal.snapshot import TidalTrack
from tidal_sync_assets.tidal.stream import QUALITIES, download_track

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
        sent = delivery(track, args.quality, pkce=False)
        render = dash_rendition if sent.dash else plain_mp4
        render(track.id, track.audio_seconds, sent.rendition)
    print(
        f"rendered {args.tracks} tracks of {args.audio_seconds:g} s audio in "
        f"{time.perf_counter() - started:.1f} s; cpus={os.cpu_count()}"
    )
    try:
        with SandboxServer(catalog) as sandbox:
            timings, product_requests = run(sandbox, base, args)
            remux = remux_cost(sandbox.base_url, base, args)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print_table(timings)
    print_remux(remux, timings)
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
    session = open_session(
        session_file,
        sandbox.base_url,
        limiter=RateLimiter(args.rate),
        cdn_limiter=RateLimiter(args.rate),
    )
    tracks = sorted(fetch_snapshot(session, {}).tracks.values(), key=lambda t: t.tidal_id)
    print(
        f"sandbox at {sandbox.base_url}; {len(tracks)} tracks listed; quality {args.quality}; "
        f"{args.runs} runs per configuration\n"
    )
    timings = [floor_copy(session, tracks, args.quality, base, args.runs)]
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
            return download_primary(session, track, quality, target, root).bytes_downloaded

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return sum(pool.map(one, tracks))

    label = f"download_primary, {workers} worker{'s' if workers > 1 else ''}"
    return timed(label, once, base, len(tracks), runs)


def floor_copy(
    session: tidalapi.Session, tracks: Sequence[TidalTrack], quality: str, base: Path, runs: int
) -> Timing:
    """One stream, plain GETs of the audio URLs into files: what loopback can do."""
    session.audio_quality = QUALITIES[quality]
    urls = {
        track.tidal_id: session.track(str(track.tidal_id)).get_stream().get_stream_manifest().urls
        for track in tracks
    }

    def once(root: Path) -> int:
        folder = root / "copy"
        folder.mkdir(parents=True)
        total = 0
        with requests.Session() as http:
            for track in tracks:
                with (folder / f"{track.tidal_id}.mp4").open("wb") as out:
                    for url in urls[track.tidal_id]:
                        with http.get(url, stream=True) as response:
                            response.raise_for_status()
                            for chunk in response.iter_content(_CHUNK_BYTES):
                                out.write(chunk)
                                total += len(chunk)
        return total

    return timed("floor: single-stream loopback copy", once, base, len(tracks), runs)


@dataclass(frozen=True, slots=True)
class RemuxCost:
    median_seconds: float
    mb_per_second: float


def remux_cost(base_url: str, base: Path, args: argparse.Namespace) -> RemuxCost:
    """``to_native`` alone on each track's downloaded stream."""
    limit = RateLimiter(args.rate)
    session = open_session(base / "session.json", base_url, limiter=limit, cdn_limiter=limit)
    folder = Path(tempfile.mkdtemp(prefix="remux-", dir=base))
    tracks = sorted(fetch_snapshot(session, {}).tracks)
    seconds: list[float] = []
    total_bytes = 0
    for track_id in tracks:
        download = folder / f"{track_id}.part"
        download_track(session, track_id, args.quality, download)
        total_bytes += download.stat().st_size
        started = time.perf_counter()
        to_native(download, folder / f"{track_id}.native")
        seconds.append(time.perf_counter() - started)
    shutil.rmtree(folder)
    return RemuxCost(statistics.median(seconds), total_bytes / 1e6 / sum(seconds))


def print_remux(remux: RemuxCost, timings: Sequence[Timing]) -> None:
    one_worker = next((t for t in timings if t.label.endswith(" 1 worker")), None)
    share = ""
    if one_worker is not None:
        per_track = one_worker.seconds / one_worker.tracks
        share = f"; {remux.median_seconds / per_track:.0%} of a track's download with 1 worker"
    print(
        f"remux into the native container: median {remux.median_seconds * 1000:.1f} ms per "
        f"track, {remux.mb_per_second:.0f} MB/s{share}"
    )


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
