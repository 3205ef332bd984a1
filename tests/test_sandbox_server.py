"""The sandbox TIDAL, driven by the real tidalapi over HTTP."""

from __future__ import annotations

import dataclasses
import http.client
import io
import json
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import av
import pytest
import requests
import tidalapi
from tidalapi.exceptions import ObjectNotFound, TooManyRequests

from tests.fixtures.sandbox import logged_in_session, sandbox_session
from tests.fixtures.sync import REPO
from tidal_sync_assets.sandbox.catalog import (
    DEMO_CATALOG_PATH,
    Catalog,
    Playlist,
    load_catalog,
    synthetic_catalog,
)
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.server import SandboxServer

WARM_UP = "5a1d0b00-0000-4000-8000-000000000001"
UNSTREAMABLE_TRACK = 1042


def download(url: str) -> bytes:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    assert int(response.headers["Content-Length"]) == len(response.content)
    return response.content


def audio_seconds(data: bytes) -> float:
    """The length of the audio in ``data``, as FFmpeg decodes it."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


# Login and the session file ------------------------------------------------------------------


def test_device_login_writes_a_private_session_file_that_logs_in_again(
    sandbox: SandboxServer, sandbox_session_file: Path, tmp_path: Path
) -> None:
    assert sandbox_session_file.stat().st_mode & 0o777 == 0o600
    saved = json.loads(sandbox_session_file.read_text())
    assert saved["token_type"]["data"] == "Bearer"

    again = sandbox_session(sandbox.base_url, tmp_path / "again.json")
    assert again.login_session_file(sandbox_session_file, fn_print=pytest.fail)
    assert again.user is not None and again.user.id == sandbox.catalog.user.id


def test_a_session_file_survives_a_sandbox_restart(sandbox_session_file: Path) -> None:
    with SandboxServer(load_catalog(DEMO_CATALOG_PATH)) as restarted:
        session = sandbox_session(restarted.base_url, sandbox_session_file)
        assert session.load_session_from_file(sandbox_session_file)
        assert session.check_login()


def test_requests_without_a_valid_token_are_refused(sandbox: SandboxServer) -> None:
    missing = requests.get(f"{sandbox.base_url}/v1/tracks/1001", timeout=5)
    forged = requests.get(
        f"{sandbox.base_url}/v1/tracks/1001",
        timeout=5,
        headers={"Authorization": "Bearer sbx-at.e30.0000"},
    )
    assert (missing.status_code, forged.status_code) == (401, 401)


# The catalog through tidalapi ----------------------------------------------------------------


def test_the_user_sees_own_and_favourite_playlists_with_hostile_names_intact(
    sandbox_tidal_session: tidalapi.Session,
) -> None:
    user = sandbox_tidal_session.user
    assert isinstance(user, tidalapi.LoggedInUser)
    own = user.playlists()
    listed = user.playlist_and_favorite_playlists()
    favourites_v2 = user.favorites.playlists()

    own_names = {p.name for p in own}
    assert len(own) == 11 and all(isinstance(p, tidalapi.UserPlaylist) for p in own)
    assert {
        "AC/DC Essentials",
        "..",
        "CON",
        "Late Night.",
        "Deep House",
        "deep house",
        "🔥 夜のドライブ",
    } <= own_names
    nfd = "Cafe\u0301 del Mar"
    assert nfd in own_names and unicodedata.normalize("NFC", nfd) not in own_names
    assert any(len(name.encode()) > 255 for name in own_names if name)
    assert {p.name for p in listed} == {p.name for p in favourites_v2}
    assert "Label Picks: Spring 2024" in {p.name for p in listed} - own_names


def test_a_playlist_carries_its_etag_counts_and_duplicates(
    sandbox_tidal_session: tidalapi.Session,
) -> None:
    playlist = sandbox_tidal_session.playlist(WARM_UP)
    tracks = playlist.tracks()
    ids = [t.id for t in tracks]
    assert playlist.num_tracks == len(tracks) == 11
    assert playlist._etag and playlist.last_updated is not None
    assert len(ids) > len(set(ids)), "the demo's Warm Up holds a track twice"
    assert all(t.isrc and t.album and t.artist for t in tracks)
    with pytest.raises(ObjectNotFound):
        sandbox_tidal_session.playlist("00000000-0000-4000-8000-000000000000")


def test_a_2500_track_playlist_is_fetched_page_by_page(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    track_ids = [t.id for t in sandbox.catalog.tracks()]
    order = tuple(track_ids[i % len(track_ids)] for i in range(2500))
    big = Playlist(
        uuid="b16b16b1-0000-4000-8000-000000002500",
        title="Marathon",
        description="",
        last_updated=sandbox.catalog.playlists()[0].last_updated,
        creator=sandbox.catalog.user.id,
        track_ids=order,
    )
    sandbox.catalog.put_playlist(big)

    playlist = sandbox_tidal_session.playlist(big.uuid)
    fetched: list[int] = []
    while len(fetched) < playlist.num_tracks:
        fetched += [t.id for t in playlist.tracks(limit=1000, offset=len(fetched))]
    assert tuple(fetched) == order
    assert len(playlist.items(limit=500, offset=2450)) == 50
    assert len(playlist.items(limit=500)) == 100, "/items pages are capped at 100"


def test_changing_a_playlist_moves_last_updated_and_the_etag(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    before = sandbox_tidal_session.playlist(WARM_UP)
    sandbox.catalog.rename_playlist(WARM_UP, "Warm Up (Sunday)")
    sandbox.catalog.remove_playlist_tracks(WARM_UP, [1003])
    after = sandbox_tidal_session.playlist(WARM_UP)
    assert after.name == "Warm Up (Sunday)"
    assert after.num_tracks == before.num_tracks - 2
    assert after.last_updated and before.last_updated
    assert after.last_updated > before.last_updated and after._etag != before._etag


# Streams and audio ---------------------------------------------------------------------------


def test_a_device_code_session_asking_lossless_gets_distinct_aac_over_bts(
    sandbox_tidal_session: tidalapi.Session,
) -> None:
    files = []
    for track_id in (1001, 1004):  # releases without a hi-res master
        stream = sandbox_tidal_session.track(str(track_id)).get_stream()
        manifest = stream.get_stream_manifest()
        assert stream.is_bts and stream.audio_quality == "HIGH"
        assert (manifest.codecs, manifest.mime_type) == ("MP4A", "audio/mp4")
        files.append(download(manifest.urls[0]))
    assert files[0] != files[1]
    assert all(0.5 < audio_seconds(f) < 3 for f in files)


def test_a_hi_res_dash_stream_reassembles_into_one_fragmented_mp4_of_flac(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    session = logged_in_session(
        sandbox.base_url, tmp_path / "session.json", quality="HI_RES_LOSSLESS"
    )
    stream = session.track("1002").get_stream()
    manifest = stream.get_stream_manifest()
    assert stream.is_mpd and manifest.codecs == "FLAC" and len(manifest.urls) > 2
    assert stream.audio_quality == "HI_RES_LOSSLESS" and stream.bit_depth == 24

    whole = b"".join(download(url) for url in manifest.urls)
    assert whole[4:8] == b"ftyp" and b"moof" in whole
    assert 1.4 < audio_seconds(whole) < 1.6


def test_an_audio_url_without_its_signature_is_forbidden(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    url = sandbox_tidal_session.track("1001").get_stream().get_stream_manifest().urls[0]
    assert requests.get(url, timeout=5).status_code == 200
    assert requests.get(url.partition("?")[0], timeout=5).status_code == 403
    sandbox.signer.lifetime_seconds = -1
    url = sandbox_tidal_session.track("1001").get_stream().get_stream_manifest().urls[0]
    assert requests.get(url, timeout=5).status_code == 403


def url_expiry(session: tidalapi.Session) -> tuple[str, float]:
    """A fresh signed audio URL of track 1001, and when it expires (epoch seconds)."""
    url: str = session.track("1001").get_stream().get_stream_manifest().urls[0]
    match = re.search(r"exp=(\d+)", url)
    assert match, url
    return url, int(match[1]) / 1000


def test_the_sandbox_command_sets_how_long_audio_urls_stay_valid(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tidal_sync_assets.cli", "sandbox", "--port", "0"]
    server = subprocess.Popen(
        [*command, "--catalog", str(DEMO_CATALOG_PATH), "--url-seconds", "1.5"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = re.search(r"listening on (http://\S+)", server.stdout.readline())
        assert base, "the sandbox did not say where it listens"
        session = logged_in_session(base[1], tmp_path / "session.json")

        asked = time.time()
        url, expires = url_expiry(session)
        assert asked + 1.5 - 0.002 <= expires <= time.time() + 1.5
        time.sleep(max(0.0, expires - time.time()) + 0.05)
        assert requests.get(url, timeout=5).status_code == 403

        # Over the control API too, for the URLs signed from then on.
        settings = f"{base[1]}/_sandbox/settings"
        assert requests.get(settings, timeout=5).json() == {"url_seconds": 1.5}
        changed = requests.put(settings, json={"url_seconds": 600}, timeout=5)
        assert changed.json() == {"url_seconds": 600}
        asked = time.time()
        url, expires = url_expiry(session)
        assert expires >= asked + 600 - 0.002
        assert requests.get(url, timeout=5).status_code == 200
        refused = requests.put(settings, json={"url_seconds": 0}, timeout=5)
        assert refused.status_code == 400
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def test_an_unavailable_track_answers_like_tidal(sandbox_tidal_session: tidalapi.Session) -> None:
    track = sandbox_tidal_session.track(str(UNSTREAMABLE_TRACK))
    assert not track.allow_streaming
    with pytest.raises(requests.HTTPError) as refused:
        track.get_stream()
    answer = refused.value.response
    assert answer is not None and answer.status_code == 401
    assert answer.json()["subStatus"] == 4005


# Faults --------------------------------------------------------------------------------------


def test_429_carries_retry_after_to_tidalapi(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    # One second: the product's limiter then holds every request that long (tidalapi's
    # "no header" is -1, so 1 still shows the value came through).
    sandbox.faults.add(FaultRule(path=r"^/v1/tracks/1001\b", status=429, retry_after=1))
    with pytest.raises(TooManyRequests) as limited:
        sandbox_tidal_session.track("1001")
    assert limited.value.retry_after == 1
    assert sandbox_tidal_session.track("1001").id == 1001, "the rule fires once"


def test_a_status_fault_answers_with_tidals_own_error_body(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    # A streamable track refused as TIDAL refuses one it will not play to this account.
    rule: dict[str, str | int] = {
        "path": r"^/v1/tracks/1001/playback",
        "status": 401,
        "sub_status": 4005,
        "message": "Asset is not ready for playback",
    }
    added = requests.post(f"{sandbox.base_url}/_sandbox/faults", json=rule, timeout=5)
    assert added.status_code == 201
    with pytest.raises(requests.HTTPError) as refused:
        sandbox_tidal_session.track("1001").get_stream()
    answer = refused.value.response
    assert answer is not None and answer.status_code == 401
    unstreamable = sandbox_tidal_session.track(str(UNSTREAMABLE_TRACK))
    with pytest.raises(requests.HTTPError) as genuine:
        unstreamable.get_stream()
    assert genuine.value.response is not None
    assert answer.json() == genuine.value.response.json()


def test_a_short_page_skips_items_but_still_announces_them_all(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    user = sandbox_tidal_session.user
    assert user is not None
    path = f"users/{user.id}/playlists"
    whole = sandbox_tidal_session.request.request("GET", path).json()
    sandbox.faults.add(FaultRule(path=r"^/v1/users/\d+/playlists", kind="short", drop_items=1))

    short = sandbox_tidal_session.request.request("GET", path).json()

    assert short["totalNumberOfItems"] == whole["totalNumberOfItems"] == len(whole["items"])
    assert short["items"] == whole["items"][1:]
    again = sandbox_tidal_session.request.request("GET", path).json()
    assert again["items"] == whole["items"], "the rule fires once"


def test_5xx_fires_as_many_times_as_asked(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    sandbox.faults.add(FaultRule(path="/v1/playlists/", status=503, times=2))
    for _ in range(2):
        with pytest.raises(requests.HTTPError):
            sandbox_tidal_session.playlist(WARM_UP)
    assert sandbox_tidal_session.playlist(WARM_UP).name == "Warm Up"
    assert [s for _, p, s in sandbox.request_log if p.startswith("/v1/playlists/")] == [
        503,
        503,
        200,
        200,
    ]  # the last: UserPlaylist re-reads itself


def test_a_truncated_body_is_shorter_than_its_content_length(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    url = sandbox_tidal_session.track("1001").get_stream().get_stream_manifest().urls[0]
    sandbox.faults.add(FaultRule(path=r"^/_audio/", kind="truncate", after_bytes=1000))
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=5)
    parts = urlsplit(url)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    connection.close()
    assert len(cut.value.partial) == 1000 < int(response.headers["Content-Length"])
    sandbox.faults.add(FaultRule(path=r"^/_audio/", kind="truncate", after_bytes=1000))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=5)


def test_an_expired_token_is_refreshed_by_tidalapi(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    old_token = sandbox_tidal_session.access_token
    sandbox.faults.add(FaultRule(path=r"^/v1/tracks/1002\b", kind="expire_token"))
    assert sandbox_tidal_session.track("1002").id == 1002
    assert sandbox_tidal_session.access_token != old_token
    calls = [(m, p.partition("?")[0], s) for m, p, s in sandbox.request_log[-3:]]
    assert calls == [
        ("GET", "/v1/tracks/1002", 401),
        ("POST", "/v1/oauth2/token", 200),
        ("GET", "/v1/tracks/1002", 200),
    ]
    expired = requests.get(
        f"{sandbox.base_url}/v1/tracks/1002",
        timeout=5,
        headers={"Authorization": f"Bearer {old_token}"},
    )
    assert expired.json()["userMessage"].startswith("The token has expired.")


def test_slow_and_reset_connections(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    url = sandbox_tidal_session.track("1001").get_stream().get_stream_manifest().urls[0]
    sandbox.faults.add(FaultRule(path="^/_audio/", kind="slow", delay=0.5))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, timeout=0.1)
    sandbox.faults.add(FaultRule(path="^/_audio/", kind="slow", delay=0.2, during_body=True))
    assert audio_seconds(download(url)) > 0.5
    sandbox.faults.add(FaultRule(path="^/_audio/", kind="reset"))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, timeout=5)
    assert sandbox.request_log[-1] == ("GET", "/_audio/1001/aac320.mp4?token=***", 0)


def test_a_client_that_hangs_up_mid_answer_prints_nothing(
    sandbox: SandboxServer,
    sandbox_tidal_session: tidalapi.Session,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Sandbox and sync share a process in the tests: a traceback here lands in the sync's stderr.
    url = urlsplit(sandbox_tidal_session.track("1001").get_stream().get_stream_manifest().urls[0])
    sandbox.faults.add(FaultRule(path="^/_audio/", kind="slow", delay=0.3, during_body=True))
    with socket.create_connection((url.hostname, url.port)) as client:
        client.sendall(f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        client.recv(1)  # the headers have started: the body follows after the delay
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.6)
    assert sandbox.request_log[-1][1].startswith("/_audio/1001/")
    assert "Traceback" not in capfd.readouterr().err


def test_tokens_never_reach_the_request_log(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    token = sandbox_tidal_session.access_token
    assert token is not None
    requests.get(f"{sandbox.base_url}/v1/sessions?access_token={token}", timeout=5)
    assert not any(token in path for _, path, _ in sandbox.request_log)


# Control over HTTP ---------------------------------------------------------------------------


def test_a_separate_process_can_drive_faults_and_the_catalog_over_http(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    control = f"{sandbox.base_url}/_sandbox"
    rule: dict[str, str | int] = {"path": "^/v1/tracks/1003", "kind": "status", "status": 500}
    assert requests.post(f"{control}/faults", json=rule, timeout=5).status_code == 201
    with pytest.raises(requests.HTTPError):
        sandbox_tidal_session.track("1003")

    changed = requests.post(
        f"{control}/catalog/playlists/{WARM_UP}",
        timeout=5,
        json={"title": "Opening Set", "tracks": [1001, 1002]},
    )
    assert changed.status_code == 200
    playlist = sandbox_tidal_session.playlist(WARM_UP)
    assert (playlist.name, [t.id for t in playlist.tracks()]) == ("Opening Set", [1001, 1002])

    logged = requests.get(f"{control}/requests", timeout=5).json()["requests"]
    assert {
        "method": "GET",
        "path": "/v1/tracks/1003?sessionId="
        + str(sandbox_tidal_session.session_id)
        + "&countryCode=US&limit=1000",
        "status": 500,
    } in logged
    assert requests.delete(f"{control}/faults", timeout=5).json() == {"faults": []}
    bad = requests.post(f"{control}/catalog/playlists/{WARM_UP}", json={"tracks": [1]}, timeout=5)
    assert bad.status_code == 400


# Scale ---------------------------------------------------------------------------------------


def test_a_benchmark_catalog_is_served_whole(tmp_path: Path) -> None:
    catalog: Catalog = synthetic_catalog(1000, 50_000, entries_per_track=3, seed=1)
    assert len(catalog.playlists()) == 1000 and len(catalog.tracks()) == 50_000

    with SandboxServer(catalog) as sandbox:
        session = logged_in_session(sandbox.base_url, tmp_path / "session.json")
        largest = max(catalog.playlists(), key=lambda p: len(p.track_ids))
        listing = session.request.request("GET", f"users/{catalog.user.id}/playlists").json()
        tracks = session.request.request("GET", f"playlists/{largest.uuid}/tracks").json()
    assert listing["totalNumberOfItems"] == 1000
    assert [t["id"] for t in tracks["items"]] == list(largest.track_ids)


def test_an_album_counts_its_tracks_and_follows_a_replaced_track(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    catalog = sandbox.catalog
    first = next(t for t in catalog.tracks() if t.album == "Sandbox Sessions Vol. 1")
    album = sandbox_tidal_session.album(catalog.album_id(first))
    same_album = [t for t in catalog.tracks() if catalog.album_id(t) == album.id]
    assert len(same_album) == 3
    assert (album.name, album.num_tracks) == (first.album, len(same_album))
    assert album.artist is not None and album.artist.name == first.album_artist

    catalog.put_track(dataclasses.replace(first, album="Elsewhere", album_artist="Someone"))
    moved = sandbox_tidal_session.album(catalog.album_id(catalog.track(first.id) or first))
    assert (moved.name, moved.num_tracks) == ("Elsewhere", 1)
    assert moved.artist is not None and moved.artist.name == "Someone"
    assert sandbox_tidal_session.album(album.id).num_tracks == len(same_album) - 1


def test_a_tracks_album_carries_no_artist_or_release_date_the_albums_own_document_does(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    # As on TIDAL: a track's (or a playlist entry's) album is id, title and cover only.
    track = sandbox_tidal_session.track("1001")
    assert track.album is not None and track.album.cover
    assert track.album.release_date is None
    album = sandbox_tidal_session.album(str(track.album.id))
    expected = sandbox.catalog.track(1001)
    assert expected is not None
    assert album.release_date is not None
    assert album.release_date.date().isoformat() == expected.release_date
    assert album.artist is not None and album.artist.name == expected.album_artist
    assert album.cover == track.album.cover


def test_favourite_tracks_carry_when_each_was_added_and_a_new_one_comes_first(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    catalog = sandbox.catalog
    for track in (1003, 1002, 1001):
        catalog.add_favorite_track(track)
    path = f"users/{catalog.user.id}/favorites/tracks"

    def listed(**params: str) -> list[tuple[int, str]]:
        body = sandbox_tidal_session.request.request("GET", path, params=params).json()
        return [(item["item"]["id"], item["created"]) for item in body["items"]]

    newest_first = listed(order="DATE", orderDirection="DESC")
    assert [t for t, _ in newest_first] == [1001, 1002, 1003]
    added = {t: created for t, created in newest_first}
    assert added[1001] > added[1002] > added[1003]
    assert [t for t, _ in listed(order="DATE", orderDirection="ASC")] == [1003, 1002, 1001]
    title = {t.id: t.title.casefold() for t in catalog.tracks()}
    by_name = [title[t] for t, _ in listed(order="NAME", orderDirection="ASC")]
    assert by_name == sorted(title[t] for t in (1001, 1002, 1003))

    catalog.remove_favorite_track(1002)
    catalog.add_favorite_track(1002)  # favourited again: now the newest, a new date
    again = listed(order="DATE", orderDirection="DESC")
    assert [t for t, _ in again] == [1002, 1001, 1003]
    assert dict(again)[1001] == added[1001], "the others keep when they were added"
    assert dict(again)[1002] > added[1001]


def test_an_albums_cover_is_served_until_the_album_has_no_track(
    sandbox: SandboxServer, sandbox_tidal_session: tidalapi.Session
) -> None:
    catalog = sandbox.catalog
    track = catalog.track(1001)
    assert track is not None
    album = sandbox_tidal_session.album(catalog.album_id(track))
    url = album.image(640)

    def status(of: str) -> int:
        return sandbox_tidal_session.request_session.get(of, timeout=10).status_code

    cover = sandbox_tidal_session.request_session.get(url, timeout=10)
    assert (cover.status_code, cover.content[:3]) == (200, b"\xff\xd8\xff")  # a JPEG
    assert status(url.replace(album.cover.replace("-", "/"), "0000/0000/0000/0000")) == 404
    # A new album is numbered after the first cover was asked for: its cover is known too.
    catalog.put_track(dataclasses.replace(track, album="A New Album", album_artist="New"))
    moved = sandbox_tidal_session.album(catalog.album_id(catalog.track(1001) or track))
    assert status(moved.image(640)) == 200
    # An album none of whose tracks is left has no cover to serve.
    for left in [t for t in catalog.tracks() if catalog.album_id(t) == album.id]:
        catalog.put_track(dataclasses.replace(left, album="A New Album", album_artist="New"))
    assert status(url) == 404
