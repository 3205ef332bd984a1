"""Moving downloaded audio into its codec's native container, never re-encoding it.

TIDAL wraps audio in MP4 (DASH: fragmented MP4); the library stores FLAC as ``.flac``
(starting with ``fLaC``, STREAMINFO MD5 filled in), AAC as a plain ``.m4a`` whose index
(``moov``) comes before the audio, MP3 as ``.mp3``. PyAV (FFmpeg) does the remuxing: it
copies packets, and every result is decoded to its end, once, before anyone may keep it
(a FLAC whose encoder left the STREAMINFO MD5 unset gets it from that same pass). A
DRM-protected stream is refused before it is read.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

#: Sample entries (and the box that wraps a protected one) of an encrypted MP4 track.
_ENCRYPTED_ENTRIES = (b"enca", b"encv", b"sinf")
_EXTENSIONS = {"flac": ".flac", "aac": ".m4a", "alac": ".m4a", "mp3": ".mp3"}
_FLAC_MAGIC = b"fLaC"
# STREAMINFO: magic (4) + block header (4), then the MD5 in its last 16 bytes (of 34).
_MD5_OFFSET = 4 + 4 + 18


class RemuxFailed(Exception):
    """The download is not audio we can store (unreadable, unsupported or encrypted)."""


class EncryptedStream(RemuxFailed):
    """The stream is DRM-protected; it is never written to the library."""


@dataclass(frozen=True, slots=True)
class StoredAudio:
    """What a native file holds: its codec, extension, sample rate and bit depth (lossless)."""

    codec: str
    extension: str
    sample_rate: int
    bit_depth: int | None


def to_native(download: Path, dest: Path) -> StoredAudio:
    """Write ``download``'s audio to ``dest`` in its native container; ``download`` is kept.

    Raises ``EncryptedStream`` for a protected MP4 and ``RemuxFailed`` when the audio
    cannot be read, remuxed or decoded to its end.
    """
    with download.open("rb") as handle:
        head = handle.read(8)
    if head[4:8] == b"ftyp" and is_encrypted_mp4(download):
        raise EncryptedStream("the stream is encrypted (DRM)")
    try:
        with av.open(str(download)) as source:
            if not source.streams.audio:
                raise RemuxFailed("the download holds no audio stream")
            stream = source.streams.audio[0]
            # The codec, not the decoder FFmpeg picked for it (MP3 decodes with "mp3float").
            codec = stream.codec_context.codec.canonical_name
            if codec not in _EXTENSIONS:
                raise RemuxFailed(f"unsupported codec {codec!r}")
            is_mp4 = "mp4" in source.format.name
        if codec == "flac" and is_mp4:
            _copy_packets(download, dest, "flac", {})
        elif is_mp4 and not _is_progressive_mp4(download):
            _copy_packets(download, dest, "ipod", {"movflags": "+faststart"})
        else:
            shutil.copyfile(download, dest)
        return _decode_to_end(dest, codec)
    except av.FFmpegError as exc:
        raise RemuxFailed(
            f"the audio cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None


def is_encrypted_mp4(path: Path) -> bool:
    """True when an MP4's sample description declares an encrypted entry."""
    with path.open("rb") as handle:
        for kind, offset, size in _top_level_boxes(handle):
            if kind == b"moov":
                handle.seek(offset)
                moov = handle.read(size)
                return any(entry in moov for entry in _ENCRYPTED_ENTRIES)
    return False


def flac_samples_md5(path: Path) -> bytes:
    """The MD5 FLAC defines: of the samples, interleaved, little-endian, at the bit depth."""
    digest = hashlib.md5()
    bits = flac_bit_depth(path)
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[0]):
            digest.update(_md5_bytes(frame, bits))
    return digest.digest()


def flac_bit_depth(path: Path) -> int:
    """Bits per sample, from a native FLAC's STREAMINFO."""
    with path.open("rb") as handle:
        head = handle.read(22)
    return (((head[20] & 0x01) << 4) | (head[21] >> 4)) + 1


