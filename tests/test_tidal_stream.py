"""Downloading audio the way real TIDAL streams it, with the real tidalapi against the sandbox.

Every shape TIDAL serves (BTS AAC in MP4; DASH fragmented MP4 carrying AAC or FLAC), for a
device-code and a PKCE session, read by tidalapi's own manifest parsing; expiring segment
URLs; encrypted streams; and TIDAL's error answers on a track's playback info.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import av
import pytest
import requests
import tidalapi

from tests.fixtures.sandbox import pkce_session
from tidal_sync_assets.disk.remux import EncryptedStream, mp4_boxes, to_native
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.settings import Settings
from tidal_sync_assets.tidal.http import RetryPolicy, requests_made
from tidal_sync_assets.tidal.login import login
from tidal_sync_assets.tidal.ratelimit import RateLimiter
from tidal_sync_assets.tidal.session import open_configured, open_session
from tidal_sync_assets.tidal.stream import (
    DownloadFailed,
    TrackUnavailable,
    TruncatedDownload,
    download_track,
)

AFTERGLOW = 1001  # streamable, 1.5 s of audio, no hi-res master in the demo catalog
MASTERED = 1002  # streamable, with a hi-res master
OVERPASS = 1042  # not streamable
RETRY = RetryPolicy(patience=0.2, backoff_base=0.01, backoff_max=0.05, retry_after_cap=0.05)


@pytest.fixture
def session(sandbox: SandboxServer, tmp_path: Path) -> tidalapi.Session:
    path = tmp_path / "session.json"
    login(path, sandbox.base_url, print_fn=lambda _: None)
    fast = RateLimiter(rate=10_000)
    return open_session(path, sandbox.base_url, retry=RETRY, limiter=fast, cdn_limiter=fast)


@pytest.fixture
def pkce(sandbox: SandboxServer, tmp_path: Path) -> tidalapi.Session:
    return pkce_session(sandbox.base_url, tmp_path / "pkce.json")


def audio_requests(sandbox: SandboxServer) -> list[str]:
    return [p.partition("?")[0] for _, p, _ in sandbox.request_log if p.startswith("/_audio/")]


def box_types(data: bytes) -> list[bytes]:
    return [kind for kind, _ in mp4_boxes(data)]


# (login, asked quality, track) -> (transport, tidalapi codec, audioQuality TIDAL reports)
SHAPES = [
    ("device", "LOW", AFTERGLOW, "BTS", "MP4A", "LOW"),
    ("device", "HIGH", MASTERED, "BTS", "MP4A", "HIGH"),
    ("device", "LOSSLESS", AFTERGLOW, "BTS", "MP4A", "HIGH"),  # the downgrade to AAC 320
    ("device", "LOSSLESS", MASTERED, "DASH", "FLAC", "LOSSLESS"),
    ("pkce", "LOW", AFTERGLOW, "DASH", "MP4A", "LOW"),
    ("pkce", "HIGH", AFTERGLOW, "DASH", "MP4A", "HIGH"),
    ("pkce", "LOSSLESS", AFTERGLOW, "DASH", "FLAC", "LOSSLESS"),
    ("pkce", "HI_RES_LOSSLESS", AFTERGLOW, "DASH", "FLAC", "LOSSLESS"),
    ("pkce", "HI_RES_LOSSLESS", MASTERED, "DASH", "FLAC", "HI_RES_LOSSLESS"),
]


@pytest.mark.parametrize(("kind", "quality", "track_id", "transport", "codec", "reported"), SHAPES)
def test_each_stream_shape_is_read_by_tidalapi_and_downloads_as_mp4(
    sandbox: SandboxServer,
    tmp_path: Path,
    kind: str,
    quality: str,
    track_id: int,
    transport: str,
    codec: str,
    reported: str,
) -> None:
    path = tmp_path / f"{kind}.json"
    if kind == "pkce":
        tidal = pkce_session(sandbox.base_url, path, quality)
    else:
        login(path, sandbox.base_url, print_fn=lambda _: None)
        tidal = open_session(path, sandbox.base_url, retry=RETRY)
        tidal.audio_quality = quality
    stream = tidal.track(str(track_id)).get_stream()
    manifest = stream.get_stream_manifest()
    assert (stream.is_mpd, stream.is_bts) == (transport == "DASH", transport == "BTS")
    assert (manifest.get_codecs(), stream.audio_quality) == (codec, reported)
    assert manifest.mime_type == "audio/mp4"
    assert all(urlpath.partition("?")[0].endswith(".mp4") for urlpath in manifest.get_urls())
    if transport == "DASH":
        assert 'group="main"' in stream.get_manifest_data()
        assert manifest.dash_info.mime_type == "audio/mp4"

    dest = tmp_path / "track.part"
    result = download_track(tidal, track_id, quality, dest)
    assert result.audio_quality == reported
    data = dest.read_bytes()
    if transport == "DASH":
        kinds = box_types(data)
        assert kinds[:2] == [b"ftyp", b"moov"]
        assert kinds[2:] == [b"moof", b"mdat"] * (len(kinds[2:]) // 2)
        assert kinds.count(b"moof") >= 2
    else:
        assert b"moof" not in box_types(data)
    with av.open(str(dest)) as container:
        assert container.streams.audio[0].codec_context.name == codec.lower().replace("mp4a", "aac")


def test_a_dash_download_fetches_the_init_segment_then_every_media_segment(
    sandbox: SandboxServer, pkce: tidalapi.Session, tmp_path: Path
) -> None:
    download_track(pkce, AFTERGLOW, "LOSSLESS", tmp_path / "track.part")
    parts = audio_requests(sandbox)
    assert parts[0] == f"/_audio/{AFTERGLOW}/flac16/0.mp4"
    assert parts == [f"/_audio/{AFTERGLOW}/flac16/{n}.mp4" for n in range(len(parts))]
    assert len(parts) >= 3


def test_an_expired_segment_url_fetches_a_fresh_manifest_once_and_resumes(
    sandbox: SandboxServer, pkce: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.signer.lifetime_seconds = 0.5
    # Segment 1 arrives late: by the time segment 2 is asked for, the URLs have expired.
    sandbox.faults.add(FaultRule(path=r"^/_audio/\d+/flac16/1\.mp4", kind="slow", delay=0.8))
    dest = tmp_path / "track.part"
    download_track(pkce, AFTERGLOW, "LOSSLESS", dest)

    statuses = [(p.partition("?")[0], s) for _, p, s in sandbox.request_log]
    assert (f"/_audio/{AFTERGLOW}/flac16/2.mp4", 403) in statuses
    manifests = [p for p, _ in statuses if p.endswith("/playbackinfopostpaywall")]
    assert len(manifests) == 2
    audio = [p for p, s in statuses if p.startswith("/_audio/") and s == 200]
    assert audio == [f"/_audio/{AFTERGLOW}/flac16/{n}.mp4" for n in range(len(audio))]
    to_native(dest, tmp_path / "track.flac")  # decodes to its end


def test_a_segment_refused_again_after_a_fresh_manifest_fails_the_download(
    sandbox: SandboxServer, pkce: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.faults.add(
        FaultRule(path=r"^/_audio/\d+/flac16/1\.mp4", kind="status", status=403, times=None)
    )
    with pytest.raises(DownloadFailed, match="403"):
        download_track(pkce, AFTERGLOW, "LOSSLESS", tmp_path / "track.part")


def test_an_encrypted_dash_stream_is_refused_before_any_audio_is_fetched(
    sandbox: SandboxServer, pkce: tidalapi.Session, tmp_path: Path
) -> None:
    track = sandbox.catalog.track(AFTERGLOW)
    assert track is not None
    sandbox.catalog.put_track(dataclasses.replace(track, encrypted=True))
    dest = tmp_path / "track.part"
    with pytest.raises(TrackUnavailable, match="encrypted"):
        download_track(pkce, AFTERGLOW, "LOSSLESS", dest)
    assert audio_requests(sandbox) == []
    assert not dest.exists()


def test_an_encrypted_sample_entry_in_the_init_segment_is_refused(
    sandbox: SandboxServer, pkce: tidalapi.Session, tmp_path: Path
) -> None:
    track = sandbox.catalog.track(AFTERGLOW)
    assert track is not None
    sandbox.catalog.put_track(dataclasses.replace(track, encrypted=True))
    urls = pkce.track(str(AFTERGLOW)).get_stream().get_stream_manifest().get_urls()
    download = tmp_path / "track.part"
    download.write_bytes(b"".join(requests.get(url, timeout=5).content for url in urls))
    with pytest.raises(EncryptedStream):
        to_native(download, tmp_path / "track.flac")
    assert not (tmp_path / "track.flac").exists()


def test_a_truncated_audio_part_raises(
    sandbox: SandboxServer, pkce: tidalapi.Session, tmp_path: Path
) -> None:
    # Every try of the part is cut short (one cut part is fetched again: see below).
    sandbox.faults.add(
        FaultRule(path=r"/_audio/.*/2\.mp4", kind="truncate", after_bytes=100, times=None)
    )
    with pytest.raises(TruncatedDownload):
        download_track(pkce, AFTERGLOW, "LOSSLESS", tmp_path / "track.part")


def test_a_part_cut_short_once_is_fetched_again_from_its_start(
    sandbox: SandboxServer, pkce: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.faults.add(FaultRule(path=r"/_audio/.*/2\.mp4", kind="truncate", after_bytes=100))
    whole = tmp_path / "whole.part"
    download_track(pkce, AFTERGLOW, "LOSSLESS", whole)
    sandbox.faults.add(FaultRule(path=r"/_audio/.*/2\.mp4", kind="truncate", after_bytes=100))
    dest = tmp_path / "track.part"
    download_track(pkce, AFTERGLOW, "LOSSLESS", dest)
    assert dest.read_bytes() == whole.read_bytes()


def test_a_5xx_on_audio_is_retried(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.faults.add(FaultRule(path=r"/_audio/", status=503, times=1))
    dest = tmp_path / "track.part"
    result = download_track(session, AFTERGLOW, "HIGH", dest)
    assert result.bytes_written == dest.stat().st_size > 1000


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_playback_info_makes_only_that_track_unavailable(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path, status: int
) -> None:
    sandbox.faults.add(
        FaultRule(path=rf"^/v1/tracks/{AFTERGLOW}/playback", status=status, times=None)
    )
    with pytest.raises(TrackUnavailable, match=str(status)):
        download_track(session, AFTERGLOW, "LOSSLESS", tmp_path / "a.part")
    download_track(session, MASTERED, "LOSSLESS", tmp_path / "b.part")


def test_being_rate_limited_on_playback_info_is_a_failure_to_retry_not_unavailable(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.faults.add(
        FaultRule(path=r"^/v1/tracks/\d+/playback", status=429, retry_after=0, times=None)
    )
    with pytest.raises(DownloadFailed) as caught:
        download_track(session, AFTERGLOW, "LOSSLESS", tmp_path / "a.part")
    assert not isinstance(caught.value, TrackUnavailable)
    assert "rate limited for longer than the 0.2 s TIDAL_SYNC_PATIENCE allows" in str(caught.value)


@pytest.mark.parametrize("cut_at", [101, 100], ids=["not-base64", "document-cut-short"])
@pytest.mark.parametrize(
    ("quality", "track"), [("HIGH", AFTERGLOW), ("LOSSLESS", MASTERED)], ids=["bts", "dash"]
)
def test_an_unreadable_manifest_is_a_failure_to_retry_not_unavailable(
    sandbox: SandboxServer,
    session: tidalapi.Session,
    tmp_path: Path,
    quality: str,
    track: int,
    cut_at: int,
) -> None:
    sandbox.faults.add(
        FaultRule(path=r"^/v1/tracks/\d+/playback", kind="bad_manifest", after_bytes=cut_at)
    )
    with pytest.raises(DownloadFailed) as caught:
        download_track(session, track, quality, tmp_path / "a.part")
    assert not isinstance(caught.value, TrackUnavailable)
    assert "ManifestDecodeError" in str(caught.value)
    assert audio_requests(sandbox) == []
    # The fault has passed: the same track downloads.
    assert download_track(session, track, quality, tmp_path / "a.part").bytes_written > 1000


def test_an_unavailable_track_says_why(
    sandbox: SandboxServer, session: tidalapi.Session, tmp_path: Path
) -> None:
    sandbox.clear_log()
    with pytest.raises(TrackUnavailable) as caught:
        download_track(
            session, OVERPASS, "LOSSLESS", tmp_path / "track.part", allow_streaming=False
        )
    assert caught.value.track_id == OVERPASS
    assert "streaming" in caught.value.reason
    assert sandbox.request_log == [], "the snapshot's allowStreaming is enough: TIDAL is not asked"
    # A snapshot older than TIDAL's change: TIDAL itself refuses the playback info.
    with pytest.raises(TrackUnavailable, match="refuses to stream it"):
        download_track(session, OVERPASS, "LOSSLESS", tmp_path / "track.part")
    with pytest.raises(TrackUnavailable, match="not in TIDAL's catalog"):
        download_track(session, 999_999, "LOSSLESS", tmp_path / "track.part")
    assert audio_requests(sandbox) == []


@pytest.mark.parametrize(
    ("kind", "quality", "track_id", "transport"),
    [("device", "HIGH", AFTERGLOW, "BTS"), ("pkce", "LOSSLESS", AFTERGLOW, "DASH")],
)
def test_a_download_asks_tidal_for_its_playback_info_and_its_audio_only(
    sandbox: SandboxServer,
    session: tidalapi.Session,
    pkce: tidalapi.Session,
    tmp_path: Path,
    kind: str,
    quality: str,
    track_id: int,
    transport: str,
) -> None:
    tidal = pkce if kind == "pkce" else session
    sandbox.clear_log()
    download_track(tidal, track_id, quality, tmp_path / "track.part")
    paths = [p.partition("?")[0] for _, p, _ in sandbox.request_log]
    assert paths[0] == f"/v1/tracks/{track_id}/playbackinfopostpaywall"
    assert f"/v1/tracks/{track_id}" not in paths, "the snapshot holds the track: not fetched"
    audio = paths[1:]
    assert audio == audio_requests(sandbox)
    if transport == "BTS":
        assert audio == [f"/_audio/{track_id}/aac320.mp4"], "the playback info and the file"
    else:
        assert len(audio) >= 3, "the playback info, the init segment and the media segments"


def test_audio_waits_its_turn_at_the_cdn_limit_and_api_calls_keep_their_own(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "session.json"
    login(path, sandbox.base_url, print_fn=lambda _: None)
    cdn_rate = 5  # a bucket of 5 requests, refilled at 5 a second
    settings = Settings.from_env(
        {
            "TIDAL_SYNC_SESSION_FILE": str(path),
            "TIDAL_SYNC_API_BASE": sandbox.base_url,
            "TIDAL_SYNC_RATE_LIMIT": "1000",
            "TIDAL_SYNC_CDN_RATE_LIMIT": str(cdn_rate),
        }
    )
    tidal = open_configured(settings)
    api_before = requests_made(tidal.request_session)
    sandbox.clear_log()

    started = time.monotonic()
    for n in range(2):  # DASH FLAC: the init segment and the media segments, each a request
        download_track(tidal, MASTERED, "LOSSLESS", tmp_path / f"{n}.part")
    elapsed = time.monotonic() - started

    paths = [p for _, p, _ in sandbox.request_log]
    audio = [p for p in paths if p.startswith("/_audio/")]
    api = [p for p in paths if not p.startswith("/_audio/")]
    assert len(audio) >= 10 and len(api) == 2  # two playback infos
    # Every audio request went through the CDN's limit, none through the API's.
    assert requests_made(tidal.audio_http) == len(audio)
    assert requests_made(tidal.request_session) - api_before == len(api)
    # The bucket's 5 went at once; each further audio request waited 1/5 s for a token.
    assert elapsed >= (len(audio) - cdn_rate) / cdn_rate

    # The CDN's bucket is empty now; API calls do not take from it.
    for _ in range(20):
        tidal.track(str(AFTERGLOW))
    assert requests_made(tidal.audio_http) == len(audio)
    assert requests_made(tidal.request_session) - api_before == len(api) + 20


def test_an_unknown_quality_is_refused(session: tidalapi.Session, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="LOSSLESS"):
        download_track(session, AFTERGLOW, "ULTRA", tmp_path / "track.part")
