"""Export benchmark: the Rekordbox XML of a large library.

Builds a migrated SQLite product database of ``--tracks`` tracks (each with a
primary under a temporary root, as recorded: the export reads no file), ``--playlists``
playlists and ``--entries`` playlist entries, as a finished sync leaves them.
Then times ``export_rekordbox``: the first export (TrackIDs assigned, the file
written), the median of ``--runs`` exports that write the file again (it was
removed), and the median of ``--runs`` exports that find nothing changed. Peak
memory is tracemalloc's during one writing export, and the process's
ru_maxrss. Targets: under 3 s and under 300 MB.

    .venv/bin/python bench/export_benchmark.py --runs 5
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, insert

from tidal_sync_assets.database import Playlist, PlaylistTrack, Track, make_engine
from tidal_sync_assets.database.migrations import upgrade
from tidal_sync_assets.dj.export import ExportOutcome, export_rekordbox

TARGET_SECONDS = 3.0
TARGET_MB = 300.0
_KEYS = ["Am", "C", "F#m", "Eb", "Gm", "D", None]


def build_library(engine: Engine, tracks: int, playlists: int, entries: int) -> None:
    """The database of a synced library: the export reads each primary's path, size and
    delivered stream from it, never the file."""
    rng = random.Random(16)
    members: list[list[int]] = [[] for _ in range(playlists)]
    for track in range(tracks):
        members[track % playlists].append(track)
    for _ in range(entries - tracks):
        members[rng.randrange(playlists)].append(rng.randrange(tracks))
    primary_folder = {t: i for i, ts in enumerate(members) for t in ts[:1]}
    for i, ts in enumerate(members):
        for t in ts:
            primary_folder.setdefault(t, i)
    track_rows = []
    for t in range(tracks):
        folder = f"Playlists/Playlist {primary_folder[t]:04d}"
        path = f"{folder}/Artist {t % 997} - Title {t} (Extended Mix).flac"
        track_rows.append(
            {
                "id": t + 1,
                "tidal_id": 1_000_000 + t,
                "title": f"Title {t}",
                "artist": f"Artist {t % 997} & Friends",
                "album": f"Album {t % 5000}",
                "duration": 180 + t % 240,
                "version": "Extended Mix",
                "file_path": path,
                "download_status": "downloaded",
                "bpm": None if t % 9 == 0 else 118.0 + t % 14,
                "musical_key": _KEYS[t % len(_KEYS)],
                "release_date": f"{2000 + t % 25}-01-01",
                "file_size": 30_000_000 + t,
                "audio_quality": "LOSSLESS",
                "codec": "flac",
                "sample_rate": 44_100,
                "bit_depth": 16,
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(Track), track_rows)
        connection.execute(
            insert(Playlist),
            [
                {"id": i + 1, "tidal_id": f"00000000-0000-4000-8000-{i:012d}", "name": f"P {i}"}
                for i in range(playlists)
            ],
        )
        connection.execute(
            insert(PlaylistTrack),
            [
                {"playlist_id": i + 1, "track_id": t + 1, "position": position}
                for i, ts in enumerate(members)
                for position, t in enumerate(ts)
            ],
        )


def timed(fn: Callable[[], ExportOutcome]) -> tuple[float, float, ExportOutcome]:
    """Wall-clock and CPU seconds of ``fn`` (CPU: what the export costs on a busy machine)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    outcome = fn()
    return time.perf_counter() - start, time.process_time() - cpu, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=50_000)
    parser.add_argument("--playlists", type=int, default=1_000)
    parser.add_argument("--entries", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        root = Path(tmp) / "library"
        root.mkdir()
        engine = make_engine(f"sqlite:///{Path(tmp) / 'tidal_sync.db'}")
        upgrade(engine)
        started = time.perf_counter()
        build_library(engine, args.tracks, args.playlists, args.entries)
        print(
            f"library: {args.tracks} tracks, {args.playlists} playlists, {args.entries} "
            f"entries (built in {time.perf_counter() - started:.1f} s)"
        )
        xml = root / "rekordbox.xml"

        def export() -> ExportOutcome:
            return export_rekordbox(engine, root, xml)

        first, first_cpu, outcome = timed(export)
        assert (outcome.tracks, outcome.entries) == (args.tracks, args.entries), outcome
        written, written_cpu = [], []
        for _ in range(args.runs):
            xml.unlink()
            seconds, cpu, outcome = timed(export)
            assert outcome.written
            written.append(seconds)
            written_cpu.append(cpu)
        unchanged, unchanged_cpu = [], []
        for _ in range(args.runs):
            seconds, cpu, outcome = timed(export)
            assert not outcome.written
            unchanged.append(seconds)
            unchanged_cpu.append(cpu)
        xml.unlink()
        tracemalloc.start()
        export()
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        size_mb = xml.stat().st_size / 1e6
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median(written)
    print(
        f"first export (TrackIDs assigned, written): {first:.2f} s ({first_cpu:.2f} s CPU); "
        f"XML {size_mb:.1f} MB"
    )
    print(
        f"export, written:   median {median:.2f} s ({statistics.median(written_cpu):.2f} s CPU) "
        f"of {args.runs}, min {min(written):.2f} s"
    )
    print(
        f"export, unchanged: median {statistics.median(unchanged):.2f} s "
        f"({statistics.median(unchanged_cpu):.2f} s CPU) of {args.runs}"
    )
    print(f"peak memory (tracemalloc): {peak_mb:.0f} MB; process ru_maxrss {maxrss_mb:.0f} MB")
    ok = max(first, median) < TARGET_SECONDS and peak_mb < TARGET_MB
    print(f"target < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
