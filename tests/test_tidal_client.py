"""The TIDAL client against the sandbox TIDAL, over HTTP, with the real tidalapi.

Scenarios: login and the session file, paging big playlists, not fetching
unchanged playlists again, short and failing pages, 429 / 5xx / expired
tokens, and the clear sentences a person sees when TIDAL can't be used.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import tidalapi

from tests.fixtures.sandbox import BIG_PLAYLIST, track_requests
from tidal_sync_assets.sandbox.catalog import Playlist, Track
from tidal_sync_assets.sandbox.faults import FaultRule
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.tidal.fetch import FAVORITE_TRACKS_KEY, fetch_snapshot
from tidal_sync_assets.tidal.http import Abandoned, RetryPolicy, retry_after_seconds
from tidal_sync_assets.tidal.login import login
from tidal_sync_assets.tidal.ratelimit import RateLimiter
from tidal_sync_assets.tidal.session import (
    TidalLoginRequired,
    TidalUnavailable,
    abandon_session,
    open_session,
    rebase_url,
)
from tidal_sync_assets.tidal.snapshot import TidalPlaylist, TidalSnapshot

FAST_RETRY = RetryPolicy(patience=2, backoff_base=0.01, backoff_max=0.05, retry_after_cap=5)


def fast_limiter() -> RateLimiter:
    return RateLimiter(rate=10_000)


@pytest.fixture
def session_file(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """A session file written by our own device-code login against the sandbox."""
    path = tmp_path / "config" / "session.json"
    login(path, sandbox.base_url, print_fn=lambda _: None)
    return path


@pytest.fixture
def session(sandbox: SandboxServer, session_file: Path) -> tidalapi.Session:
    return open_session(session_file, sandbox.base_url, retry=FAST_RETRY, limiter=fast_limiter())


def test_login_writes_a_private_session_file_that_opens(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "new" / "session.json"
    printed: list[str] = []
    login(path, sandbox.base_url, print_fn=printed.append)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "link.tidal.com/" in printed[0]
    assert {"token_type", "access_token", "refresh_token", "session_id", "is_pkce"} <= set(
        json.loads(path.read_text())
    )
    session = open_session(path, sandbox.base_url, limiter=fast_limiter())
    assert session.check_login()
    # Every request went to the sandbox, including tidalapi's hard-coded auth URL.
    assert ("POST", "/v1/oauth2/device_authorization", 200) in sandbox.request_log


def test_a_session_file_readable_by_others_is_made_private_with_a_warning(
    sandbox: SandboxServer, session_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session_file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        open_session(session_file, sandbox.base_url, limiter=fast_limiter())
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert "0600" in caplog.text


def test_every_tidal_url_is_rebased_keeping_its_path() -> None:
    base = "http://127.0.0.1:9"
    assert rebase_url("https://api.tidal.com/v1/sessions?x=1", base) == f"{base}/v1/sessions?x=1"
    assert rebase_url("https://api.tidal.com/v2/feed", base + "/") == f"{base}/v2/feed"
    assert rebase_url("https://openapi.tidal.com/v2/tracks", base) == f"{base}/openapi/v2/tracks"
    assert rebase_url("https://auth.tidal.com/v1/oauth2/token", base) == f"{base}/v1/oauth2/token"
    assert (
        rebase_url("https://auth.tidal.com/v1/oauth2/device_authorization", base)
        == f"{base}/v1/oauth2/device_authorization"
    )
    assert rebase_url("https://cdn.example/a.flac", base) == "https://cdn.example/a.flac"


def test_a_missing_session_file_asks_for_login_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(TidalLoginRequired) as caught:
        open_session(tmp_path / "nope.json", None)
    message = str(caught.value)
    assert "`tidal-sync login`" in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_a_rejected_session_asks_for_login_again(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = tmp_path / "session.json"
    path.write_text(
        json.dumps(
            {
                "token_type": {"data": "Bearer"},
                "access_token": {"data": "forged"},
                "refresh_token": {"data": "forged-too"},
                "session_id": {"data": None},
                "is_pkce": {"data": False},
            }
        )
    )
    path.chmod(0o600)
    with pytest.raises(TidalLoginRequired, match="run `tidal-sync login` again"):
        open_session(path, sandbox.base_url, retry=FAST_RETRY, limiter=fast_limiter())


def test_an_unreachable_tidal_fails_in_one_clear_sentence(session_file: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    tokens = json.loads(session_file.read_text())
    with pytest.raises(TidalUnavailable) as caught:
        open_session(session_file, closed, retry=FAST_RETRY, limiter=fast_limiter())
    message = str(caught.value)
    assert message.startswith(
        f"TIDAL could not be reached at {closed} (connection failed for longer than the 2 s "
        "TIDAL_SYNC_PATIENCE allows)"
    )
    assert "TIDAL_SYNC_API_BASE" in message and message.endswith(".")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    for key in ("access_token", "refresh_token"):
        assert tokens[key]["data"] not in message


def test_the_environments_proxies_are_honoured_and_read_once(
    sandbox: SandboxServer, session_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a proxy nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    session = open_session(session_file, sandbox.base_url, retry=FAST_RETRY)  # bypassed
    assert session.user is not None

    monkeypatch.delenv("NO_PROXY")
    with pytest.raises(TidalUnavailable):  # the same origin, now through the dead proxy
        open_session(session_file, sandbox.base_url, retry=FAST_RETRY)
    # One session reads its environment once: what it found first still holds.
    assert session.playlist(next(iter(sandbox.catalog.listed_playlists())).uuid).name


def test_a_2500_track_playlist_is_fetched_whole_page_by_page(
    sandbox: SandboxServer, session: tidalapi.Session, big_playlist: Playlist
) -> None:
    sandbox.clear_log()
    snapshot = fetch_snapshot(session, {}, page_size=100)

    fetched = {p.tidal_id: p for p in snapshot.playlists}[BIG_PLAYLIST]
    assert fetched.complete and fetched.fetched
    assert fetched.number_of_tracks == 2_500
    assert fetched.track_ids == big_playlist.track_ids  # TIDAL order, duplicate kept
    assert fetched.last_updated == datetime(2024, 5, 1, tzinfo=UTC)
    assert len(track_requests(sandbox, BIG_PLAYLIST)) == 25
    assert snapshot.requests_made == len(sandbox.request_log)
    assert snapshot.complete
    assert snapshot.tracks[5_000_007].isrc == "QZTST0000007"


def test_tracks_are_converted_with_their_metadata_and_unavailable_ones_are_kept(
    session: tidalapi.Session,
) -> None:
    snapshot = fetch_snapshot(session, {})

    afterglow = snapshot.tracks[1001]
    assert afterglow.title == "Afterglow"
    assert afterglow.artists == ("Kollektiv Nacht", "Vela & Quinn")
    # A playlist's track JSON has no album artist: it is looked up per album when tagging.
    assert (afterglow.album, afterglow.album_artist) == ("Afterglow EP", None)
    assert afterglow.album_id is not None
    assert (afterglow.track_number, afterglow.isrc) == (1, "QZSBX2400001")
    # TIDAL's duration is the length of the audio it serves: the sandbox's 1.5 s, rounded.
    assert (afterglow.duration, afterglow.version) == (2, "Extended Mix")
    unavailable = snapshot.tracks[1042]
    assert not unavailable.allow_streaming
    assert unavailable.isrc  # still known, for matching local files
    assert snapshot.complete


def test_favourited_playlists_are_fetched_only_when_asked(session: tidalapi.Session) -> None:
    own = fetch_snapshot(session, {})
    both = fetch_snapshot(session, {}, include_favourites=True)

    assert not any(p.favourite for p in own.playlists)
    favourites = [p for p in both.playlists if p.favourite]
    assert [p.name for p in favourites] == ["Label Picks: Spring 2024"]
    assert len(both.playlists) == len(own.playlists) + 1


def test_an_unchanged_playlist_is_not_fetched_again(
    sandbox: SandboxServer, session: tidalapi.Session, big_playlist: Playlist
) -> None:
    first = fetch_snapshot(session, {})
    previous = {p.tidal_id: p for p in first.playlists}
    sandbox.clear_log()

    second = fetch_snapshot(session, previous)

    assert track_requests(sandbox) == []
    assert all(not p.fetched and p.complete for p in second.playlists)
    assert {p.tidal_id: p.track_ids for p in second.playlists} == {
        p.tidal_id: p.track_ids for p in first.playlists
    }
    assert second.requests_made == len(sandbox.request_log) == 1  # the listing page

    warm_up = "5a1d0b00-0000-4000-8000-000000000001"
    sandbox.catalog.remove_playlist_tracks(warm_up, [previous[warm_up].track_ids[0]])
    third = fetch_snapshot(session, {p.tidal_id: p for p in second.playlists})
    assert [p.tidal_id for p in third.playlists if p.fetched] == [warm_up]


def favourite_pages(sandbox: SandboxServer) -> list[str]:
    return [p for _, p, _ in sandbox.request_log if "/favorites/tracks" in p]


def favourites_of(snapshot: TidalSnapshot) -> TidalPlaylist:
    return next(p for p in snapshot.playlists if p.tidal_id == FAVORITE_TRACKS_KEY)


def test_unchanged_favourite_tracks_cost_one_page_and_any_change_fetches_them_whole(
    sandbox: SandboxServer, session: tidalapi.Session
) -> None:
    catalog = sandbox.catalog
    for track in (1001, 1002, 1003, 1004, 1005):
        catalog.add_favorite_track(track)  # 1005 is the newest

    def fetch(previous: TidalSnapshot) -> TidalPlaylist:
        known = {p.tidal_id: p for p in previous.playlists}
        sandbox.clear_log()
        return favourites_of(
            fetch_snapshot(session, known, include_favorite_tracks=True, page_size=2)
        )

    sandbox.clear_log()
    snapshot = fetch_snapshot(session, {}, include_favorite_tracks=True, page_size=2)
    first = favourites_of(snapshot)
    assert first.track_ids == (1005, 1004, 1003, 1002, 1001)
    assert len(favourite_pages(sandbox)) == 3 and first.fetched and first.complete

    quiet = fetch(snapshot)
    assert (quiet.track_ids, quiet.complete, quiet.fetched) == (first.track_ids, True, False)
    assert len(favourite_pages(sandbox)) == 1, "the first page tells nothing changed"

    # Each change is seen from the first page: an addition comes first, a removal
    # anywhere lowers the count, and both together still move the first page.
    catalog.add_favorite_track(1006)
    assert fetch(snapshot).track_ids == (1006, 1005, 1004, 1003, 1002, 1001)
    catalog.remove_favorite_track(1006)
    catalog.remove_favorite_track(1001)
    changed = fetch(snapshot)
    assert (changed.track_ids, changed.fetched) == ((1005, 1004, 1003, 1002), True)
    catalog.add_favorite_track(1001)  # one added back while another goes: same count
    catalog.remove_favorite_track(1003)
    assert fetch(snapshot).track_ids == (1001, 1005, 1004, 1002)


def test_favourite_tracks_stored_incomplete_are_fetched_whole_and_a_short_list_stays_incomplete(
    sandbox: SandboxServer, session: tidalapi.Session
) -> None:
    for track in (1001, 1002, 1003):
        sandbox.catalog.add_favorite_track(track)
    whole = fetch_snapshot(session, {}, include_favorite_tracks=True, page_size=2)
    short = dataclasses.replace(favourites_of(whole), complete=False)
    sandbox.clear_log()

    again = favourites_of(
        fetch_snapshot(session, {short.tidal_id: short}, include_favorite_tracks=True, page_size=2)
    )
    assert again.fetched and again.complete and len(favourite_pages(sandbox)) == 2

    # The list changed and its second page fails: incomplete, so it removes nothing.
    sandbox.catalog.add_favorite_track(1004)
    sandbox.faults.add(FaultRule(path=r"/favorites/tracks\?.*offset=2", status=500, times=None))
    broken = favourites_of(
        fetch_snapshot(
            session,
            {p.tidal_id: p for p in whole.playlists},
            include_favorite_tracks=True,
            page_size=2,
        )
    )
    assert (broken.fetched, broken.complete, broken.track_ids) == (True, False, (1004, 1003))


def test_an_incomplete_playlist_is_fetched_again_even_if_unchanged(
    sandbox: SandboxServer, session: tidalapi.Session
) -> None:
    warm_up = "5a1d0b00-0000-4000-8000-000000000001"
    sandbox.faults.add(
        FaultRule(
            path=f"/v1/playlists/{warm_up}/tracks", kind="truncate", after_bytes=200, times=None
        )
    )
    first = fetch_snapshot(session, {})
    sandbox.faults.clear()
    second = fetch_snapshot(session, {p.tidal_id: p for p in first.playlists})

    again = {p.tidal_id: p for p in second.playlists}[warm_up]
    assert again.fetched and again.complete


def test_a_truncated_page_marks_only_that_playlist_incomplete(
    sandbox: SandboxServer,
    session: tidalapi.Session,
    big_playlist: Playlist,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox.faults.add(
        FaultRule(
            path=f"/v1/playlists/{BIG_PLAYLIST}/tracks.*offset=300",
            kind="truncate",
            after_bytes=500,
            times=None,
        )
    )
    with caplog.at_level(logging.WARNING):
        snapshot = fetch_snapshot(session, {}, page_size=100)

    playlists = {p.tidal_id: p for p in snapshot.playlists}
    big = playlists[BIG_PLAYLIST]
    assert not big.complete
    assert big.track_ids == big_playlist.track_ids[:300]  # what came before the cut
    assert not snapshot.complete
    assert all(p.complete for uuid, p in playlists.items() if uuid != BIG_PLAYLIST)
    assert "Everything" in caplog.text and "incomplete" in caplog.text


def test_a_playlist_that_changes_while_paged_is_incomplete(
    sandbox: SandboxServer, session: tidalapi.Session, big_playlist: Playlist
) -> None:
    # A slow second page gives the catalog time to change under the fetch.
    sandbox.faults.add(
        FaultRule(path=f"/v1/playlists/{BIG_PLAYLIST}/tracks.*offset=100", kind="slow", delay=0.5)
    )
    sandbox.catalog.put_track(
        Track(
            id=42,
            title="Late Add",
            artists=("X",),
            album="A",
            album_artist="X",
            track_number=1,
            isrc="QZTST9999999",
            duration=100,
        )
    )

    def change_soon() -> None:
        time.sleep(0.2)
        sandbox.catalog.add_playlist_tracks(BIG_PLAYLIST, [42])

    changer = threading.Thread(target=change_soon)
    changer.start()
    snapshot = fetch_snapshot(session, {}, page_size=100)
    changer.join()

    assert not {p.tidal_id: p for p in snapshot.playlists}[BIG_PLAYLIST].complete


def test_a_429_is_waited_out_for_its_retry_after(
    sandbox: SandboxServer, session: tidalapi.Session
) -> None:
    sandbox.faults.add(FaultRule(path="/v1/playlists/.*/tracks", status=429, retry_after=1))
    started = time.monotonic()
    snapshot = fetch_snapshot(session, {})
    waited = time.monotonic() - started

    assert waited >= 1.0
    assert snapshot.complete
    statuses = [status for _, _, status in track_requests(sandbox)]
    assert statuses[:2] == [429, 200]


@pytest.mark.parametrize("refusal", ["429 for a minute", "503 for minutes"])
def test_an_abandoned_session_stops_waiting_for_tidal_at_once(
    sandbox: SandboxServer, session_file: Path, refusal: str
) -> None:
    # A stopped sync must not sit out TIDAL's rate limit or outage first.
    patient = RetryPolicy(patience=300, backoff_base=20, backoff_max=60, retry_after_cap=120)
    session = open_session(session_file, sandbox.base_url, retry=patient, limiter=fast_limiter())
    status, retry_after = {"429 for a minute": (429, 60), "503 for minutes": (503, None)}[refusal]
    pages = "/v1/playlists/.*/tracks"
    sandbox.faults.add(FaultRule(path=pages, status=status, retry_after=retry_after, times=None))
    snapshots: list[TidalSnapshot] = []
    fetching = threading.Thread(target=lambda: snapshots.append(fetch_snapshot(session, {})))
    fetching.start()
    while not track_requests(sandbox):
        time.sleep(0.01)
    time.sleep(0.2)  # well inside the wait now
    stopped = time.monotonic()
    asked = len(track_requests(sandbox))
    abandon_session(session)
    fetching.join(timeout=10)

    assert not fetching.is_alive(), "the fetch still waited for TIDAL after the stop"
    assert time.monotonic() - stopped < 5
    assert not snapshots[0].complete  # what was not fetched counts as not fetched
    assert len(track_requests(sandbox)) == asked  # nothing more was asked of TIDAL
    assert {s for _, _, s in track_requests(sandbox)} == {status}
    with pytest.raises(Abandoned):
        session.request_session.get(sandbox.base_url + "/v1/sessions")


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert (
        retry_after_seconds(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now)
        == 7.0
    )
    assert (
        retry_after_seconds(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now)
        == 0.0
    )
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_5xx_and_resets_are_retried(sandbox: SandboxServer, session: tidalapi.Session) -> None:
    sandbox.faults.add(FaultRule(path="/v1/playlists/.*/tracks", status=503, times=2))
    sandbox.faults.add(FaultRule(path="/v1/playlists/.*/tracks", kind="reset", times=1))
    snapshot = fetch_snapshot(session, {})

    assert snapshot.complete
    statuses = [status for _, _, status in track_requests(sandbox)]
    assert statuses[:4] == [503, 503, 0, 200]


def test_a_listing_that_keeps_failing_raises_tidal_unavailable(
    sandbox: SandboxServer, session: tidalapi.Session
) -> None:
    sandbox.faults.add(FaultRule(path="/v1/users/.*/playlists", status=503, times=None))
    started = time.monotonic()
    with pytest.raises(
        TidalUnavailable,
        match=r"reached at http://127\.0\.0\.1:\d+ \(HTTP 503 for longer "
        r"than the 2 s TIDAL_SYNC_PATIENCE allows\)",
    ):
        fetch_snapshot(session, {})
    # Retried with backoff until the patience ran out, and not much longer.
    assert time.monotonic() - started < FAST_RETRY.patience + 1
    listing = [e for e in sandbox.request_log if "/playlists?" in e[1]]
    assert len(listing) >= 3


def test_an_expired_token_is_refreshed_and_saved_without_leaking_tokens(
    sandbox: SandboxServer, session_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = json.loads(session_file.read_text())
    caplog.set_level(logging.DEBUG)
    session = open_session(session_file, sandbox.base_url, retry=FAST_RETRY, limiter=fast_limiter())
    sandbox.faults.add(FaultRule(path="/v1/playlists/.*/tracks", kind="expire_token"))

    snapshot = fetch_snapshot(session, {})

    after = json.loads(session_file.read_text())
    assert snapshot.complete
    assert after["access_token"]["data"] != before["access_token"]["data"]
    assert after["access_token"]["data"] == session.access_token
    assert after["refresh_token"] == before["refresh_token"]
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert not list(session_file.parent.glob(".session-*"))  # no temp file left behind
    secrets = {
        before["access_token"]["data"],
        after["access_token"]["data"],
        before["refresh_token"]["data"],
    }
    assert "refreshed" in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in repr(session)

    # The refreshed file opens again.
    assert open_session(session_file, sandbox.base_url, limiter=fast_limiter()).check_login()


def test_the_rate_limit_spaces_requests() -> None:
    limiter = RateLimiter(rate=50, burst=1)
    started = time.monotonic()
    for _ in range(11):
        limiter.acquire()
    assert time.monotonic() - started >= 0.19  # 10 waits of 1/50 s


def test_a_hold_keeps_every_caller_waiting_for_its_seconds() -> None:
    # A 429's Retry-After holds the session's limiter: the other threads wait it out too.
    limiter = RateLimiter(rate=1000)
    limiter.hold(0.3)
    started = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - started >= 0.29


def test_the_rate_limit_applies_to_tidal_calls(sandbox: SandboxServer, session_file: Path) -> None:
    session = open_session(session_file, sandbox.base_url, limiter=RateLimiter(rate=20, burst=1))
    started = time.monotonic()
    snapshot = fetch_snapshot(session, {})
    assert time.monotonic() - started >= (snapshot.requests_made - 1) / 20 * 0.9


def test_a_timed_out_request_is_retried(sandbox: SandboxServer, session_file: Path) -> None:
    session = open_session(
        session_file, sandbox.base_url, timeout=0.3, retry=FAST_RETRY, limiter=fast_limiter()
    )
    sandbox.faults.add(FaultRule(path="/v1/playlists/.*/tracks", kind="slow", delay=1.0))
    assert fetch_snapshot(session, {}).complete


def test_a_refused_login_during_a_fetch_asks_for_login_again(
    session: tidalapi.Session,
) -> None:
    session.access_token = "revoked"
    session.refresh_token = None
    with pytest.raises(TidalLoginRequired, match="run `tidal-sync login` again"):
        fetch_snapshot(session, {})


def test_login_against_an_unreachable_tidal_fails_clearly(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(TidalUnavailable, match="could not be reached"):
        login(tmp_path / "session.json", closed, print_fn=lambda _: None, retry=FAST_RETRY)
    assert not (tmp_path / "session.json").exists()
