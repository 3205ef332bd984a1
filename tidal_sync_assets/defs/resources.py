"""Dagster resources: the product database, TIDAL, the library on disk, and the
run's diff memo.

Every field that has an environment variable takes its default and its doc from the
configuration table (:data:`~tidal_sync_assets.settings.SETTINGS`) and reads its value
through the table's parser, so the command line and the code location agree on
defaults and on what a bad value is. :func:`resources_from_env` binds each variable
that is set as an ``EnvVar`` (the UI shows the variable's name, never its value) when
the definitions load; the launchpad can override any field per run. Nothing here
connects or touches the disk until an asset asks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

import tidalapi
from dagster import ConfigurableResource, EnvVar, InitResourceContext
from pydantic import Field, PrivateAttr
from sqlalchemy import Engine

from tidal_sync_assets.database import make_engine
from tidal_sync_assets.database.migrations import upgrade
from tidal_sync_assets.planning.guard import DEFAULT_MAX_REMOVAL_SHARE
from tidal_sync_assets.services.plan import DiffMemo
from tidal_sync_assets.settings import (
    SETTING,
    SETTINGS,
    KeyNotation,
    LinkMode,
    M3U8Paths,
    Quality,
    Setting,
    default_database_url,
    rekordbox_xml_path,
)
from tidal_sync_assets.tidal.http import RetryPolicy
from tidal_sync_assets.tidal.ratelimit import RateLimiter
from tidal_sync_assets.tidal.session import open_session


def _from_table(name: str) -> Any:
    """A resource field for the table's setting ``name``: its default and its doc."""
    setting = SETTING[name]
    value = setting.read(None)
    # Numbers and switches are typed fields; anything else is kept as the text a user
    # types (a relative path stays relative until the asset that uses it runs).
    default = value if isinstance(value, int | float) else setting.default
    return Field(default=default, description=f"{setting.doc} (`{setting.variable}`)")


def _read(name: str, value: object) -> Any:
    """``value`` (a field's text or number) through the table's parser for ``name``."""
    return SETTING[name].read(None if value is None else str(value))


@cache
def _migrated_engine(url: str) -> Engine:
    # Once per process and URL: connect, then upgrade to head before any sync.
    engine = make_engine(url)
    upgrade(engine)
    return engine


class DatabaseResource(ConfigurableResource):
    """The product database, migrated to head on first use."""

    url: str | None = _from_table("database_url")

    def engine(self) -> Engine:
        return _migrated_engine(self.url or default_database_url())


class TidalResource(ConfigurableResource):
    """A logged-in TIDAL session built from the session file; no I/O until ``open``."""

    session_file: str = _from_table("session_file")
    api_base: str | None = _from_table("api_base")
    quality: str = _from_table("quality")
    min_quality: str | None = _from_table("min_quality")  # a lower delivery fails the track
    download_workers: int = _from_table("download_workers")
    favorite_tracks: bool = _from_table("favorite_tracks")
    include_favourites: bool = _from_table("favorite_playlists")
    requests_per_second: float = _from_table("rate_limit")
    cdn_requests_per_second: float = _from_table("cdn_rate_limit")  # audio downloads
    timeout_seconds: float = _from_table("http_timeout")  # per request: connect, each read
    patience_seconds: int = _from_table("patience")  # how long one request keeps being retried
    retry_backoff_seconds: float = 0.5  # doubles per attempt, with jitter

    def open(self) -> tidalapi.Session:
        return open_session(
            _read("session_file", self.session_file),
            self.api_base or None,
            timeout=_read("http_timeout", self.timeout_seconds),
            limiter=RateLimiter(_read("rate_limit", self.requests_per_second)),
            cdn_limiter=RateLimiter(_read("cdn_rate_limit", self.cdn_requests_per_second)),
            retry=RetryPolicy(
                patience=self.patience_seconds, backoff_base=self.retry_backoff_seconds
            ),
        )

    def checked_quality(self) -> Quality:
        return cast(Quality, _read("quality", self.quality))

    def checked_min_quality(self) -> Quality | None:
        return cast("Quality | None", _read("min_quality", self.min_quality))


class LibraryResource(ConfigurableResource):
    """The library root, how links are made, the DJ export; guard thresholds for removals."""

    root: str = _from_table("library_root")
    link_mode: str = _from_table("link_mode")
    rekordbox_xml: str | None = _from_table("rekordbox_xml")
    key_notation: str = _from_table("key_notation")
    m3u8_paths: str = _from_table("m3u8_paths")
    max_removal_share: float = DEFAULT_MAX_REMOVAL_SHARE

    def root_path(self) -> Path:
        path: Path = _read("library_root", self.root)
        return path

    def checked_link_mode(self) -> LinkMode:
        return cast(LinkMode, _read("link_mode", self.link_mode))

    def checked_key_notation(self) -> KeyNotation:
        return cast(KeyNotation, _read("key_notation", self.key_notation))

    def checked_m3u8_paths(self) -> M3U8Paths:
        return cast(M3U8Paths, _read("m3u8_paths", self.m3u8_paths))

    def rekordbox_xml_path(self) -> Path | None:
        """Where the Rekordbox XML goes; None: nowhere (``off``)."""
        return rekordbox_xml_path(_read("rekordbox_xml", self.rekordbox_xml), self.root_path())


class DiffMemoResource(ConfigurableResource):
    """One run's ``DiffMemo``: ``library_diff`` keeps its diff there and ``dedup_plan``
    takes it. Set up empty for each run (each step process, under the multiprocess
    executor, so there a step computes the diff itself)."""

    _memo: DiffMemo = PrivateAttr(default_factory=DiffMemo)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._memo = DiffMemo()

    def memo(self) -> DiffMemo:
        return self._memo


def _bind(setting: Setting, text: str) -> Any:
    # Checked now, so a bad value fails the definitions' load with the variable named.
    value = setting.read(text)
    if isinstance(value, bool | float):
        return value  # EnvVar carries text and whole numbers only: the value itself
    if isinstance(value, int):
        return EnvVar.int(setting.variable)
    return EnvVar(setting.variable)


def resources_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The resources the definitions bind: each variable that is set tied to its field.

    A variable that is unset is not bound (``EnvVar`` insists its variable exists): the
    field's default, the table's, applies.
    """
    environ = os.environ if environ is None else environ
    fields: dict[str, dict[str, Any]] = {"database": {}, "tidal": {}, "library": {}}
    for setting in SETTINGS:
        text = environ.get(setting.variable)
        if setting.resource is not None and text:
            resource, field = setting.resource.split(".")
            fields[resource][field] = _bind(setting, text)
    return {
        "database": DatabaseResource(**fields["database"]),
        "tidal": TidalResource(**fields["tidal"]),
        "library": LibraryResource(**fields["library"]),
    }
