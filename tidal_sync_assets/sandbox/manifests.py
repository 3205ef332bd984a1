"""``playbackinfopostpaywall`` answers: BTS manifests (LOW, HIGH, LOSSLESS) and DASH (HI_RES).

The sandbox serves the same FLAC at every quality. A BTS manifest points at the whole file
(``/_audio/<id>.flac``); a DASH manifest's SegmentTemplate points at its parts
(``/_audio/<id>/dash/<n>.flac``, part 0 is the initialization), which tidalapi's
``DashInfo`` expands to exactly those URLs, in order.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tidal_sync_assets.sandbox.audio import DASH_SEGMENTS, SAMPLE_RATE
from tidal_sync_assets.sandbox.catalog import Track

HI_RES = "HI_RES_LOSSLESS"
QUALITIES = ("LOW", "HIGH", "LOSSLESS", HI_RES)
BTS_MIME = "application/vnd.tidal.bts"
DASH_MIME = "application/dash+xml"
# tidalapi splits the MPD text on this exact declaration.
_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>"


def whole_file_url(base_url: str, track_id: int) -> str:
    return f"{base_url}/_audio/{track_id}.flac"


def dash_part_url(base_url: str, track_id: int, part: int | str) -> str:
    return f"{base_url}/_audio/{track_id}/dash/{part}.flac"


def playback_info(base_url: str, track: Track, quality: str) -> dict[str, Any]:
    """The JSON TIDAL answers for a track's stream at ``quality``."""
    if quality == HI_RES:
        mime, manifest = DASH_MIME, _dash_manifest(base_url, track)
    else:
        mime, manifest = BTS_MIME, _bts_manifest(base_url, track)
    encoded = base64.b64encode(manifest.encode()).decode()
    return {
        "trackId": track.id,
        "assetPresentation": "FULL",
        "audioMode": "STEREO",
        "audioQuality": quality,
        "manifestMimeType": mime,
        "manifestHash": hashlib.sha256(encoded.encode()).hexdigest(),
        "manifest": encoded,
        "albumReplayGain": -9.5,
        "albumPeakAmplitude": 0.98,
        "trackReplayGain": -9.5,
        "trackPeakAmplitude": 0.98,
        "bitDepth": 16,
        "sampleRate": SAMPLE_RATE,
    }


def _bts_manifest(base_url: str, track: Track) -> str:
    return json.dumps(
        {
            "mimeType": "audio/flac",
            "codecs": "flac",
            "encryptionType": "NONE",
            "urls": [whole_file_url(base_url, track.id)],
        }
    )


def _dash_manifest(base_url: str, track: Track) -> str:
    frames = round(track.audio_seconds * SAMPLE_RATE)
    per_segment = -(-frames // DASH_SEGMENTS)
    # One <S> with r = segments - 1: tidalapi counts init + segments URLs from it.
    return (
        f"{_XML_DECLARATION}"
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"'
        ' profiles="urn:mpeg:dash:profile:isoff-main:2011" type="static" minBufferTime="PT2S"'
        f' mediaPresentationDuration="PT{track.audio_seconds:.3f}S">'
        '<Period id="0"><AdaptationSet id="0" contentType="audio" mimeType="audio/flac"'
        ' segmentAlignment="true">'
        f'<Representation id="FLAC,{SAMPLE_RATE},16" codecs="flac" bandwidth="256000"'
        f' audioSamplingRate="{SAMPLE_RATE}">'
        f'<SegmentTemplate timescale="{SAMPLE_RATE}"'
        f' initialization="{dash_part_url(base_url, track.id, 0)}"'
        f' media="{dash_part_url(base_url, track.id, "$Number$")}" startNumber="1">'
        f'<SegmentTimeline><S d="{per_segment}" r="{DASH_SEGMENTS - 1}"/></SegmentTimeline>'
        "</SegmentTemplate></Representation></AdaptationSet></Period></MPD>"
    )
