"""How every HTTP request to TIDAL is sent: rate limit, timeout, retries, counting.

``TidalAdapter`` is mounted on tidalapi's ``requests.Session`` so that the
calls tidalapi makes itself (API, token refresh, device login) and the audio
downloads all get the same policy: one token bucket, a default timeout, 429
answered by waiting out ``Retry-After`` (each wait capped), 5xx / connection
errors / timeouts retried with exponential backoff and jitter, all of it
budgeted by time (the patience), and a count of the requests actually sent.

Retrying is tenacity's: a time budget (``stop_before_delay``), a wait chosen
per failure, a hook that says what is being waited for. urllib3's own
``Retry`` does not fit: it counts attempts, not time, and its retries would
bypass the rate limit, the request count and the re-read of a body cut short.

It also owns how a failed request is described to people: by origin and a
short reason, never by URL, header or body, so no token can leak.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_before_delay,
    stop_when_event_set,
    wait_exponential_jitter,
)
from tidalapi.exceptions import TooManyRequests

from tidal_sync_assets.tidal.ratelimit import RateLimiter

log = logging.getLogger(__name__)
#: Where the product says it is waiting for TIDAL; the CLI shows this logger on the terminal.
WAITS = logging.getLogger("tidal_sync_assets.waits")

# A body cut short (ChunkedEncodingError) is transient too: the next try may get it whole.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

DEFAULT_PATIENCE = 300  # seconds: real rate limits last from seconds to minutes


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying one request (seconds): the patience, backoff, Retry-After cap."""

    patience: float = DEFAULT_PATIENCE
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_cap: float = 120.0


class OutOfPatience(requests.RequestException):
    """TIDAL kept refusing a request for longer than the patience allows."""

    def __init__(self, reason: str, patience: float, request: requests.PreparedRequest) -> None:
        super().__init__(
            f"{reason} for longer than the {patience:g} s TIDAL_SYNC_PATIENCE allows",
            request=request,
        )


class Abandoned(requests.RequestException):
    """The command is being stopped: no request is sent to TIDAL any more, and nothing
    waits for it (a rate limit, a retry) any longer."""

    def __init__(self, request: requests.PreparedRequest) -> None:
        super().__init__("stopped while waiting for TIDAL", request=request)


class _Refused(Exception):
    """A response worth asking again for (429, 5xx); carries the response."""

    def __init__(self, response: requests.Response, wait: float | None) -> None:
        super().__init__(response.status_code)
        self.response = response
        self.wait = wait  # what Retry-After asked for, capped; None: back off


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
        self._backoff = wait_exponential_jitter(
            initial=policy.backoff_base, max=policy.backoff_max, jitter=policy.backoff_base
        )
        self._abandoned = threading.Event()
        self._pool_keys: dict[tuple[object, ...], tuple[dict[str, Any], dict[str, Any]]] = {}

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """requests' pool key, worked out once per origin and TLS setting: with a CA
        bundle set (``REQUESTS_CA_BUNDLE``), requests asks the disk whether it is a folder
        on every request, a tenth of a snapshot fetch's own time."""
        parts = urlsplit(request.url or "")
        key = (parts.scheme, parts.netloc, verify, cert)
        found = self._pool_keys.get(key)
        if found is None:
            found = super().build_connection_pool_key_attributes(request, verify, cert)
            self._pool_keys[key] = found
        return dict(found[0]), dict(found[1])

    def abandon(self) -> None:
        """From now on every request through this adapter ends at once as ``Abandoned``,
        and every wait (the rate limit, a ``Retry-After``, a backoff) ends early: a stopped
        sync must not sit out TIDAL's outage first (the patience is minutes)."""
        self._abandoned.set()

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

        def attempt() -> requests.Response:
            self.limiter.acquire(self._abandoned)
            if self._abandoned.is_set():
                raise Abandoned(request)
            with self._count_lock:
                self._count += 1
            response = super(TidalAdapter, self).send(
                request, stream, timeout, verify, cert, proxies
            )
            if not stream:
                # Read the body here so a connection cut mid-body is retried too.
                response.content  # noqa: B018
            self._raise_if_refused(response)
            return response

        retrying = Retrying(
            retry=retry_if_exception_type((_Refused, *_TRANSIENT_ERRORS)),
            stop=stop_before_delay(self.policy.patience) | stop_when_event_set(self._abandoned),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=lambda state: _announce(request, state, self.policy.patience),
            retry_error_callback=lambda state: self._give_up(request, state),
        )
        return retrying(attempt)

    def _sleep(self, seconds: float) -> None:
        self._abandoned.wait(seconds)  # a stop ends the wait

    def _raise_if_refused(self, response: requests.Response) -> None:
        status = response.status_code
        if status != 429 and status < 500:
            return
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        wait = None if asked is None else min(asked, self.policy.retry_after_cap)
        if status == 429 and wait:
            # The whole session waits, not only this request: the other threads'
            # requests would only be refused too.
            self.limiter.hold(wait)
        raise _Refused(response, wait)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Refused) and error.wait is not None:
            return error.wait
        return float(self._backoff(state))

    def _give_up(self, request: requests.PreparedRequest, state: RetryCallState) -> Any:
        """Out of patience (or none at all): the last answer, or one clear error."""
        error = state.outcome.exception() if state.outcome else None
        assert error is not None  # only failures are retried
        if self._abandoned.is_set():
            raise Abandoned(request) from None
        if self.policy.patience <= 0:
            # No patience: the caller sees TIDAL's own answer, as without retries.
            if isinstance(error, _Refused):
                return error.response
            raise error
        if isinstance(error, _Refused):
            error.response.close()
            status = error.response.status_code
            reason = "rate limited" if status == 429 else f"HTTP {status}"
        else:
            reason = describe_failure(error)
        raise OutOfPatience(reason, self.policy.patience, request) from None


def _announce(request: requests.PreparedRequest, state: RetryCallState, patience: float) -> None:
    """Say what is being waited for: on the terminal each 429 wait and the first retry of
    any other failure (TIDAL down must not look like a hang), every retry in the log."""
    wait = state.next_action.sleep if state.next_action else 0.0
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _Refused) and error.response.status_code == 429:
        WAITS.warning("rate limited by TIDAL, waiting %.0f s", max(1.0, wait))
        error.response.close()
        return
    if isinstance(error, _Refused):
        error.response.close()
        reason = f"answered {error.response.status_code}"
    else:
        reason = f"did not answer ({describe_failure(error) if error else 'unknown'})"
    if state.attempt_number == 1:
        WAITS.warning("TIDAL %s; trying again for up to %g s", reason, patience)
    log.info("TIDAL %s %s %s, retrying in %.2f s", request.method, _path(request), reason, wait)


def requests_made(request_session: requests.Session) -> int:
    """Requests sent so far through the TIDAL adapter of ``request_session`` (0 if none)."""
    adapter = request_session.get_adapter("https://")
    return adapter.requests_made if isinstance(adapter, TidalAdapter) else 0


def abandon_requests(*request_sessions: requests.Session) -> None:
    """``TidalAdapter.abandon`` on the TIDAL adapter of each of ``request_sessions``."""
    for request_session in request_sessions:
        adapter = request_session.get_adapter("https://")
        if isinstance(adapter, TidalAdapter):
            adapter.abandon()


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
    if isinstance(exc, OutOfPatience):
        return str(exc)
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
