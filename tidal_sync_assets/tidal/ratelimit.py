"""The rate limits TIDAL calls go through: thread-safe token buckets.

TIDAL answers bursts with 429s and restricts accounts that pull too much too fast,
so a session has one bucket for the API and another for audio from TIDAL's CDN.

The defaults are for a real account (the README's "Polite defaults" says why each):
peers stay around one API request a second (streamrip: 60 a minute; tidal-dl-ng: 3
downloads with a few seconds between tracks). 3 API requests a second is about 1 new
track a second (a new track costs about 3 API calls: its playback info, its album, the
cover). Each DASH segment (~4 s of audio) is one CDN request, so 5 CDN requests a
second is ~20 s of audio a second, 20x real time: about 2 MB/s of CD-quality FLAC.

Twenty lines of token bucket stay hand-written: pyrate-limiter would bring its own
bucket stores and an API that changed twice in two major versions, for the same
``acquire()`` that sleeps in arrival order.
"""

from __future__ import annotations

import threading
import time

DEFAULT_REQUESTS_PER_SECOND = 3.0
DEFAULT_CDN_REQUESTS_PER_SECOND = 5.0


class RateLimiter:
    """A token bucket: ``rate`` requests per second on average, bursts up to ``burst``."""

    def __init__(self, rate: float = DEFAULT_REQUESTS_PER_SECOND, burst: float | None = None):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._tokens = self.burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event | None = None) -> float:
        """Take one token, sleeping until one is free (or until ``stop`` is set); returns
        the seconds it meant to wait."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            # A negative balance is this caller's place in the queue: later callers
            # see an even lower balance, so waits are handed out in arrival order.
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            if stop is None:
                time.sleep(wait)
            else:
                stop.wait(wait)
        return wait

    def hold(self, seconds: float) -> None:
        """Let no request through for ``seconds`` from now (TIDAL asked us to wait)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens = min(self._tokens, -seconds * self.rate)
