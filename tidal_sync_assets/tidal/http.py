"""How every HTTP request to TIDAL is sent: rate limit, timeout, retries, counting.

``TidalAdapter`` is mounted on tidalapi's ``requests.Session`` so that the
calls tidalapi makes itself (API, token refresh, device login) and the audio
downloads all get the same policy: one shared token bucket, a default
timeout, 429 answered by waiting out ``Retry-After`` (capped), 5xx /
connection errors / timeouts retried with exponential backoff and jitter, a
bounded number of attempts, and a count of the requests actually sent.

It also owns how a failed request is described to people: by origin and a
short reason, never by URL, header or body, so no token can leak.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tidalapi.exceptions import TooManyRequests

from tidal_sync_assets.tidal.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# A body cut short (ChunkedEncodingError) is transient too: the next try may get it whole.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts per request, backoff and the Retry-After cap (seconds)."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_cap: float = 120.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for the wait after failed ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header: delay seconds or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class TidalAdapter(HTTPAdapter):
    """A transport adapter applying the rate limit, timeout and retry policy."""

    def __init__(self, limiter: RateLimiter, policy: RetryPolicy, timeout: float) -> None:
        super().__init__()
        self.limiter = limiter
        self.policy = policy
        self.timeout = timeout
        self._count = 0
        self._count_lock = threading.Lock()

    @property
    def requests_made(self) -> int:
        """How many HTTP requests this adapter has sent, retries included."""
        return self._count

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        if timeout is None:
            timeout = self.timeout
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.policy.max_attempts
            self.limiter.acquire()
            with self._count_lock:
                self._count += 1
            try:
                response = super().send(request, stream, timeout, verify, cert, proxies)
                if not stream:
                    # Read the body here so a connection cut mid-body is retried too.
                    response.content  # noqa: B018
            except _TRANSIENT_ERRORS as exc:
                if last:
                    raise
                wait = self.policy.backoff(attempt)
                log.info(
                    "TIDAL %s %s failed (%s), retrying in %.2fs",
                    request.method,
                    _path(request),
                    describe_failure(exc),
                    wait,
                )
                time.sleep(wait)
                continue
            wait_for = self._retry_wait(response, attempt)
            if wait_for is None or last:
                return response
            response.close()
            log.info(
                "TIDAL %s %s answered %d, retrying in %.2fs",
                request.method,
                _path(request),
                response.status_code,
                wait_for,
            )
            time.sleep(wait_for)

    def _retry_wait(self, response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying ``response``, or None if it is final."""
        if response.status_code == 429:
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            if asked is None:
                return self.policy.backoff(attempt)
            return min(asked, self.policy.retry_after_cap)
        if response.status_code >= 500:
            return self.policy.backoff(attempt)
        return None


def requests_made(request_session: requests.Session) -> int:
    """Requests sent so far through the TIDAL adapter of ``request_session`` (0 if none)."""
    adapter = request_session.get_adapter("https://")
    return adapter.requests_made if isinstance(adapter, TidalAdapter) else 0


def mount(request_session: requests.Session, adapter: TidalAdapter) -> None:
    """Route every http(s) request of ``request_session`` through ``adapter``."""
    request_session.mount("https://", adapter)
    request_session.mount("http://", adapter)


def origin_of(exc: BaseException) -> str | None:
    """The scheme://host[:port] a failed request went to, if the exception says."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def describe_failure(exc: BaseException) -> str:
    """A short, token-free reason for a failed TIDAL request (no URL, header or body)."""
    if isinstance(exc, TooManyRequests):
        return "rate limited (HTTP 429)"
    response = getattr(exc, "response", None)
    if isinstance(response, requests.Response) and response.status_code:
        return f"HTTP {response.status_code}"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "response cut short"
    if isinstance(exc, ValueError):
        return "unreadable response"
    return type(exc).__name__


def _path(request: requests.PreparedRequest) -> str:
    # Only the path: query strings may carry session ids.
    return urlsplit(request.url or "").path
