"""Download benchmark: the product's download path against the sandbox TIDAL, and remuxing.

Starts the sandbox on loopback with a synthetic catalog whose tracks each have
``--audio-seconds`` of audio (240 s by default, a real track's length; the sandbox's
audio is 16 kHz mono, so that is about 5 MB of FLAC or 2.4 MB of AAC, less than TIDAL's
CD FLAC of the same length). Every figure is printed with the input it was measured on.

Throughput table. ``--tracks`` tracks whose releases have a hi-res master, listed through
``fetch_snapshot`` with the product's device-code login and downloaded at ``--quality``
through ``download_primary`` (manifest, segments, remux into the native container, tags,
fsync, atomic rename) with each ``--workers`` count, one shared tidalapi session as the
library executor uses it. Each configuration runs ``--runs`` times into a fresh library;
the table shows the median. The floor is a single-stream loopback copy of the same bytes:
plain ``requests`` GETs of every track's audio URLs (taken from its manifest beforehand)
written to files, with no API calls, remuxing, tagging or fsync.

Remux per stream shape. For each shape the product remuxes, ``--shape-tracks`` tracks
that TIDAL delivers that way (see ``SHAPES``). Each track, ``--runs`` times in a row: its
bytes downloaded over loopback by plain GETs of its audio URLs (the manifest fetched
beforehand; checked equal to what the product's ``download_track`` writes), then
``to_native`` on that file: the remux and the decode to the end that the product does
before it keeps a file. Per shape: the median of each per track, the remux's MB/s of
input, and the remux/download ratio against the target (remuxing under 10% of the
loopback download time).

The product's rate limiter spaces every TIDAL request (API and audio alike); the
benchmark passes a limiter of ``--rate`` requests per second (default: high
enough never to wait) so that the transfer path is measured, not the limit.

    .venv/bin/python bench/download_benchmark.py --tracks 40 --workers 1 4 8
"""

from __future__ import annotations

import argparse
import filecmp
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

from tidal_sync_assets.disk.remux import mp4_boxes, to_native
from tidal_sync_assets.library.download import download_primary
from tidal_sync_assets.sandbox.catalog import Catalog, Track, synthetic_catalog
from tidal_sync_assets.sandbox.manifests import delivery
from tidal_sync_assets.sandbox.media import dash_rendition, plain_mp4
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.tidal.fetch import fetch_snapshot
from tidal_sync_assets.tidal.login import login, login_pkce
from tidal_sync_assets.tidal.ratelimit import DEFAULT_REQUESTS_PER_SECOND, RateLimiter
from tidal_sync_assets.tidal.session import open_session
from tidal_sync_assets.tidal.snapshot import TidalTrack
from tidal_sync_assets.tidal.stream import QUALITIES, download_track

_CHUNK_BYTES = 64 * 1024
#: Remuxing a track should cost less than this share of its loopback download.
REMUX_TARGET = 0.10


@dataclass(frozen=True, slots=True)
class Shape:
    """A stream shape the product remuxes: who gets it from TIDAL, and what it becomes."""

    name: str
    pkce: bool
    quality: str
    hires_master: bool
    fragmented: bool
    extension: str


SHAPES = (
    # A device-code session asking LOSSLESS for a release with a hi-res master: DASH FLAC.
    Shape(
        "FLAC in fragmented MP4 (DASH) -> native FLAC",
        pkce=False,
        quality="LOSSLESS",
        hires_master=True,
        fragmented=True,
        extension=".flac",
    ),
    # A PKCE session gets DASH for everything; LOW and HIGH are AAC.
    Shape(
        "fragmented AAC (DASH) -> plain M4A",
        pkce=True,
        quality="HIGH",
        hires_master=False,
        fragmented=True,
        extension=".m4a",
    ),
    # The device-code downgrade: LOSSLESS without a hi-res master is AAC 320 over BTS.
    Shape(
        "plain MP4 AAC (BTS) -> kept as is",
        pkce=False,
        quality="LOSSLESS",
        hires_master=False,
        fragmented=False,
        extension=".m4a",
    ),
)


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


