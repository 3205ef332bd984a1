"""The product's configuration: one table of settings, read from the environment.

:data:`SETTINGS` is the one place a setting is declared: its field, its environment
variable, its default (as a user would type it), the parser that turns text into a
value (and says what is wrong with bad text), one line of doc, and the Dagster
resource field that carries it. ``Settings.from_env()`` (the command line) and
``resources.resources_from_env()`` (the code location, through ``EnvVar`` so the
launchpad can override per run) are both built from it; the README's configuration
table is kept in step with it by ``tests/test_settings.py``.

Nothing here reads the environment at import time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dotenv import find_dotenv, load_dotenv

from tidal_sync_assets.dj.keys import KEY_NOTATIONS, KeyNotation

LinkMode = Literal["symlink", "hardlink", "copy"]
Quality = Literal["LOW", "HIGH", "LOSSLESS", "HI_RES_LOSSLESS"]

LINK_MODES: tuple[LinkMode, ...] = ("symlink", "hardlink", "copy")
QUALITIES: tuple[Quality, ...] = ("LOW", "HIGH", "LOSSLESS", "HI_RES_LOSSLESS")
# An M3U8 entry: the file in the playlist's folder (a link, or the primary), or always
# the primary (for DJ software that would import every link as a track of its own).
M3U8Paths = Literal["folder", "primary"]
M3U8_PATHS: tuple[M3U8Paths, ...] = ("folder", "primary")
OFF = "off"  # TIDAL_SYNC_REKORDBOX_XML=off: no XML is written

_ON = ("on", "true", "yes", "1")
_OFF = ("off", "false", "no", "0")


class ConfigurationError(ValueError):
    """A setting has a value the product cannot use; the message names it."""


# -- parsers: text → value, or ValueError saying what is wrong ---------------------------


def _text(text: str) -> str:
    return text


def _absolute_path(text: str) -> Path:
    return Path(text).expanduser().absolute()


def _user_path(text: str) -> Path:
    return Path(text).expanduser()


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"is not one of {', '.join(allowed)}")
        return text

    return parse


def _number(
    convert: Callable[[str], float], fits: Callable[[float], bool], says: str
) -> Callable[[str], Any]:
    """A parser of numbers ``convert`` reads and ``fits`` accepts; else ``says`` what to give."""

    def parse(text: str) -> float:
        try:
            number = convert(text)
        except ValueError:
            raise ValueError(says) from None
        if not fits(number):  # also refuses NaN
            raise ValueError(says)
        return number

    return parse


_positive_int = _number(int, lambda n: n >= 1, "must be a whole number of at least 1")
_seconds = _number(int, lambda n: n >= 0, "must be a whole number of seconds, 0 or more")
positive_number = _number(float, lambda n: n > 0, "must be a number greater than 0")


def _switch(text: str) -> bool:
    if text.lower() in _ON:
        return True
    if text.lower() in _OFF:
        return False
    raise ValueError("must be on or off")


def _xml_target(text: str) -> str:
    return OFF if text.lower() == OFF else str(_absolute_path(text))


def _cron(text: str) -> str:
    if len(text.split()) != 5:
        raise ValueError("must be a cron expression of five fields, e.g. '0 3 * * *'")
    return text


# -- the table -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the configuration table."""

    name: str  # the field of `Settings`
    variable: str
    parse: Callable[[str], Any]
    default: str | None  # as a user would type it; None: unset (see `shown`)
    doc: str
    shown: str | None = None  # the default in the README's words, when not `default`
    resource: str | None = None  # "tidal.quality": the Dagster resource field carrying it
    # Whether its value can change what a sync leaves behind (files, database, XML);
    # False: only how fast, how patiently or when a sync runs.
    shapes_library: bool = True

    def read(self, text: str | None) -> Any:
        """The value of ``text`` (unset or empty: the default's); bad text names the variable."""
        if not text:
            if self.default is None:
                return None
            text = self.default
        try:
            return self.parse(text)
        except ValueError as error:
            raise ConfigurationError(f"{self.variable}={text!r} {error}") from None

    @property
    def documented_default(self) -> str:
        """The default as the README's and SPEC's tables write it."""
        return self.shown or f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    Setting("dagster_home", "DAGSTER_HOME", _absolute_path, "./dagster_home",
            "Dagster instance folder"),
    Setting("database_url", "TIDAL_SYNC_DATABASE_URL", _text, None,
            "product database (driver in the URL, e.g. `postgresql+psycopg://…`)",
            shown="`sqlite:///$DAGSTER_HOME/tidal_sync.db`", resource="database.url"),
    Setting("library_root", "TIDAL_SYNC_LIBRARY_ROOT", _absolute_path, "./library",
            "library root; playlists under `Playlists/`", resource="library.root"),
    Setting("session_file", "TIDAL_SYNC_SESSION_FILE", _user_path,
            "~/.config/tidal-sync/session.json",
            "TIDAL session (tidalapi's format, mode 0600)", resource="tidal.session_file"),
    Setting("api_base", "TIDAL_SYNC_API_BASE", _text, None,
            "rebase every TIDAL URL onto this origin (the sandbox)",
            shown="unset: real TIDAL", resource="tidal.api_base"),
    Setting("link_mode", "TIDAL_SYNC_LINK_MODE", _one_of(LINK_MODES), "symlink",
            "`symlink` (relative) / `hardlink` / `copy`", resource="library.link_mode"),
    Setting("quality", "TIDAL_SYNC_QUALITY", _one_of(QUALITIES), "LOSSLESS",
            "`LOW` / `HIGH` / `LOSSLESS` / `HI_RES_LOSSLESS`", resource="tidal.quality"),
    Setting("download_workers", "TIDAL_SYNC_DOWNLOAD_WORKERS", _positive_int, "4",
            "parallel downloads", resource="tidal.download_workers", shapes_library=False),
    Setting("min_quality", "TIDAL_SYNC_MIN_QUALITY", _one_of(QUALITIES), None,
            "lowest delivered quality kept; a lower delivery fails that track instead",
            shown="unset: keep any", resource="tidal.min_quality"),
    Setting("rekordbox_xml", "TIDAL_SYNC_REKORDBOX_XML", _xml_target, None,
            "where the Rekordbox XML goes; `off` to skip it",
            shown="`<root>/rekordbox.xml`", resource="library.rekordbox_xml"),
    Setting("key_notation", "TIDAL_SYNC_KEY_NOTATION", _one_of(KEY_NOTATIONS), "classic",
            "musical key in tags and XML: `classic` (`Am`, `F#`) / `camelot` (`8A`)",
            resource="library.key_notation"),
    Setting("favorite_tracks", "TIDAL_SYNC_FAVORITE_TRACKS", _switch, "off",
            "also sync \"My Collection\" favourite tracks as one more playlist, "
            "`Favorite Tracks` (partition `favorites:tracks`, newest first)",
            resource="tidal.favorite_tracks"),
    Setting("favorite_playlists", "TIDAL_SYNC_FAVORITE_PLAYLISTS", _switch, "off",
            "also sync playlists the user favourited (other creators')",
            resource="tidal.include_favourites"),
    Setting("rate_limit", "TIDAL_SYNC_RATE_LIMIT", positive_number, "3",
            "TIDAL API requests per second, all API calls together",
            resource="tidal.requests_per_second", shapes_library=False),
    Setting("cdn_rate_limit", "TIDAL_SYNC_CDN_RATE_LIMIT", positive_number, "5",
            "audio requests (files, DASH segments) per second to TIDAL's CDN",
            resource="tidal.cdn_requests_per_second", shapes_library=False),
    Setting("http_timeout", "TIDAL_SYNC_HTTP_TIMEOUT", positive_number, "30",
            "seconds before a TIDAL request times out (then retried)",
            resource="tidal.timeout_seconds", shapes_library=False),
    Setting("patience", "TIDAL_SYNC_PATIENCE", _seconds, "300",
            "seconds one TIDAL request keeps being retried: a 429 waits out its "
            "`Retry-After` (each wait at most 120 s; the terminal says \"rate limited by "
            "TIDAL, waiting 30 s\"), 5xx and timeouts back off; after that the sync fails "
            "with one sentence",
            resource="tidal.patience_seconds", shapes_library=False),
    Setting("cron", "TIDAL_SYNC_CRON", _cron, "0 3 * * *",
            "cron of the nightly sync schedule", shapes_library=False),
    Setting("m3u8_paths", "TIDAL_SYNC_M3U8_PATHS", _one_of(M3U8_PATHS), "folder",
            "M3U8 entries: `folder` (the file in the playlist's folder, a link or the "
            "primary) / `primary` (always the track's one real file, relative: for Traktor, "
            "Serato, Engine, Mixxx, which import every link as a track of its own)",
            resource="library.m3u8_paths"),
)  # fmt: skip
SETTING = {setting.name: setting for setting in SETTINGS}


