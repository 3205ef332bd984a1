"""Plan benchmark: diff + plan of a large, fully synced library after a 1% change.

Builds an in-memory ``LibraryState`` (no database, no disk) of ``--playlists``
playlists, ``--tracks`` tracks and ``--entries`` playlist entries, with a
``disk`` that is exactly what a finished sync leaves: each primary a file,
every other occurrence a relative symlink, one M3U8 per playlist. Checks that
this synced state plans to nothing, then changes ``--change`` of the entries
(half dropped from their playlist, half added to another one) and prints the
median of ``--runs`` timings of ``build_plan`` (which computes the layout and
the diff), the peak memory tracemalloc saw during one run, and the process's
ru_maxrss. Targets: under 2 s and under 500 MB.

    .venv/bin/python bench/plan_benchmark.py --runs 5
    .venv/bin/python bench/plan_benchmark.py --profile   # cProfile's top functions
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import resource
import statistics
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime

from tidal_sync_assets.disk.entry import AudioTags, EntryKind, ScannedEntry
from tidal_sync_assets.planning.actions import ActionKind
from tidal_sync_assets.planning.plan import Plan, build_plan
from tidal_sync_assets.planning.state import LibraryState, PlaylistState
from tidal_sync_assets.tidal.snapshot import TidalTrack

TARGET_SECONDS = 2.0
TARGET_MB = 500.0
_WORDS = [
    "deep",
    "house",
    "night",
    "drive",
    "acid",
    "sun",
    "moon",
    "after",
    "hours",
    "warehouse",
    "echo",
    "vocal",
    "dub",
    "sunrise",
    "techno",
    "minimal",
    "bass",
    "line",
    "groove",
    "soul",
    "jazz",
    "disco",
    "edit",
    "remix",
    "heart",
]


def synthetic_tracks(count: int, rng: random.Random) -> dict[int, TidalTrack]:
    tracks = {}
    for i in range(count):
        tidal_id = 1_000_000 + i
        artist = f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {i % 997}"
        title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 4))).title()
        tracks[tidal_id] = TidalTrack(
            tidal_id=tidal_id,
            title=title,
            artists=(artist,),
            album=f"Album {i % 5000}",
            isrc=f"QZ{i:010d}",
            duration=180 + i % 240,
        )
    return tracks


def synthetic_playlists(
    playlists: int, tracks: list[int], entries: int, rng: random.Random
) -> list[PlaylistState]:
    """Every track in at least one playlist; ``entries`` entries in all, spread evenly."""
    members: list[list[int]] = [[] for _ in range(playlists)]
    for i, track in enumerate(tracks):  # each track once, round robin
        members[i % playlists].append(track)
    for _ in range(entries - len(tracks)):  # the rest: extra occurrences elsewhere
        members[rng.randrange(playlists)].append(rng.choice(tracks))
    for tracks_of in members:
        rng.shuffle(tracks_of)
    return [
        PlaylistState(
            tidal_id=f"00000000-0000-4000-8000-{i:012d}",
            name=f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {i:04d}",
            track_ids=tuple(tracks_of),
        )
        for i, tracks_of in enumerate(members)
    ]


def synced_state(
    playlists: list[PlaylistState], tracks: dict[int, TidalTrack], link_mode: str = "symlink"
) -> LibraryState:
    """The state a finished sync of ``playlists`` leaves behind (placement and disk)."""
    fresh = build_plan(LibraryState(playlists=tuple(playlists), tracks=tracks))
    layout = fresh.diff.layout
    disk: dict[str, ScannedEntry] = {}
    inode = 10
    for track, path in layout.primary_path.items():
        inode += 1
        disk[path] = ScannedEntry(
            path,
            EntryKind.FILE,
            size=8_000_000,
            mtime_ns=1,
            inode=inode,
            nlink=1,
            tags=AudioTags(title=tracks[track].title, tidal_track_id=track),
        )
    links: dict[tuple[str, int], str] = {}
    for (playlist, track), path in layout.entries.items():
        if layout.is_link(playlist, track):
            links[(playlist, track)] = path
            primary = layout.primary_path[track]
            disk[path] = ScannedEntry(
                path,
                EntryKind.SYMLINK,
                size=60,
                mtime_ns=1,
                inode=(inode := inode + 1),
                nlink=1,
                link_target=os.path.relpath(primary, os.path.dirname(path)),
                link_resolves_to=primary,
            )
    for path in layout.m3u8.values():
        disk[path] = ScannedEntry(path, EntryKind.FILE, size=4_000, inode=(inode := inode + 1))
    placed = tuple(
        replace(p, folder=layout.folders[p.tidal_id].partition("/")[2], changed=False)
        for p in playlists
    )
    return LibraryState(
        playlists=placed,
        tracks=tracks,
        primaries=dict(layout.primary_path),
        links=links,
        disk=disk,
        link_mode=link_mode,  # type: ignore[arg-type]
    )


def changed_state(state: LibraryState, share: float, rng: random.Random) -> LibraryState:
    """``share`` of the entries changed on TIDAL: half dropped, half added elsewhere."""
    total = sum(len(p.track_ids) for p in state.playlists)
    changes = max(2, int(total * share))
    playlists = list(state.playlists)
    track_ids = list(state.tracks)
    touched: set[int] = set()
    for n in range(changes):
        index = rng.randrange(len(playlists))
        playlist = playlists[index]
        ids = list(playlist.track_ids)
        if n % 2 == 0 and ids:
            ids.pop(rng.randrange(len(ids)))
        else:
            ids.insert(rng.randrange(len(ids) + 1), rng.choice(track_ids))
        playlists[index] = replace(playlist, track_ids=tuple(ids))
        touched.add(index)
    for index in touched:
        playlists[index] = replace(playlists[index], changed=True)
    return replace(state, playlists=tuple(playlists))


def timed(state: LibraryState) -> tuple[float, float, Plan]:
    """Wall and CPU seconds of one ``build_plan``; CPU time is steadier on a busy machine."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    plan = build_plan(state)
    return time.perf_counter() - wall, time.process_time() - cpu, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--playlists", type=int, default=1_000)
    parser.add_argument("--tracks", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=150_000)
    parser.add_argument("--change", type=float, default=0.01, help="share of entries changed")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 25")
    args = parser.parse_args()
    if args.entries < args.tracks:
        parser.error("--entries must be at least --tracks (every track is in a playlist)")

    rng = random.Random(args.seed)
    started = time.perf_counter()
    tracks = synthetic_tracks(args.tracks, rng)
    playlists = synthetic_playlists(args.playlists, list(tracks), args.entries, rng)
    synced = synced_state(playlists, tracks)
    in_sync = build_plan(synced)
    if in_sync.actions:
        sys.exit(f"the synced library does not plan to nothing: {in_sync.by_kind()}")
    state = changed_state(synced, args.change, rng)
    entries = sum(len(p.track_ids) for p in state.playlists)
    print(
        f"{len(state.playlists)} playlists, {len(state.tracks)} tracks, {entries} entries, "
        f"{len(state.disk)} scanned paths; built in {time.perf_counter() - started:.1f} s "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]})"
    )

    seconds, cpu_seconds = [], []
    plan = in_sync
    for _ in range(args.runs):
        elapsed, cpu, plan = timed(state)
        seconds.append(elapsed)
        cpu_seconds.append(cpu)
    kinds = ", ".join(f"{k.value} {n}" for k, n in sorted(plan.by_kind().items()))
    print(f"plan: {len(plan.actions)} actions ({kinds})")
    if any(a.kind is ActionKind.DOWNLOAD for a in plan.actions):
        print("note: downloads planned for tracks new to the library")

    gc.collect()
    tracemalloc.start()
    build_plan(state)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mb = peak / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 2**20 if sys.platform == "darwin" else rss / 2**10

    median = statistics.median(seconds)
    runs_text = ", ".join(f"{s:.3f}" for s in seconds)
    cpu_text = ", ".join(f"{s:.3f}" for s in cpu_seconds)
    print(
        f"diff + plan median: {median:.3f} s wall (runs: {runs_text}; target < {TARGET_SECONDS} s)"
    )
    print(f"                    {statistics.median(cpu_seconds):.3f} s CPU  (runs: {cpu_text})")
    print(
        f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    print(f"tracemalloc peak during one plan: {peak_mb:.1f} MB  (target < {TARGET_MB:.0f} MB)")
    print(f"ru_maxrss of the whole process:   {rss_mb:.1f} MB")
    ok = median < TARGET_SECONDS and peak_mb < TARGET_MB
    print("targets met" if ok else "TARGETS MISSED")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        build_plan(state)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
