"""``playbackinfopostpaywall`` answers, shaped the way TIDAL answers them in 2026.

What a session gets (public reports: python-tidal #404, tiddl #333/#349, streamrip #966):

* a PKCE session gets DASH for every quality: AAC for LOW and HIGH, FLAC for LOSSLESS,
  24-bit FLAC for HI_RES_LOSSLESS when the release has a hi-res master;
* a device-code session gets BTS (one plain MP4 of AAC) for LOW and HIGH; asking LOSSLESS
  or more, it gets FLAC over DASH for a release with a hi-res master, and otherwise AAC 320
  over BTS with ``audioQuality: HIGH`` (the downgrade).

DASH segments are fragmented MP4 (``audio/mp4``, ``codecs="flac"`` or ``mp4a.40.2``,
``<AdaptationSet group="main">``) at ``/_audio/<id>/<rendition>/<n>.mp4`` (0 is the
initialization); BTS points at ``/_audio/<id>/<rendition>.mp4``. Every audio URL carries a
signed ``token`` that expires (:class:`UrlSigner`); an encrypted track's MPD declares
``ContentProtection``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from tidal_sync_assets.sandbox.audio import SAMPLE_RATE
from tidal_sync_assets.sandbox.catalog import Track
from tidal_sync_assets.sandbox.media import RENDITIONS, DashRendition, dash_rendition

HI_RES = "HI_RES_LOSSLESS"
QUALITIES = ("LOW", "HIGH", "LOSSLESS", HI_RES)
BTS_MIME = "application/vnd.tidal.bts"
DASH_MIME = "application/dash+xml"
#: How long a signed audio URL stays valid unless the server is told otherwise.
DEFAULT_URL_SECONDS = 600.0
# tidalapi splits the MPD text on this exact declaration.
_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"
_CODECS = {"flac": "flac", "aac": "mp4a.40.2"}


@dataclass(frozen=True)
class Delivery:
    """What TIDAL sends for one request: the quality it reports, the rendition, the transport."""

    quality: str
    rendition: str
    dash: bool


def delivery(track: Track, asked: str, *, pkce: bool) -> Delivery:
    """What a session (PKCE or device code) gets for ``track`` when it asks ``asked``."""
    if asked == "LOW":
        return Delivery("LOW", "aac96", dash=pkce)
    if asked == "HIGH":
        return Delivery("HIGH", "aac320", dash=pkce)
    if not pkce and not track.hires_master:
        return Delivery("HIGH", "aac320", dash=False)
    if asked == HI_RES and track.hires_master:
        return Delivery(HI_RES, "flac24", dash=True)
    return Delivery("LOSSLESS", "flac16", dash=True)


class UrlSigner:
    """Signs audio URLs with an expiry, and checks them (as TIDAL's CDN does)."""

    def __init__(self, key: bytes, lifetime_seconds: float = DEFAULT_URL_SECONDS) -> None:
        self._key = key
        self.lifetime_seconds = lifetime_seconds

    def token(self, scope: str) -> str:
        expires = int((time.time() + self.lifetime_seconds) * 1000)  # milliseconds
        return f"exp={expires}~hmac={self._mac(scope, expires)}"

    def is_valid(self, scope: str, token: str) -> bool:
        """True when ``token`` was issued for ``scope`` and has not expired."""
        fields = dict(part.partition("=")[::2] for part in token.split("~"))
        try:
            expires = int(fields.get("exp", ""))
        except ValueError:
            return False
        genuine = hmac.compare_digest(fields.get("hmac", ""), self._mac(scope, expires))
        return genuine and time.time() * 1000 < expires

    def _mac(self, scope: str, expires: int) -> str:
        message = f"{scope}|{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]


def whole_file_scope(track_id: int, rendition: str) -> str:
    return f"/_audio/{track_id}/{rendition}.mp4"


def dash_scope(track_id: int, rendition: str) -> str:
    return f"/_audio/{track_id}/{rendition}/"


def playback_info(
    base_url: str, track: Track, asked: str, *, pkce: bool, signer: UrlSigner
) -> dict[str, Any]:
    """The JSON TIDAL answers for a track's stream when a session asks ``asked``."""
    sent = delivery(track, asked, pkce=pkce)
    codec, amount = RENDITIONS[sent.rendition]
    if sent.dash:
        scope = dash_scope(track.id, sent.rendition)
        rendition = dash_rendition(track.id, track.audio_seconds, sent.rendition)
        url = f"{base_url}{scope}$Number$.mp4?token={signer.token(scope)}"
        mime, manifest = DASH_MIME, _dash_manifest(track, sent.rendition, rendition, url)
    else:
        scope = whole_file_scope(track.id, sent.rendition)
        url = f"{base_url}{scope}?token={signer.token(scope)}"
        mime, manifest = BTS_MIME, _bts_manifest(codec, url)
    encoded = base64.b64encode(manifest.encode()).decode()
    return {
        "trackId": track.id,
        "assetPresentation": "FULL",
        "audioMode": "STEREO",
        "audioQuality": sent.quality,
        "manifestMimeType": mime,
        "manifestHash": hashlib.sha256(encoded.encode()).hexdigest(),
        "manifest": encoded,
        "albumReplayGain": -9.5,
        "albumPeakAmplitude": 0.98,
        "trackReplayGain": -9.5,
        "trackPeakAmplitude": 0.98,
        "bitDepth": amount if codec == "flac" else None,
        "sampleRate": SAMPLE_RATE,
    }


def _bts_manifest(codec: str, url: str) -> str:
    return json.dumps(
        {
            "mimeType": "audio/mp4",
            "codecs": _CODECS[codec],
            "encryptionType": "NONE",
            "urls": [url],
        }
    )


def _dash_manifest(track: Track, name: str, rendition: DashRendition, url: str) -> str:
    codec, amount = RENDITIONS[name]
    seconds = sum(rendition.durations) / SAMPLE_RATE
    bandwidth = amount if codec == "aac" else SAMPLE_RATE * amount
    protection = (
        '<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"/>'
        if track.encrypted
        else ""
    )
    init = url.replace("$Number$", "0")
    return (
        f"{_XML_DECLARATION}"
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns:cenc="urn:mpeg:cenc:2013"'
        ' profiles="urn:mpeg:dash:profile:isoff-main:2011" type="static" minBufferTime="PT3.993S"'
        f' mediaPresentationDuration="PT{seconds:.3f}S">'
        '<Period id="0"><AdaptationSet id="0" contentType="audio" mimeType="audio/mp4"'
        ' segmentAlignment="true" group="main">'
        f"{protection}"
        f'<Representation id="{codec.upper()},{SAMPLE_RATE},{amount}" codecs="{_CODECS[codec]}"'
        f' bandwidth="{bandwidth}" audioSamplingRate="{SAMPLE_RATE}">'
        f'<SegmentTemplate timescale="{SAMPLE_RATE}" initialization="{init}"'
        f' media="{url}" startNumber="1">'
        f"<SegmentTimeline>{_timeline(rendition.durations)}</SegmentTimeline>"
        "</SegmentTemplate></Representation></AdaptationSet></Period></MPD>"
    )


def _timeline(durations: tuple[int, ...]) -> str:
    """``<S d r>`` runs: equal consecutive durations share one element."""
    runs: list[list[int]] = []
    for duration in durations:
        if runs and runs[-1][0] == duration:
            runs[-1][1] += 1
        else:
            runs.append([duration, 0])
    return "".join(f'<S d="{d}" r="{r}"/>' if r else f'<S d="{d}"/>' for d, r in runs)