def read_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting's value from ``environ`` (default: the process environment)."""
    setting = SETTING[name]
    return setting.read((os.environ if environ is None else environ).get(setting.variable))


def dagster_home() -> Path:
    path: Path = read_setting("dagster_home")
    return path


def default_database_url(home: Path | None = None) -> str:
    return f"sqlite:///{home or dagster_home()}/tidal_sync.db"


def rekordbox_xml_path(target: str | None, root: Path) -> Path | None:
    """Where the Rekordbox XML goes: ``target`` (a path, or ``off``: nowhere) or the root's."""
    if target == OFF:
        return None
    return Path(target) if target else root / "rekordbox.xml"


@dataclass(frozen=True)
class Settings:
    """Every setting's value, one field per row of :data:`SETTINGS`."""

    dagster_home: Path
    database_url: str
    library_root: Path
    session_file: Path
    api_base: str | None
    link_mode: LinkMode
    quality: Quality
    download_workers: int
    min_quality: Quality | None
    rekordbox_xml: Path | None  # None: off
    key_notation: KeyNotation
    favorite_tracks: bool
    favorite_playlists: bool
    rate_limit: float
    cdn_rate_limit: float
    http_timeout: float
    patience: int
    cron: str
    m3u8_paths: M3U8Paths

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment, after loading ``.env`` without overriding it."""
        if environ is None:
            # The user's .env: the working folder's or its parents' (find_dotenv would
            # otherwise search from this module's folder, i.e. the installed package).
            load_dotenv(find_dotenv(usecwd=True), override=False)
            environ = os.environ
        values = {s.name: s.read(environ.get(s.variable)) for s in SETTINGS}
        # Two defaults follow other settings: the database sits in DAGSTER_HOME, the
        # XML in the library root.
        values["database_url"] = values["database_url"] or default_database_url(
            values["dagster_home"]
        )
        values["rekordbox_xml"] = rekordbox_xml_path(
            values["rekordbox_xml"], values["library_root"]
        )
        return cls(**values)

    def fingerprint(self) -> str:
        """The settings that shape what a sync leaves behind, as one digest (no value in
        clear: the database URL may hold a password). A sync under another fingerprint
        than the last one may have work to do although nothing changed on TIDAL or disk."""
        shaping = {s.name: str(getattr(self, s.name)) for s in SETTINGS if s.shapes_library}
        return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()
