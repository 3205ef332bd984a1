"""The sandbox's audio: a short, distinct FLAC per track, and its split into DASH segments.

Every track sounds different (a sine whose pitch follows the track id, plus a little noise
seeded by it), so two tracks never share bytes. Files are rendered once and kept in memory.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import soundfile

SAMPLE_RATE = 16_000
DASH_SEGMENTS = 4
_FLAC_MAGIC = b"fLaC"


@lru_cache(maxsize=4096)
def track_flac(track_id: int, seconds: float) -> bytes:
    """A mono 16-bit FLAC of ``seconds`` length, unique to ``track_id``."""
    frames = max(1, round(seconds * SAMPLE_RATE))
    pitch = 110.0 + (track_id * 7919 % 880)
    time = np.arange(frames) / SAMPLE_RATE
    noise = np.random.default_rng(track_id).normal(0.0, 0.01, frames)
    signal = 0.4 * np.sin(2 * np.pi * pitch * time) + noise
    buffer = io.BytesIO()
    soundfile.write(buffer, signal.astype(np.float32), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def dash_parts(flac: bytes, segments: int = DASH_SEGMENTS) -> list[bytes]:
    """Split a FLAC into an initialization part (magic + metadata) and ``segments`` parts.

    Concatenated in order, the parts are the original file.
    """
    header_end = _metadata_end(flac)
    body = flac[header_end:]
    size = -(-len(body) // segments)
    return [flac[:header_end]] + [body[i * size : (i + 1) * size] for i in range(segments)]


def _metadata_end(flac: bytes) -> int:
    """The offset of the first audio frame: after the magic and every metadata block."""
    if not flac.startswith(_FLAC_MAGIC):
        raise ValueError("not a FLAC stream")
    offset = len(_FLAC_MAGIC)
    while True:
        is_last = flac[offset] & 0x80
        length = int.from_bytes(flac[offset + 1 : offset + 4], "big")
        offset += 4 + length
        if is_last:
            return offset