def flac_total_samples(path: Path) -> int:
    """The sample count a native FLAC's STREAMINFO announces (0: not stated)."""
    with path.open("rb") as handle:
        head = handle.read(26)
    return ((head[21] & 0x0F) << 32) | int.from_bytes(head[22:26], "big")


def _md5_bytes(frame: av.AudioFrame, bits: int) -> bytes:
    """A decoded frame's samples as FLAC's MD5 reads them."""
    samples = frame.to_ndarray()
    if not frame.format.is_planar:
        samples = samples.reshape(-1, frame.layout.nb_channels).T
    interleaved: np.ndarray = samples.T.reshape(-1)
    if interleaved.dtype == np.int16:  # 16-bit: already the bytes the MD5 wants
        return interleaved.astype("<i2", copy=False).tobytes()
    if interleaved.dtype == np.int32:
        interleaved = interleaved >> (32 - bits)
    width = -(-bits // 8)
    as_bytes = interleaved.astype("<i4").view(np.uint8).reshape(-1, 4)
    return as_bytes[:, :width].tobytes()


def _copy_packets(source_path: Path, dest: Path, format_name: str, options: dict[str, str]) -> None:
    with av.open(str(source_path)) as source:
        audio = source.streams.audio[0]
        with av.open(str(dest), "w", format=format_name, options=options) as target:
            stream = target.add_stream_from_template(audio)
            for packet in source.demux(audio):
                if packet.dts is None:
                    continue
                packet.stream = stream
                target.mux(packet)


def _decode_to_end(path: Path, codec: str) -> StoredAudio:
    """Decode ``path`` to its end, once; a FLAC whose STREAMINFO MD5 is zero (the encoder
    left it unset) gets the MD5 of the samples this same pass decodes."""
    bits = flac_bit_depth(path) if codec == "flac" else None
    digest = hashlib.md5() if bits is not None and not _has_md5(path) else None
    frames = samples = 0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            frames += 1
            samples += frame.samples
            if digest is not None and bits is not None:
                digest.update(_md5_bytes(frame, bits))
        rate = stream.codec_context.sample_rate
    if frames == 0:
        raise RemuxFailed("the audio decodes to nothing")
    # A FLAC cut between two frames decodes without an error: only its length tells.
    announced = flac_total_samples(path) if codec == "flac" else 0
    if announced and samples != announced:
        raise RemuxFailed(f"the audio ends early ({samples} of {announced} samples)")
    if digest is not None:
        with path.open("rb+") as handle:
            handle.seek(_MD5_OFFSET)
            handle.write(digest.digest())
    return StoredAudio(codec, _EXTENSIONS[codec], rate, bits)


def _has_md5(path: Path) -> bool:
    """False only for a native FLAC whose STREAMINFO MD5 is all zeros."""
    with path.open("rb") as handle:
        head = handle.read(_MD5_OFFSET + 16)
    return not head.startswith(_FLAC_MAGIC) or any(head[_MD5_OFFSET:])


def _is_progressive_mp4(path: Path) -> bool:
    """A plain MP4 whose ``moov`` comes before its ``mdat`` and that has no fragments."""
    with path.open("rb") as handle:
        order = [kind for kind, _, _ in _top_level_boxes(handle)]
    if b"moof" in order or b"moov" not in order or b"mdat" not in order:
        return False
    return order.index(b"moov") < order.index(b"mdat")


def _top_level_boxes(handle: BinaryIO) -> Iterator[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level box, read by seeking (the audio is skipped)."""
    offset = 0
    while True:
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header[:8])
        if size == 1 and len(header) == 16:
            size = struct.unpack(">Q", header[8:16])[0]
        elif size == 0:
            size = handle.seek(0, 2) - offset
        if size < 8:
            return
        yield kind, offset, size
        offset += size


def mp4_boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """An MP4's top-level ISO BMFF boxes: (type, whole box)."""
    offset, end = 0, len(data)
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = end - offset
        if size < 8:
            return
        yield kind, data[offset : offset + size]
        offset += size
