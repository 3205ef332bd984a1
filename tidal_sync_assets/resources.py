"""Dagster resources: the product database, TIDAL, the library on disk, and the
run's diff memo.

Each resource is configured from the SPEC's environment variables through
``EnvVar`` (so the launchpad can override them per run) and falls back to
the SPEC's defaults when a variable is unset. Nothing here connects or
touches the disk until an asset asks.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, cast

import tidalapi
from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import PrivateAttr
from sqlalchemy import Engine

from tidal_sync_assets.database import make_engine
from tidal_sync_assets.database.migrations import upgrade
from tidal_sync_assets.planning.guard import DEFAULT_MAX_REMOVAL_SHARE
from tidal_sync_assets.services.plan import DiffMemo
from tidal_sync_assets.settings import (
    LINK_MODES,
    QUALITIES,
    ConfigurationError,
    LinkMode,
    Quality,
    default_database_url,
)
from tidal_sync_assets.tidal.http import RetryPolicy
from tidal_sync_assets.tidal.ratelimit import DEFAULT_REQUESTS_PER_SECOND, RateLimiter
from tidal_sync_assets.tidal.session import DEFAULT_TIMEOUT, open_session


@cache
def _migrated_engine(url: str) -> Engine:
    # Once per process and URL: connect, then upgrade to head before any sync.
    engine = make_engine(url)
    upgrade(engine)
    return engine


class DatabaseResource(ConfigurableResource):
    """The product database (``TIDAL_SYNC_DATABASE_URL``), migrated to head on first use."""

    url: str | None = None

    def engine(self) -> Engine:
        return _migrated_engine(self.url or default_database_url())


class TidalResource(ConfigurableResource):
    """A logged-in TIDAL session built from the session file; no I/O until ``open``."""

    session_file: str = "~/.config/tidal-sync/session.json"
    api_base: str | None = None
    quality: str = "LOSSLESS"
    download_workers: int = 4
    include_favourites: bool = False
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    retry_attempts: int = 5
    retry_backoff_seconds: float = 0.5  # doubles per attempt, with jitter
    timeout_seconds: float = DEFAULT_TIMEOUT  # per request: connect, and each read

    def open(self) -> tidalapi.Session:
        return open_session(
            Path(self.session_file).expanduser(),
            self.api_base or None,
            timeout=self.timeout_seconds,
            limiter=RateLimiter(self.requests_per_second),
            retry=RetryPolicy(
                max_attempts=self.retry_attempts, backoff_base=self.retry_backoff_seconds
            ),
        )

    def checked_quality(self) -> Quality:
        if self.quality not in QUALITIES:
            raise ConfigurationError(f"quality {self.quality!r} is not one of {QUALITIES}")
        return cast(Quality, self.quality)


class LibraryResource(ConfigurableResource):
    """The library root and how links are made; guard thresholds for removals."""

    root: str = "./library"
    link_mode: str = "symlink"
    max_removal_share: float = DEFAULT_MAX_REMOVAL_SHARE

    def root_path(self) -> Path:
        return Path(self.root).expanduser().absolute()

    def checked_link_mode(self) -> LinkMode:
        if self.link_mode not in LINK_MODES:
            raise ConfigurationError(f"link mode {self.link_mode!r} is not one of {LINK_MODES}")
        return cast(LinkMode, self.link_mode)


class DiffMemoResource(ConfigurableResource):
    """One run's ``DiffMemo``: ``library_diff`` keeps its diff there and ``dedup_plan``
    takes it. Set up empty for each run (each step process, under the multiprocess
    executor, so there a step computes the diff itself)."""

    _memo: DiffMemo = PrivateAttr(default_factory=DiffMemo)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._memo = DiffMemo()

    def memo(self) -> DiffMemo:
        return self._memo


def _field(field: str, variable: str, *, kind: type = str) -> dict[str, Any]:
    # EnvVar keeps the value out of the definition (the UI shows the variable's
    # name, never a secret) but insists the variable exists; unset → the
    # resource field's own default (the SPEC's) applies.
    if not os.environ.get(variable):
        return {}
    if kind is int:
        return {field: EnvVar.int(variable)}
    if kind is float:
        return {field: float(os.environ[variable])}  # EnvVar has no float form
    return {field: EnvVar(variable)}


def resources_from_env() -> dict[str, ConfigurableResource]:
    """The resources the definitions bind, each field tied to its variable."""
    return {
        "database": DatabaseResource(**_field("url", "TIDAL_SYNC_DATABASE_URL")),
        "tidal": TidalResource(
            **_field("session_file", "TIDAL_SYNC_SESSION_FILE"),
            **_field("api_base", "TIDAL_SYNC_API_BASE"),
            **_field("quality", "TIDAL_SYNC_QUALITY"),
            **_field("download_workers", "TIDAL_SYNC_DOWNLOAD_WORKERS", kind=int),
            **_field("requests_per_second", "TIDAL_SYNC_RATE_LIMIT", kind=float),
            **_field("timeout_seconds", "TIDAL_SYNC_HTTP_TIMEOUT", kind=float),
        ),
        "library": LibraryResource(
            **_field("root", "TIDAL_SYNC_LIBRARY_ROOT"),
            **_field("link_mode", "TIDAL_SYNC_LINK_MODE"),
        ),
    }
