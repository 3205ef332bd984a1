"""Fault injection: which requests the sandbox answers badly, and how.

A :class:`FaultRule` matches requests by a regular expression searched in the request target
(path and query, e.g. ``/v1/playlists/.*/tracks\\?.*offset=100``) and optionally by method.
It fires ``times`` times (``None``: on every match) and then retires. Kinds:

``status``
    answer ``status`` (429, 500, 503, ...) with a TIDAL-style JSON error body; with
    ``retry_after`` seconds a ``Retry-After`` header is sent. ``sub_status`` and
    ``message`` set the body's ``subStatus`` and ``userMessage``, e.g. TIDAL's 401 / 4005
    "Asset is not ready for playback" to a track's playback info when it will not stream
    that track to this account (a region or licence limit the track listing does not show).
``slow``
    wait ``delay`` seconds before the response, or between headers and body when
    ``during_body`` is true; the response itself is the normal one.
``truncate``
    send the normal headers (full ``Content-Length``) but only the first ``after_bytes``
    bytes of the body, then close the connection.
``expire_token``
    the access token the request carries expires now; the request gets TIDAL's 401
    "The token has expired." (a refresh then issues a new token).
``reset``
    drop the connection without answering (TCP reset).
``short``
    a JSON page that comes back short: its ``items`` lose their first ``drop_items``
    entries while ``totalNumberOfItems`` still counts them (TIDAL's paged listings have
    been seen to skip entries that exist).
``bad_manifest``
    a playback info answer whose ``manifest`` (base64 of an MPD or a JSON document) is
    cut to its first ``after_bytes`` characters: at a multiple of four it decodes to a
    document cut short, otherwise it is not valid base64 at all.

Over HTTP, ``POST /_sandbox/faults`` takes a rule as JSON with the same field names.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "slow", "truncate", "expire_token", "reset", "short", "bad_manifest"]
_KINDS: tuple[str, ...] = (
    "status",
    "slow",
    "truncate",
    "expire_token",
    "reset",
    "short",
    "bad_manifest",
)


@dataclass
class FaultRule:
    path: str
    kind: FaultKind = "status"
    method: str | None = None
    times: int | None = 1
    status: int = 503
    retry_after: int | None = None
    delay: float = 0.0
    during_body: bool = False
    after_bytes: int = 0
    drop_items: int = 1
    sub_status: int = 0
    message: str | None = None  # None: the status's usual words
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(_KINDS)}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for every match")
        self._pattern = re.compile(self.path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k[0] != "_"}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def matches(self, method: str, target: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self._pattern.search(target) is not None


class Faults:
    """The active fault rules; the first live rule that matches a request fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def fire(self, method: str, target: str) -> FaultRule | None:
        """The rule that fires for this request, if any; spends one of its ``times``."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, target):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    return rule
        return None