@dataclass(frozen=True, slots=True)
class ShapeCost:
    """One shape's medians per track: input size, loopback download, remux."""

    shape: Shape
    tracks: int
    runs: int
    audio_seconds: float
    input_bytes: float
    download_seconds: float
    remux_seconds: float
    remux_mb_per_second: float

    @property
    def ratio(self) -> float:
        return self.remux_seconds / self.download_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=20, help="tracks of the throughput table")
    parser.add_argument("--shape-tracks", type=int, default=3, help="tracks per stream shape")
    parser.add_argument(
        "--audio-seconds",
        type=float,
        default=240.0,
        help="per track; 240 s is about 5 MB of FLAC or 2.4 MB of AAC in the sandbox",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--quality",
        default="LOSSLESS",
        choices=list(QUALITIES),
        help="what the throughput table's device-code session asks; its releases have a "
        "hi-res master, so LOW and HIGH come as AAC in one MP4 (BTS), LOSSLESS as 16-bit "
        "and HI_RES_LOSSLESS as 24-bit FLAC in fragmented MP4 (DASH)",
    )
    parser.add_argument(
        "--rate", type=float, default=1_000_000.0, help="rate limiter, requests per second"
    )
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    if not 1 <= args.shape_tracks <= args.tracks:
        parser.error("--shape-tracks must be between 1 and --tracks")

    begun = time.perf_counter()
    base = args.dir or Path(tempfile.mkdtemp(prefix="download-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    catalog = bench_catalog(args.tracks, args.shape_tracks, args.audio_seconds)
    started = time.perf_counter()
    render(catalog, args.quality)  # the sandbox renders audio once; keep that out of the timing
    print(
        f"rendered {len(catalog.tracks())} tracks of {args.audio_seconds:g} s audio in "
        f"{time.perf_counter() - started:.1f} s; cpus={os.cpu_count()}"
    )
    try:
        with SandboxServer(catalog) as sandbox:
            timings, product_requests = run(sandbox, base, args)
            costs = shape_costs(sandbox, base, args)
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print_table(timings, args.audio_seconds)
    print_shapes(costs)
    requests_per_track = product_requests / (args.tracks * args.runs * len(args.workers))
    print(
        f"\nrate limiter: the session was given RateLimiter({args.rate:g} requests/s) so that it "
        f"never waits. The product's default is {DEFAULT_REQUESTS_PER_SECOND:g} requests/s "
        f"(TIDAL_SYNC_RATE_LIMIT); at the {requests_per_track:.1f} TIDAL requests per track "
        f"measured here (API + audio) it would cap downloads at "
        f"{DEFAULT_REQUESTS_PER_SECOND / requests_per_track:.1f} tracks/s whatever the workers."
    )
    print(f"whole run: {time.perf_counter() - begun:.0f} s")


def bench_catalog(tracks: int, shape_tracks: int, audio_seconds: float) -> Catalog:
    """One playlist: ``tracks`` tracks with a hi-res master, then ``shape_tracks`` without;
    each with ``audio_seconds`` of audio."""
    document = synthetic_catalog(
        n_playlists=1, n_tracks=tracks + shape_tracks, entries_per_track=1.0
    ).to_dict()
    for index, track in enumerate(document["tracks"]):
        track["audio_seconds"] = audio_seconds
        track["hiResMaster"] = index < tracks
    return Catalog.from_dict(document)


def render(catalog: Catalog, table_quality: str) -> None:
    """Build every rendition the benchmark will ask for (the sandbox keeps them)."""
    for track in catalog.tracks():
        asks = [(table_quality, False)] if track.hires_master else []
        asks += [(s.quality, s.pkce) for s in SHAPES if s.hires_master == track.hires_master]
        for quality, pkce in asks:
            sent = delivery(track, quality, pkce=pkce)
            build = dash_rendition if sent.dash else plain_mp4
            build(track.id, track.audio_seconds, sent.rendition)


def run(sandbox: SandboxServer, base: Path, args: argparse.Namespace) -> tuple[list[Timing], int]:
    """The floor and every workers count; also the requests the product's downloads sent."""
    session_file = base / "session.json"
    login(session_file, sandbox.base_url, print_fn=lambda _: None)
    session = bench_session(session_file, sandbox.base_url, args.rate)
    listed = fetch_snapshot(session, {}).tracks.values()
    tracks = sorted(
        (t for t in listed if is_hires(sandbox.catalog, t.tidal_id)), key=lambda t: t.tidal_id
    )
    print(
        f"sandbox at {sandbox.base_url}; throughput table: {len(tracks)} tracks, quality "
        f"{args.quality}, {args.runs} runs per configuration\n"
    )
    timings = [floor_copy(session, tracks, args.quality, base, args.runs)]
    sandbox.clear_log()
    for workers in args.workers:
        timings.append(product_download(session, tracks, args.quality, base, workers, args.runs))
    return timings, len(sandbox.request_log)


def bench_session(session_file: Path, base_url: str, rate: float) -> tidalapi.Session:
    return open_session(
        session_file, base_url, limiter=RateLimiter(rate), cdn_limiter=RateLimiter(rate)
    )


def is_hires(catalog: Catalog, track_id: int) -> bool:
    track = catalog.track(track_id)
    return track is not None and track.hires_master


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
    urls = {track.tidal_id: audio_urls(session, track.tidal_id, quality) for track in tracks}

    def once(root: Path) -> int:
        folder = root / "copy"
        folder.mkdir(parents=True)
        with requests.Session() as http:
            return sum(
                copy_urls(http, urls[track.tidal_id], folder / f"{track.tidal_id}.mp4")
                for track in tracks
            )

    return timed("floor: single-stream loopback copy", once, base, len(tracks), runs)


def audio_urls(session: tidalapi.Session, track_id: int, quality: str) -> list[str]:
    """The URLs of the track's audio (for DASH: initialization, then segments), in order."""
    session.audio_quality = QUALITIES[quality]
    manifest = session.track(str(track_id)).get_stream().get_stream_manifest()
    return list(manifest.get_urls())


def copy_urls(http: requests.Session, urls: Sequence[str], dest: Path) -> int:
    """Plain GETs of ``urls``, their bodies written one after the other to ``dest``."""
    total = 0
    with dest.open("wb") as out:
        for url in urls:
            with http.get(url, stream=True) as response:
                response.raise_for_status()
                for chunk in response.iter_content(_CHUNK_BYTES):
                    out.write(chunk)
                    total += len(chunk)
    return total


def shape_costs(sandbox: SandboxServer, base: Path, args: argparse.Namespace) -> list[ShapeCost]:
    """Each shape's loopback download and remux, on sessions that TIDAL delivers it to."""
    device = bench_session(base / "session.json", sandbox.base_url, args.rate)
    pkce_file = base / "pkce-session.json"
    login_pkce(pkce_file, sandbox.base_url, approve_in_browser, print_fn=lambda _: None)
    pkce = bench_session(pkce_file, sandbox.base_url, args.rate)
    costs = []
    for shape in SHAPES:
        tracks = [t for t in sandbox.catalog.tracks() if t.hires_master == shape.hires_master]
        folder = Path(tempfile.mkdtemp(prefix="remux-", dir=base))
        session = pkce if shape.pkce else device
        costs.append(shape_cost(session, shape, tracks[: args.shape_tracks], args.runs, folder))
        shutil.rmtree(folder)
    return costs


def approve_in_browser(login_url: str) -> str:
    """Where a browser lands after the sandbox's PKCE login page (it approves at once)."""
    answer = requests.get(login_url, allow_redirects=False, timeout=10)
    if answer.status_code != 302:
        raise RuntimeError(f"the sandbox's login page answered {answer.status_code}")
    return answer.headers["Location"]


def shape_cost(
    session: tidalapi.Session, shape: Shape, tracks: Sequence[Track], runs: int, folder: Path
) -> ShapeCost:
    """Each track ``runs`` times: its loopback download, then ``to_native`` on that file."""
    downloads: list[float] = []
    remuxes: list[float] = []
    sizes: list[int] = []
    with requests.Session() as http:
        for track in tracks:
            product = folder / f"{track.id}.product"
            download_track(session, track.id, shape.quality, product)
            check_shape(shape, product)
            urls = audio_urls(session, track.id, shape.quality)
            for n in range(runs):
                part = folder / f"{track.id}-{n}.part"
                started = time.perf_counter()
                sizes.append(copy_urls(http, urls, part))
                downloads.append(time.perf_counter() - started)
                if not filecmp.cmp(part, product, shallow=False):
                    raise RuntimeError(f"{shape.name}: the copy of {track.id} is not the product's")
                native = folder / f"{track.id}-{n}{shape.extension}"
                started = time.perf_counter()
                stored = to_native(part, native)
                remuxes.append(time.perf_counter() - started)
                if stored.extension != shape.extension:
                    raise RuntimeError(f"{shape.name}: {track.id} became {stored.extension}")
                part.unlink()
                native.unlink()
    return ShapeCost(
        shape=shape,
        tracks=len(tracks),
        runs=runs,
        audio_seconds=statistics.median(t.audio_seconds for t in tracks),
        input_bytes=statistics.median(sizes),
        download_seconds=statistics.median(downloads),
        remux_seconds=statistics.median(remuxes),
        remux_mb_per_second=sum(sizes) / 1e6 / sum(remuxes),
    )


def check_shape(shape: Shape, download: Path) -> None:
    """The sandbox sent the shape this row is named after."""
    kinds = {kind for kind, _ in mp4_boxes(download.read_bytes())}
    if (b"moof" in kinds) != shape.fragmented:
        raise RuntimeError(f"{shape.name}: the download is not the shape named")


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


def print_table(timings: Sequence[Timing], audio_seconds: float) -> None:
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
    print_columns(header, rows)
    print(
        f"\n{floor.tracks} tracks of {audio_seconds:g} s audio, {floor.total_bytes / 1e6:.1f} MB "
        f"per run (MB = 10^6 bytes); median of {floor.runs} runs each.\n"
    )


def print_shapes(costs: Sequence[ShapeCost]) -> None:
    header = (
        "stream shape",
        "tracks",
        "audio s",
        "MB/track",
        "download ms",
        "remux ms",
        "remux MB/s",
        "remux/download",
        f"< {REMUX_TARGET:.0%}",
    )
    rows = [
        (
            c.shape.name,
            str(c.tracks),
            f"{c.audio_seconds:g}",
            f"{c.input_bytes / 1e6:.2f}",
            f"{c.download_seconds * 1000:.1f}",
            f"{c.remux_seconds * 1000:.1f}",
            f"{c.remux_mb_per_second:.1f}",
            f"{c.ratio:.0%}",
            "met" if c.ratio < REMUX_TARGET else "MISSED",
        )
        for c in costs
    ]
    print_columns(header, rows)
    print(
        f"\nMedians per track over {costs[0].tracks} tracks x {costs[0].runs} runs per shape. "
        "download: plain GETs of the track's audio URLs over loopback (manifest fetched "
        "beforehand), the bytes download_track writes; remux: to_native on that file (remux "
        "and the decode to the end before a file is kept); MB/s of input, MB = 10^6 bytes."
    )


def print_columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join(f"{{:<{widths[0]}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))


if __name__ == "__main__":
    main()
