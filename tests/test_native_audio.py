"""Stored files are in their codec's native container, whatever TIDAL wrapped them in.

Downloads go through the real tidalapi against the sandbox; the stored file is read back by
independent readers: PyAV and soundfile decode it, mutagen sees its container and tags.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import mutagen
import numpy as np
import pytest
import soundfile

from tests.fixtures.sandbox import logged_in_session, pkce_session
from tidal_sync_assets.disk.remux import (
    RemuxFailed,
    StoredAudio,
    flac_samples_md5,
    mp4_boxes,
    to_native,
)
from tidal_sync_assets.library.download import download_primary
from tidal_sync_assets.sandbox.audio import SAMPLE_RATE, track_flac, track_samples
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.tidal.snapshot import TidalTrack

AFTERGLOW = 1001  # no hi-res master
MASTERED = 1002  # hi-res master


def tidal_track(sandbox: SandboxServer, track_id: int) -> TidalTrack:
    track = sandbox.catalog.track(track_id)
    assert track is not None
    return TidalTrack(
        tidal_id=track.id,
        title=track.title,
        artists=track.artists,
        album=track.album,
        album_artist=track.album_artist,
        track_number=track.track_number,
        isrc=track.isrc,
        duration=track.reported_duration,
        version=track.version,
    )


@pytest.mark.parametrize(
    ("kind", "quality", "track_id", "extension", "bits", "reported"),
    [
        ("pkce", "LOSSLESS", AFTERGLOW, ".flac", 16, "LOSSLESS"),  # DASH FLAC
        ("pkce", "HI_RES_LOSSLESS", MASTERED, ".flac", 24, "HI_RES_LOSSLESS"),  # DASH FLAC 24
        ("device", "LOSSLESS", AFTERGLOW, ".m4a", None, "HIGH"),  # BTS AAC: the downgrade
        ("pkce", "HIGH", AFTERGLOW, ".m4a", None, "HIGH"),  # DASH AAC
    ],
)
def test_a_download_is_stored_natively_with_the_delivered_codec_extension(
    sandbox: SandboxServer,
    tmp_path: Path,
    kind: str,
    quality: str,
    track_id: int,
    extension: str,
    bits: int | None,
    reported: str,
) -> None:
    login = pkce_session if kind == "pkce" else logged_in_session
    session = login(sandbox.base_url, tmp_path / "session.json", quality)
    root = tmp_path / "library"
    root.mkdir()

    stored = download_primary(
        session, tidal_track(sandbox, track_id), quality, "Playlists/Mix/A - B.flac", root
    )

    assert stored.path == f"Playlists/Mix/A - B{extension}"
    assert stored.audio_quality == reported
    assert stored.audio.bit_depth == bits
    path = root / stored.path
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    data = path.read_bytes()
    tags = mutagen.File(path)
    assert tags is not None
    if extension == ".flac":
        assert data.startswith(b"fLaC")
        assert type(tags).__name__ == "FLAC" and tags["TIDAL_TRACK_ID"] == [str(track_id)]
        decoded, rate = soundfile.read(path, dtype="int32")
        source, _ = soundfile.read(io.BytesIO(track_flac(track_id, 1.5, bits or 16)), dtype="int32")
        assert rate == 16_000 and np.array_equal(decoded, source)
        assert data[26:42] == flac_samples_md5(path) != bytes(16)
    else:
        kinds = [k for k, _ in mp4_boxes(data)]
        assert b"moof" not in kinds and kinds.index(b"moov") < kinds.index(b"mdat")
        assert type(tags).__name__ == "MP4"
        assert tags["----:com.apple.iTunes:TIDAL_TRACK_ID"] == [str(track_id).encode()]
        with av.open(str(path)) as container:
            assert container.streams.audio[0].codec_context.name == "aac"
            samples = sum(f.samples for f in container.decode(audio=0))
        assert abs(samples - len(track_samples(track_id, 1.5))) <= 2048


@pytest.mark.parametrize("bits", [16, 24])
def test_a_zero_streaminfo_md5_is_filled_with_the_samples_md5(tmp_path: Path, bits: int) -> None:
    original = track_flac(7, 0.5, bits)
    zeroed = original[:26] + bytes(16) + original[42:]
    download = tmp_path / "a.part"
    download.write_bytes(zeroed)

    stored = to_native(download, tmp_path / "a.flac")

    # The encoder's MD5, recomputed from the samples the check decoded.
    assert (tmp_path / "a.flac").read_bytes() == original
    assert stored.codec == "flac" and stored.bit_depth == bits


def mp3_of(samples: np.ndarray) -> bytes:
    """``samples`` (mono int16) encoded as an MP3 by LAME, through PyAV's bundled FFmpeg."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=SAMPLE_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def test_an_mp3_is_kept_byte_for_byte_and_still_decodes(tmp_path: Path) -> None:
    if "libmp3lame" not in av.codec.codecs_available:
        pytest.skip("this PyAV's FFmpeg has no MP3 encoder")
    source = track_samples(AFTERGLOW, 1.5)
    download = tmp_path / "a.part"
    download.write_bytes(mp3_of(source))

    stored = to_native(download, tmp_path / "a.mp3")

    assert stored == StoredAudio("mp3", ".mp3", SAMPLE_RATE, None)
    kept = (tmp_path / "a.mp3").read_bytes()
    assert kept == download.read_bytes()
    assert type(mutagen.File(tmp_path / "a.mp3")).__name__ == "MP3"
    decoded, rate = soundfile.read(tmp_path / "a.mp3", dtype="int16")
    assert rate == SAMPLE_RATE and abs(len(decoded) - len(source)) <= 1152  # one MP3 frame
    # Lossy, yet the same sound: the decoded wave follows the source's.
    length = min(len(decoded), len(source))
    assert np.corrcoef(decoded[:length], source[:length])[0, 1] > 0.9


def test_a_download_that_is_not_audio_never_reaches_a_final_name(tmp_path: Path) -> None:
    download = tmp_path / "x.part"
    download.write_bytes(b"\x00\x00\x00\x18ftypiso6" + b"garbage" * 100)
    with pytest.raises(RemuxFailed):
        to_native(download, tmp_path / "x.out")


def test_a_flac_cut_between_frames_is_refused_though_it_decodes_without_error(
    tmp_path: Path,
) -> None:
    whole = tmp_path / "whole.flac"
    whole.write_bytes(track_flac(AFTERGLOW, 3.0))
    with av.open(str(whole)) as container:
        packets = [p for p in container.demux(container.streams.audio[0]) if p.size]
    cut = tmp_path / "cut.flac"  # every byte up to the start of the last frame but one
    cut.write_bytes(whole.read_bytes()[: int(packets[-2].pos)])
    assert to_native(whole, tmp_path / "whole.out").extension == ".flac"
    with pytest.raises(RemuxFailed, match="ends early"):
        to_native(cut, tmp_path / "cut.out")
