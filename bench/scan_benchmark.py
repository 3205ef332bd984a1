"""Scan benchmark: a synthetic library of real FLACs and links, timed against two floors.

Prints the median of ``--runs`` runs of: a cold scan (no previous snapshot),
a warm rescan (nothing changed), a bare ``os.scandir`` + ``lstat`` walk and a
single-process walk calling ``mutagen.File`` on every real file. Targets:
warm <= 2x the lstat floor, cold <= 0.6x the mutagen floor.

    .venv/bin/python bench/scan_benchmark.py --files 5000 --links 10000
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import mutagen
import numpy as np
import soundfile
from mutagen.flac import FLAC

from tidal_sync_assets.disk.scan import scan_library

T = TypeVar("T")

# Fixed-width placeholders, replaced in the bytes of one template per file.
_ID_PLACEHOLDER = b"9" * 10
_TITLE_PLACEHOLDER = b"Z" * 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--playlists", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--dir", type=Path, help="where to build (default: a temp dir)")
    args = parser.parse_args()

    base = args.dir or Path(tempfile.mkdtemp(prefix="scan-bench-"))
    root = base / "library"
    try:
        started = time.perf_counter()
        build_library(root, args.files, args.links, args.playlists)
        print(
            f"built {args.files} files + {args.links} links in {args.playlists} playlists "
            f"at {root} in {time.perf_counter() - started:.1f} s; cpus={os.cpu_count()}"
        )
        report(root, args.runs, args.workers)
    finally:
        if args.dir is None:
            shutil.rmtree(base)


def build_library(root: Path, files: int, links: int, playlists: int) -> None:
    template = _tagged_flac_template()
    folders = [root / "Playlists" / f"Playlist {p:04d}" for p in range(playlists)]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    names: list[tuple[int, str]] = []
    for n in range(files):
        name = f"Artist {n % 997} - Song {n:07d}.flac"
        data = template.replace(_ID_PLACEHOLDER, b"%010d" % (n + 1)).replace(
            _TITLE_PLACEHOLDER, b"Song %05d" % (n % 100_000)
        )
        (folders[n % playlists] / name).write_bytes(data)
        names.append((n % playlists, name))
    rnd = random.Random(1)
    for n in range(links):
        home, name = names[rnd.randrange(files)]
        other = (home + 1 + rnd.randrange(max(playlists - 1, 1))) % playlists
        os.symlink(f"../{folders[home].name}/{name}", folders[other] / f"{n:07d} {name}")


def _tagged_flac_template() -> bytes:
    buffer = io.BytesIO()
    rate = 8000
    samples = (0.3 * np.sin(np.arange(rate // 10) * 0.3)).astype(np.float32)
    soundfile.write(buffer, samples, rate, "PCM_16", format="FLAC")
    buffer.seek(0)
    flac = FLAC(buffer)
    flac["TITLE"] = [_TITLE_PLACEHOLDER.decode()]
    flac["ARTIST"] = ["Bench Artist"]
    flac["ISRC"] = ["USBEN0000001"]
    flac["TIDAL_TRACK_ID"] = [_ID_PLACEHOLDER.decode()]
    buffer.seek(0)
    flac.save(buffer)
    return buffer.getvalue()


def lstat_floor(root: Path) -> None:
    stack = [str(root / "Playlists")]
    while stack:
        with os.scandir(stack.pop()) as listing:
            for item in listing:
                if item.is_dir(follow_symlinks=False):
                    stack.append(item.path)
                else:
                    item.stat(follow_symlinks=False)


def mutagen_floor(root: Path) -> None:
    stack = [str(root / "Playlists")]
    while stack:
        with os.scandir(stack.pop()) as listing:
            for item in listing:
                if item.is_dir(follow_symlinks=False):
                    stack.append(item.path)
                elif item.is_file(follow_symlinks=False):
                    mutagen.File(item.path)


def report(root: Path, runs: int, workers: int | None) -> None:
    labels = ("lstat floor", "mutagen floor", "cold", "warm")
    timings: dict[str, list[float]] = {label: [] for label in labels}
    for _ in range(runs):
        timings["lstat floor"].append(_timed(lambda: lstat_floor(root))[0])
        timings["mutagen floor"].append(_timed(lambda: mutagen_floor(root))[0])
        seconds, cold = _timed(lambda: scan_library(root, workers=workers))
        timings["cold"].append(seconds)
        assert not cold.errors, cold.errors[:3]
        previous = {entry.path: entry for entry in cold.entries}
        seconds, warm = _timed(lambda: scan_library(root, previous, workers=workers))  # noqa: B023
        timings["warm"].append(seconds)
        assert warm.reread == 0, "a warm rescan re-read tags"
    medians = {label: statistics.median(values) for label, values in timings.items()}
    for label, value in medians.items():
        runs_text = ", ".join(f"{v:.3f}" for v in timings[label])
        print(f"{label:>14}: {value:7.3f} s  (runs: {runs_text})")
    warm_ratio = medians["warm"] / medians["lstat floor"]
    cold_ratio = medians["cold"] / medians["mutagen floor"]
    print(f"warm / lstat floor   = {warm_ratio:.2f}x (target <= 2.0)")
    print(f"cold / mutagen floor = {cold_ratio:.2f}x (target <= 0.6)")


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


if __name__ == "__main__":
    main()
