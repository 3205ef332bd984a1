"""Is a file's audio intact? Decoded to the end with a real decoder, never trusted from tags.

A truncated FLAC keeps its STREAMINFO, so a tag reader reports the full length of a file
that holds only its first seconds. Only decoding every frame tells: the file is intact
when it decodes to the end without an error and the decoded length agrees with TIDAL's
within ``DURATION_TOLERANCE``. libsndfile (``soundfile``) decodes FLAC, MP3, WAV, AIFF
and Ogg; FFmpeg (PyAV) decodes what sits in MP4 (AAC, ALAC) and Opus. Decoding costs
real time, so the scanner asks only about adoption candidates and managed primaries that
changed, and keeps the verdict with the file's row (see ``database.scan_store``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import av
import soundfile

from tidal_sync_assets.disk.entry import EntryKind, ScannedEntry
from tidal_sync_assets.disk.match import Match

DURATION_TOLERANCE = 2.0  # seconds, as for matching by name
_BLOCK = 1 << 16  # frames per read: bounded memory, whatever the file's length


def decoded_seconds(path: Path) -> float:
    """How many seconds of audio ``path`` decodes to; raises ``ValueError`` on a decode error."""
    decode = _DECODERS.get(path.suffix.lower(), _with_soundfile)
    try:
        return decode(path)
    except (soundfile.LibsndfileError, av.FFmpegError, RuntimeError, OSError) as exc:
        raise ValueError(str(exc).strip() or type(exc).__name__) from exc


def damage(path: Path, expected: float | None) -> str | None:
    """Why ``path``'s audio is not intact (TIDAL says it lasts ``expected`` s); None if it is."""
    try:
        seconds = decoded_seconds(path)
    except ValueError as exc:
        return f"does not decode: {exc}"
    if seconds <= 0:
        return "holds no audio"
    if expected is not None and abs(seconds - expected) > DURATION_TOLERANCE:
        return f"decodes to {seconds:.1f} s, TIDAL says {expected:g} s"
    return None


def audio_candidates(
    entries: list[ScannedEntry],
    matches: Mapping[str, Match],
    managed: Set[str],
    primaries: Mapping[str, tuple[int, int | None]],
    previous: Mapping[str, ScannedEntry],
) -> dict[str, int]:
    """Path -> track of the files to decode now (those without a verdict for their state).

    An unmanaged file that matches a track (it would be adopted), and a managed primary
    (``primaries``: path -> track and the size the product recorded) that changed: its
    inode, size or mtime differ from the previous scan's, or, the first time a scan sees
    it, its size differs from the one the product wrote. A primary as the product wrote
    it is not decoded: it was written whole. A changed primary whose tags no longer read
    is decoded too (a cut through its metadata blocks is damage like any other).
    """
    wanted: dict[str, int] = {}
    for entry in entries:
        if entry.audio_checked or entry.kind is not EntryKind.FILE:
            continue
        path = entry.path
        if path not in managed:
            if entry.error is not None:
                continue  # unreadable: it matches no track, so it would not be adopted
            match = matches.get(path)
            if match is not None:
                wanted[path] = match.track_id
            continue
        primary = primaries.get(path)
        if primary is not None and _changed(entry, previous.get(path), primary[1]):
            wanted[path] = primary[0]
    return wanted


def _changed(entry: ScannedEntry, before: ScannedEntry | None, written: int | None) -> bool:
    if before is None:
        return written is not None and entry.size != written
    return (before.inode, before.size, before.mtime_ns) != (entry.inode, entry.size, entry.mtime_ns)


def check_audio(
    root: Path, entries: list[ScannedEntry], expected: Mapping[str, float | None]
) -> None:
    """Decode the entries at ``expected``'s paths (TIDAL's length for each) and record the
    verdict on them, in place."""
    at = [i for i, entry in enumerate(entries) if entry.path in expected]
    if not at:
        return
    # libsndfile and FFmpeg decode outside the GIL: a few files at once use the cores.
    with ThreadPoolExecutor(max_workers=min(len(at), os.cpu_count() or 1)) as pool:
        verdicts = list(
            pool.map(lambda i: damage(root / entries[i].path, expected[entries[i].path]), at)
        )
    for index, verdict in zip(at, verdicts, strict=True):
        entries[index] = replace(entries[index], audio_checked=True, audio_damage=verdict)


def _with_soundfile(path: Path) -> float:
    frames = 0
    with soundfile.SoundFile(path) as audio:
        rate = audio.samplerate
        while True:
            block = audio.read(_BLOCK, dtype="int16", always_2d=True)
            if not len(block):
                break
            frames += len(block)
    return frames / rate


def _with_pyav(path: Path) -> float:
    samples = 0
    rate = 0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            samples += frame.samples
            rate = frame.sample_rate or rate
    return samples / rate if rate else 0.0


_DECODERS: dict[str, Callable[[Path], float]] = {
    ".m4a": _with_pyav,
    ".mp4": _with_pyav,
    ".opus": _with_pyav,
}
