"""Downloading audio from the sandbox TIDAL's BTS and DASH manifests with the real tidalapi."""

from __future__ import annotations

from pathlib import Path

import mutagen
import pytest
import tidalapi

from tidal_sync_assets.sandbox.audio import track_flac
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.tidal.http import RetryPolicy
from tidal_sync_assets.tidal.login import login
from tidal_sync_assets.tidal.ratelimit import RateLimiter
from tidal_sync_assets.tidal.session import open_session
from tidal_sync_assets.tidal.stream import (
    TrackUnavailable,
    TruncatedDownload,
    download_track,
)

AFTERGLOW = 1001  # streamable, 1.5 s of audio in the demo catalog
OVERPASS = 1042  # not streamable


@pytest.fixture
def session(sandbox: SandboxServer, tmp_path: Path) -> tidalapi.Session:
    path = tmp_path / "session.json"
    login(path, sandbox.base_url, print_fn=lambda _: None)
    retry = RetryPolicy(patience=0.2, backoff_base=0.01, backoff_max=0.05)
    return open_session(path, sandbox.base_url, retry=retry, limiter=RateLimiter(rate=10_000))


def audio_requests(sandbox: SandboxServer) -> list[str]:
    return [path for _, path, _ in sandbox.request_log if path.startswith("/_audio/")]


def test_a_bts_stream_downloads_one_whole_flac(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    dest = tmp_path / "track.part"
    result = download_track(session, AFTERGLOW, "LOSSLESS", dest)

    assert audio_requests(sandbox) == [f"/_audio/{AFTERGLOW}.flac"]
    assert result.bytes_written == dest.stat().st_size
    assert (result.codec, result.mime_type) == ("FLAC", "audio/flac")
    audio = mutagen.File(dest)
    assert audio is not None and audio.info.length == pytest.approx(1.5, abs=0.01)


def test_a_dash_stream_joins_init_and_segments_in_order(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    dest = tmp_path / "track.part"
    result = download_track(session, AFTERGLOW, "HI_RES_LOSSLESS", dest)

    parts = audio_requests(sandbox)
    assert parts == [f"/_audio/{AFTERGLOW}/dash/{n}.flac" for n in range(5)]
    expected = track_flac(AFTERGLOW, 1.5)
    assert dest.read_bytes() == expected
    assert result.bytes_written == len(expected)
    assert mutagen.File(dest) is not None


def test_a_truncated_audio_part_raises(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    # Every try of the part is cut short (one cut part is fetched again: see below).
    sandbox.faults.add(
        FaultRule(path=r"/_audio/.*/dash/2\.flac", kind="truncate", after_bytes=100, times=None)
    )
    with pytest.raises(TruncatedDownload):
        download_track(session, AFTERGLOW, "HI_RES_LOSSLESS", tmp_path / "track.part")


def test_a_part_cut_short_once_is_fetched_again_from_its_start(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.faults.add(FaultRule(path=r"/_audio/.*/dash/2\.flac", kind="truncate", after_bytes=100))
    dest = tmp_path / "track.part"
    download_track(session, AFTERGLOW, "HI_RES_LOSSLESS", dest)
    assert dest.read_bytes() == track_flac(AFTERGLOW, 1.5)


def test_a_5xx_on_audio_is_retried(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.faults.add(FaultRule(path=r"/_audio/", status=503, times=1))
    result = download_track(session, AFTERGLOW, "HIGH", tmp_path / "track.part")
    assert result.bytes_written == len(track_flac(AFTERGLOW, 1.5))


def test_an_unavailable_track_says_why(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    with pytest.raises(TrackUnavailable) as caught:
        download_track(session, OVERPASS, "LOSSLESS", tmp_path / "track.part")
    assert caught.value.track_id == OVERPASS
    assert "streaming" in caught.value.reason
    with pytest.raises(TrackUnavailable, match="not in TIDAL's catalog"):
        download_track(session, 999_999, "LOSSLESS", tmp_path / "track.part")
    assert audio_requests(sandbox) == []


def test_an_unknown_quality_is_refused(session: tidalapi.Session, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LOSSLESS"):
        download_track(session, AFTERGLOW, "ULTRA", tmp_path / "track.part")
