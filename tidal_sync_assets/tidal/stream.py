"""Downloading one track's audio from its ``Track.get_stream()`` manifest.

Owns the quality names, reading BTS (direct URLs) and DASH (initialization +
segments) manifests through tidalapi, and streaming every part into the
caller's temporary file in chunks, checking each part's length against its
``Content-Length``. The requests go through the session's TIDAL adapter, so
they share the rate limit and retry policy of every other TIDAL call.

A download costs TIDAL one playback-info request and the audio's parts, nothing
more: the snapshot already holds the track's metadata (whether TIDAL allows
streaming it included), so the track is never fetched again on its own.

How TIDAL's answers are read: 401/403 on a track's playback info means TIDAL will
not stream that track (unavailable); 429 and an unreadable manifest are failures to
retry later. A DRM-protected manifest is refused. Segment URLs are signed and expire:
a part answering 403 makes us fetch a fresh manifest once and resume at that part.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import requests
import tidalapi
from tidalapi.exceptions import (
    ManifestDecodeError,
    StreamNotAvailable,
    TidalAPIError,
    TooManyRequests,
    URLNotAvailable,
)
from tidalapi.media import Quality

from tidal_sync_assets.tidal.http import describe_failure
from tidal_sync_assets.tidal.session import PersistedSession

QUALITIES: dict[str, Quality] = {
    "LOW": Quality.low_96k,
    "HIGH": Quality.low_320k,
    "LOSSLESS": Quality.high_lossless,
    "HI_RES_LOSSLESS": Quality.hi_res_lossless,
}


def lower_qualities(wanted: str) -> list[str]:
    """The qualities below ``wanted``, lowest first."""
    names = list(QUALITIES)
    return names[: names.index(wanted)] if wanted in names else []


def is_below(delivered: str | None, wanted: str) -> bool:
    """True when TIDAL delivered less than ``wanted`` (an unknown delivery is not below)."""
    names = list(QUALITIES)
    if delivered not in names:
        return False
    return names.index(delivered) < names.index(wanted)


_CHUNK_BYTES = 64 * 1024
#: Tries per audio part whose body is cut or stalls (the whole request is sent again).
PART_ATTEMPTS = 3
PART_RETRY_WAIT_SECONDS = 0.2


class TrackUnavailable(Exception):
    """TIDAL will not stream this track; ``reason`` says why."""

    def __init__(self, track_id: int, reason: str) -> None:
        super().__init__(f"TIDAL track {track_id} cannot be downloaded: {reason}.")
        self.track_id = track_id
        self.reason = reason


class DownloadFailed(Exception):
    """An audio part could not be fetched; the message names no URL (they carry tokens)."""


class TruncatedDownload(DownloadFailed):
    """A part of the audio ended before its announced length."""


class DownloadInterrupted(DownloadFailed):
    """A part's body stalled past the timeout or its connection dropped mid-body."""


class SegmentExpired(DownloadFailed):
    """A part's signed URL was refused (403): its manifest has expired."""


@dataclass(frozen=True, slots=True)
class DownloadResult:
    bytes_written: int
    codec: str
    mime_type: str
    #: The quality TIDAL says it delivered (``LOW|HIGH|LOSSLESS|HI_RES_LOSSLESS``).
    audio_quality: str


def download_track(
    session: tidalapi.Session,
    track_id: int,
    quality: str,
    dest: Path,
    *,
    allow_streaming: bool = True,
) -> DownloadResult:
    """Write track ``track_id`` at ``quality`` into ``dest`` (overwritten).

    ``allow_streaming`` is what the snapshot recorded for the track: False refuses it
    without asking TIDAL. Raises ``TrackUnavailable`` when TIDAL will not stream it,
    ``DownloadFailed`` when a part cannot be fetched and ``TruncatedDownload`` when one
    came back short.
    """
    try:
        wanted = QUALITIES[quality]
    except KeyError:
        raise ValueError(f"unknown quality {quality!r}; one of {', '.join(QUALITIES)}") from None
    if not allow_streaming:
        raise TrackUnavailable(track_id, "TIDAL does not allow streaming it")
    if session.audio_quality != wanted:
        session.audio_quality = wanted
    track = _known_track(session, track_id)
    stream, manifest = _stream_manifest(track)
    written = 0
    urls = _part_urls(manifest)
    http = session.audio_http if isinstance(session, PersistedSession) else session.request_session
    with dest.open("wb") as out:
        index = 0
        renewed = False
        while index < len(urls):
            try:
                written += _copy_part_retrying(http, urls[index], out)
            except SegmentExpired:
                if renewed:
                    raise
                renewed = True  # once: a second refusal is not an expiry
                stream, manifest = _stream_manifest(track)
                urls = _part_urls(manifest)
                continue
            index += 1
    return DownloadResult(
        bytes_written=written,
        codec=str(manifest.get_codecs()),
        mime_type=str(manifest.mime_type),
        audio_quality=str(stream.audio_quality),
    )


