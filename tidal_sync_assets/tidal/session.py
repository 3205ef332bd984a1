"""The logged-in tidalapi session: where it points, how it is loaded and kept on disk.

Owns the session file (tidalapi's own format, mode 0600, rewritten atomically
whenever tidalapi refreshes the access token), the rebasing of every TIDAL URL
onto ``TIDAL_SYNC_API_BASE`` and the errors a person sees when TIDAL cannot be
used: ``TidalLoginRequired`` and ``TidalUnavailable``. Their messages name a
file or an origin, never a token.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import tidalapi
from requests.utils import get_netrc_auth
from tidalapi.exceptions import AuthenticationError, TidalAPIError

from tidal_sync_assets.settings import Settings
from tidal_sync_assets.tidal.http import (
    RetryPolicy,
    TidalAdapter,
    abandon_requests,
    describe_failure,
    mount,
    origin_of,
)
from tidal_sync_assets.tidal.ratelimit import DEFAULT_CDN_REQUESTS_PER_SECOND, RateLimiter

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
REAL_TIDAL_ORIGIN = "https://api.tidal.com"

# Each real TIDAL URL prefix and the path it keeps under TIDAL_SYNC_API_BASE.
# The auth host is hard-coded in tidalapi (device authorization), so rebasing
# happens on every outgoing request rather than only in tidalapi's Config.
_REBASED_PREFIXES = (
    ("https://api.tidal.com/v1/", "/v1/"),
    ("https://api.tidal.com/v2/", "/v2/"),
    ("https://openapi.tidal.com/v2/", "/openapi/v2/"),
    ("https://auth.tidal.com/v1/", "/v1/"),
    ("https://resources.tidal.com/images/", "/images/"),
    ("https://login.tidal.com/", "/"),
)


class TidalLoginRequired(Exception):
    """There is no usable TIDAL login; the user has to run ``tidal-sync login``."""


class TidalUnavailable(Exception):
    """TIDAL (or the configured API base) could not be reached or kept failing."""

    def __init__(self, origin: str, reason: str) -> None:
        super().__init__(
            f"TIDAL could not be reached at {origin} ({reason}); try again later "
            "or check TIDAL_SYNC_API_BASE."
        )
        self.origin = origin
        self.reason = reason

    @classmethod
    def from_error(cls, exc: BaseException, fallback_origin: str) -> TidalUnavailable:
        """Describe a failed request without its URL, headers or body."""
        return cls(origin_of(exc) or fallback_origin, describe_failure(exc))


def rebase_url(url: str, api_base: str) -> str:
    """Move a real TIDAL API/auth URL onto ``api_base``, keeping its path."""
    base = api_base.rstrip("/")
    for prefix, path in _REBASED_PREFIXES:
        if url.startswith(prefix):
            return base + path + url[len(prefix) :]
    return url


class _TidalRequests(requests.Session):
    """A requests session that sends TIDAL API/auth URLs to ``api_base`` instead (when
    set), and reads its settings from the environment (proxies, ``no_proxy``, a CA
    bundle, ``~/.netrc``) once per origin. requests reads them again for every request:
    at thousands of downloads that cost more CPU than the requests themselves (the
    netrc lookup alone, two file checks, was a tenth of a snapshot fetch's), and a
    command's environment does not change while it runs."""

    def __init__(self, api_base: str | None = None) -> None:
        super().__init__()
        self.api_base = api_base
        self._environment: dict[tuple[object, ...], dict[str, Any]] = {}
        self._netrc: dict[tuple[str, str], Any] = {}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if (
            request.auth is None
            and self.auth is None
            and self.trust_env
            and isinstance(request.url, str)
        ):
            request.auth = self._netrc_auth(request.url)
        prepared = super().prepare_request(request)
        if self.api_base:
            prepared.url = rebase_url(prepared.url or "", self.api_base)
        return prepared

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if proxies:  # the request's own proxies: merged as requests merges them
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def _netrc_auth(self, url: str) -> Any:
        """What requests would take from ``~/.netrc`` for ``url``'s origin, looked up
        once; without an entry, an auth that leaves the request as it is (requests then
        looks no further)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._netrc:
            self._netrc[key] = get_netrc_auth(url) or _unchanged
        return self._netrc[key]


def _unchanged(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class PersistedSession(tidalapi.Session):
    """A tidalapi session that writes refreshed tokens back to its session file."""

    def __init__(self, session_file: Path, api_origin: str) -> None:
        # A fresh Config each time: tidalapi's default argument is one shared instance.
        super().__init__(tidalapi.Config())
        self.session_file = session_file
        self.api_origin = api_origin
        # Playlists are fetched from several threads: an expired token makes each of
        # them refresh; one at a time, so the file always holds the session's token.
        self._refreshing = threading.Lock()
        self.request_session = _TidalRequests()
        #: Audio from TIDAL's CDN goes through its own rate limit (see ``new_session``).
        self.audio_http = _TidalRequests()

    def token_refresh(self, refresh_token: str) -> bool:
        with self._refreshing:
            refreshed = super().token_refresh(refresh_token)
            if refreshed:
                save_session_file(self, self.session_file)
                log.info("TIDAL access token refreshed; saved to %s", self.session_file)
            return refreshed


def new_session(
    session_file: Path,
    api_base: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    limiter: RateLimiter | None = None,
    cdn_limiter: RateLimiter | None = None,
) -> PersistedSession:
    """A session that is not logged in yet, wired to ``api_base`` and the HTTP policy.

    API calls share ``limiter``; audio downloads (``audio_http``) share ``cdn_limiter``.
    """
    origin = api_base.rstrip("/") if api_base else REAL_TIDAL_ORIGIN
    session = PersistedSession(session_file, origin)
    if api_base:
        session.request_session = _TidalRequests(api_base)
    adapter = TidalAdapter(limiter or RateLimiter(), retry or RetryPolicy(), timeout)
    mount(session.request_session, adapter)
    cdn = TidalAdapter(
        cdn_limiter or RateLimiter(DEFAULT_CDN_REQUESTS_PER_SECOND), retry or RetryPolicy(), timeout
    )
    mount(session.audio_http, cdn)
    return session


def abandon_session(session: tidalapi.Session) -> None:
    """End every request of ``session`` to TIDAL at once, the API's and the audio's, and
    every wait for TIDAL (``TidalAdapter.abandon``): the command is being stopped."""
    audio = session.audio_http if isinstance(session, PersistedSession) else None
    abandon_requests(session.request_session, *([audio] if audio is not None else []))


def require_session_file(session_file: Path) -> None:
    """Raise ``TidalLoginRequired`` when there is no session file (no login yet)."""
    if not session_file.is_file():
        raise TidalLoginRequired(
            f"No TIDAL login found at {session_file}; run `tidal-sync login` first."
        )


def open_session(
    session_file: Path,
    api_base: str | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retry: RetryPolicy | None = None,
    limiter: RateLimiter | None = None,
    cdn_limiter: RateLimiter | None = None,
) -> tidalapi.Session:
    """Load the saved TIDAL login from ``session_file`` and check it with TIDAL.

    Raises ``TidalLoginRequired`` when there is no file or TIDAL rejects it, and
    ``TidalUnavailable`` when TIDAL cannot be reached.
    """
    require_session_file(session_file)
    _restrict_mode(session_file)
    session = new_session(
        session_file,
        api_base,
        timeout=timeout,
        retry=retry,
        limiter=limiter,
        cdn_limiter=cdn_limiter,
    )
    try:
        loaded = session.load_session_from_file(session_file)
    except AuthenticationError:  # the refresh token was refused
        loaded = False
    except requests.HTTPError as exc:
        if not _is_auth_error(exc):
            raise TidalUnavailable.from_error(exc, session.api_origin) from None
        loaded = False
    except (requests.RequestException, TidalAPIError, ValueError) as exc:
        raise TidalUnavailable.from_error(exc, session.api_origin) from None
    if not loaded:
        raise TidalLoginRequired(
            f"The TIDAL login in {session_file} is no longer valid; run `tidal-sync login` again."
        )
    return session


def open_configured(settings: Settings) -> tidalapi.Session:
    """``open_session`` as ``settings`` configure it: the session file, the API base, the
    timeout, both rate limits and the patience (for a command; a run has its resource)."""
    return open_session(
        settings.session_file,
        settings.api_base,
        timeout=settings.http_timeout,
        retry=RetryPolicy(patience=settings.patience),
        limiter=RateLimiter(settings.rate_limit),
        cdn_limiter=RateLimiter(settings.cdn_rate_limit),
    )


def save_session_file(session: tidalapi.Session, session_file: Path) -> None:
    """Write the session's tokens in tidalapi's session-file format, atomically, mode 0600."""
    data: dict[str, dict[str, Any]] = {
        "token_type": {"data": session.token_type},
        "session_id": {"data": session.session_id},
        "access_token": {"data": session.access_token},
        "refresh_token": {"data": session.refresh_token},
        "is_pkce": {"data": session.is_pkce},
    }
    session_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp creates the file 0600, so the tokens are never readable by others.
    fd, tmp = tempfile.mkstemp(prefix=".session-", suffix=".tmp", dir=session_file.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, session_file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _restrict_mode(session_file: Path) -> None:
    mode = stat.S_IMODE(session_file.stat().st_mode)
    if mode & 0o077:
        session_file.chmod(0o600)
        log.warning(
            "TIDAL session file %s was readable by others (mode %o); it is now 0600.",
            session_file,
            mode,
        )


def _is_auth_error(exc: requests.HTTPError) -> bool:
    return exc.response is not None and exc.response.status_code in (400, 401, 403)
