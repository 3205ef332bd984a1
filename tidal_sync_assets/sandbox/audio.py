"""The sandbox's source audio: a short, distinct FLAC per track, at 16 or 24 bits.

Every track sounds different (a sine whose pitch follows the track id, plus a little noise
seeded by it), so two tracks never share bytes. Files are rendered once and kept in memory;
:mod:`media` wraps them the way TIDAL delivers them. Frames are TIDAL's 4096 samples,
shorter (1024) for audio under a few seconds so that it still makes several DASH segments.
"""

from __future__ import annotations

import io
from functools import lru_cache

import av
import numpy as np

SAMPLE_RATE = 16_000


def flac_frame(seconds: float) -> int:
    """Samples per FLAC frame of a track of ``seconds``."""
    return 4096 if seconds * SAMPLE_RATE >= 16 * 4096 else 1024


def track_samples(track_id: int, seconds: float, bit_depth: int = 16) -> np.ndarray:
    """The track's mono PCM: int16 for 16 bits, int32 (24 significant bits, left-aligned)."""
    frames = max(1, round(seconds * SAMPLE_RATE))
    pitch = 110.0 + (track_id * 7919 % 880)
    time = np.arange(frames) / SAMPLE_RATE
    noise = np.random.default_rng(track_id).normal(0.0, 0.01, frames)
    signal = 0.4 * np.sin(2 * np.pi * pitch * time) + noise
    if bit_depth == 16:
        return np.round(signal * 32767).astype(np.int16)
    return np.round(signal * (2**23 - 1)).astype(np.int32) << 8


@lru_cache(maxsize=4096)
def track_flac(track_id: int, seconds: float, bit_depth: int = 16) -> bytes:
    """A mono FLAC of ``seconds`` at ``bit_depth`` (16 or 24) bits, unique to ``track_id``."""
    samples = track_samples(track_id, seconds, bit_depth)
    sample_format = "s16" if bit_depth == 16 else "s32"
    out = io.BytesIO()
    options = {"frame_size": str(flac_frame(seconds)), "bits_per_raw_sample": str(bit_depth)}
    with av.open(out, "w", format="flac") as container:
        stream = container.add_stream(
            "flac", rate=SAMPLE_RATE, layout="mono", format=sample_format, options=options
        )
        frame = av.AudioFrame.from_ndarray(
            samples.reshape(1, -1), format=sample_format, layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()
