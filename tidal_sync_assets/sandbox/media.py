"""The sandbox's audio as TIDAL delivers it: FLAC or AAC in MP4, whole or as DASH segments.

Built with PyAV from the track's source FLAC (:mod:`audio`): FLAC is stream-copied into
MP4 (never re-encoded, as TIDAL does), AAC is a real encode. A DASH rendition is a
fragmented MP4 cut at its fragments: segment 0 is the initialization (``ftyp`` +
``moov``), each further segment one ``moof`` + ``mdat``. Everything is built on first
use and kept (benchmark catalogs have thousands of tracks; most are never asked twice).
"""

from __future__ import annotations

import io
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av

from tidal_sync_assets.sandbox.audio import SAMPLE_RATE, flac_frame, track_flac

#: Renditions by name: (codec, AAC bit rate or FLAC bit depth).
RENDITIONS: dict[str, tuple[str, int]] = {
    "flac16": ("flac", 16),
    "flac24": ("flac", 24),
    "aac96": ("aac", 96_000),
    "aac320": ("aac", 320_000),
}
#: Media segments a DASH rendition is cut into (at least; tidalapi counts them from the timeline).
DASH_SEGMENTS = 4

_AAC_FRAME = 1024


@dataclass(frozen=True)
class DashRendition:
    """An init segment, the media segments, and each media segment's length in samples."""

    init: bytes
    segments: tuple[bytes, ...]
    durations: tuple[int, ...]

    def part(self, number: int) -> bytes | None:
        """Segment ``number`` as the MPD numbers it (0 = initialization)."""
        if number == 0:
            return self.init
        if 1 <= number <= len(self.segments):
            return self.segments[number - 1]
        return None


@lru_cache(maxsize=2048)
def plain_mp4(track_id: int, seconds: float, rendition: str) -> bytes:
    """The whole track in one MP4 with its index first (what BTS points at)."""
    # A real file: the muxer's faststart pass reopens its output by name.
    with tempfile.TemporaryDirectory(prefix="tidal-sandbox-") as folder:
        path = Path(folder) / "audio.mp4"
        _mux(track_id, seconds, rendition, str(path), {"movflags": "+faststart"})
        return path.read_bytes()


@lru_cache(maxsize=2048)
def dash_rendition(track_id: int, seconds: float, rendition: str) -> DashRendition:
    """The track as fragmented MP4, cut into DASH segments."""
    codec, _ = RENDITIONS[rendition]
    frame = flac_frame(seconds) if codec == "flac" else _AAC_FRAME
    packets = max(1, -(-round(seconds * SAMPLE_RATE) // frame))
    per_fragment = max(1, packets // DASH_SEGMENTS)
    fragment_us = per_fragment * frame * 1_000_000 // SAMPLE_RATE
    options = {
        "movflags": "frag_keyframe+empty_moov+default_base_moof",
        "frag_duration": str(fragment_us),
    }
    out = io.BytesIO()
    total = _mux(track_id, seconds, rendition, out, options)
    data = out.getvalue()
    boxes = list(_boxes(data))
    head = b"".join(body for kind, body in boxes if kind in (b"ftyp", b"moov"))
    fragments = [body for kind, body in boxes if kind in (b"moof", b"mdat")]
    segments = tuple(fragments[i] + fragments[i + 1] for i in range(0, len(fragments), 2))
    starts = [_decode_time(segment) for segment in segments]
    durations = tuple(end - start for start, end in zip(starts, [*starts[1:], total], strict=True))
    return DashRendition(head, segments, durations)


def _mux(
    track_id: int, seconds: float, rendition: str, out: str | io.BytesIO, options: dict[str, str]
) -> int:
    """Write the rendition as MP4 to ``out``; returns its length in samples."""
    codec, amount = RENDITIONS[rendition]
    flac = track_flac(track_id, seconds, bit_depth=amount if codec == "flac" else 16)
    total = 0
    with (
        av.open(io.BytesIO(flac), "r") as source,
        av.open(out, "w", format="mp4", options=options) as target,
    ):
        audio = source.streams.audio[0]
        if codec == "flac":
            stream = target.add_stream_from_template(audio)
            for packet in source.demux(audio):
                if packet.dts is not None:
                    total += int(packet.duration or 0)  # samples: the time base is 1/rate
                    packet.stream = stream
                    target.mux(packet)
        else:
            encoder = target.add_stream("aac", rate=SAMPLE_RATE)
            encoder.bit_rate = amount
            frames = [*source.decode(audio), None]
            for decoded in frames:
                if decoded is not None:
                    decoded.pts = None
                encoded = encoder.encode(decoded)
                total += sum(int(packet.duration or 0) for packet in encoded)
                target.mux(encoded)
    return total


def _boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The top-level ISO BMFF boxes: (type, whole box)."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        yield kind, data[offset : offset + size]
        offset += size


def _decode_time(segment: bytes) -> int:
    """A fragment's ``tfdt`` base media decode time (in samples)."""
    at = segment.index(b"tfdt")
    if segment[at + 4] == 1:
        return int(struct.unpack(">Q", segment[at + 8 : at + 16])[0])
    return int(struct.unpack(">I", segment[at + 8 : at + 12])[0])