def offered_quality(session: tidalapi.Session, track_id: int) -> str | None:
    """The quality TIDAL would deliver ``track_id`` at now (None: it will not say)."""
    try:
        return str(_known_track(session, track_id).get_stream().audio_quality)
    except (TidalAPIError, requests.RequestException):
        return None


def _known_track(session: tidalapi.Session, track_id: int) -> tidalapi.Track:
    """tidalapi's track ``track_id`` without asking TIDAL for it (``session.track()`` would
    fetch its metadata, which the snapshot already holds): enough for ``get_stream()``,
    which needs only the id and the session's quality."""
    track = tidalapi.Track(session)
    track.id = track_id
    return track


def _stream_manifest(
    track: tidalapi.Track,
) -> tuple[tidalapi.media.Stream, tidalapi.media.StreamManifest]:
    """The track's stream and parsed manifest; refuses a DRM-protected one."""
    try:
        stream = track.get_stream()
        manifest = _parsed_manifest(stream)
    except (StreamNotAvailable, URLNotAvailable) as exc:
        # tidalapi's word for a 404 on the playback info: not (or no longer) in the catalog.
        raise TrackUnavailable(track.id, "it is not in TIDAL's catalog (no stream)") from exc
    except (TooManyRequests, ManifestDecodeError) as exc:
        # Rate limited, or a manifest shape we cannot read yet: try again next sync.
        raise DownloadFailed(f"TIDAL's stream answer was unusable ({type(exc).__name__})") from None
    except requests.RequestException as exc:
        # Includes running out of patience (429s or 5xx for TIDAL_SYNC_PATIENCE): a failure
        # to try again next sync, said in the retry policy's one sentence.
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            raise TrackUnavailable(track.id, f"TIDAL refuses to stream it ({status})") from None
        raise DownloadFailed(f"TIDAL's stream answer failed ({describe_failure(exc)})") from None
    except TidalAPIError as exc:
        raise TrackUnavailable(track.id, f"its stream manifest is unusable ({exc})") from exc
    if manifest.is_encrypted or _declares_protection(stream):
        raise TrackUnavailable(track.id, "its stream is encrypted")
    return stream, manifest


def _parsed_manifest(stream: tidalapi.media.Stream) -> tidalapi.media.StreamManifest:
    """tidalapi's parse of the manifest; any manifest it cannot read is ``ManifestDecodeError``.

    tidalapi raises that itself for bad base64 and a bad MPD, but lets a BTS manifest that
    is not the JSON it expects escape as ``ValueError``/``KeyError``/``IndexError``.
    """
    try:
        return stream.get_stream_manifest()
    except (ValueError, KeyError, IndexError) as exc:
        raise ManifestDecodeError from exc


def _declares_protection(stream: tidalapi.media.Stream) -> bool:
    """tidalapi says "NONE" for every MPD; the MPD itself says whether it is protected."""
    return stream.is_mpd and "ContentProtection" in stream.get_manifest_data()


def _part_urls(manifest: tidalapi.media.StreamManifest) -> list[str]:
    """The URLs whose bodies, concatenated in order, make the audio file."""
    urls = list(manifest.get_urls())
    dash = manifest.dash_info if manifest.is_mpd else None
    # tidalapi lists the DASH segments from number 0; when the initialization
    # segment is not segment 0 it has to be fetched first.
    if dash is not None and dash.first_url and dash.first_url not in urls:
        urls.insert(0, dash.first_url)
    return urls


def _copy_part_retrying(http: requests.Session, url: str, out: BinaryIO) -> int:
    """``_copy_part``, again from the part's start when its body was cut or stalled.

    The transport retries a request that fails before its body; a body that breaks
    off midway surfaces only here, while it is streamed into the file.
    """
    start = out.tell()
    for attempt in range(1, PART_ATTEMPTS + 1):
        try:
            return _copy_part(http, url, out)
        except (TruncatedDownload, DownloadInterrupted):
            if attempt == PART_ATTEMPTS:
                raise
            out.seek(start)
            out.truncate()
            time.sleep(PART_RETRY_WAIT_SECONDS * attempt)
    raise AssertionError("unreachable")


def _copy_part(http: requests.Session, url: str, out: BinaryIO) -> int:
    try:
        response = http.get(url, stream=True)
        with response:
            if response.status_code == 403:
                raise SegmentExpired("an audio URL was refused (403): its signature expired")
            response.raise_for_status()
            expected = response.headers.get("Content-Length")
            written = 0
            for chunk in response.iter_content(_CHUNK_BYTES):
                out.write(chunk)
                written += len(chunk)
    except requests.exceptions.ChunkedEncodingError:
        raise TruncatedDownload("an audio part ended before its announced length") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        reason = describe_failure(exc)
        raise DownloadInterrupted(f"an audio part broke off mid-body ({reason})") from None
    except requests.RequestException as exc:
        reason = describe_failure(exc)
        raise DownloadFailed(f"an audio part could not be fetched ({reason})") from None
    encoded = "Content-Encoding" in response.headers
    if expected is not None and not encoded and written != int(expected):
        raise TruncatedDownload(
            f"an audio part has {written} bytes where {expected} were announced"
        )
    return written
