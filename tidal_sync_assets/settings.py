"""The product's configuration, read from the environment (``.env`` honoured).

One frozen ``Settings`` record with the SPEC's variables and defaults. The
CLI reads it directly; the Dagster resources read the same variables through
``EnvVar`` so the launchpad can override them per run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dotenv import load_dotenv

from tidal_sync_assets.dj.keys import KEY_NOTATIONS, KeyNotation

LinkMode = Literal["symlink", "hardlink", "copy"]
Quality = Literal["LOW", "HIGH", "LOSSLESS", "HI_RES_LOSSLESS"]

LINK_MODES: tuple[LinkMode, ...] = ("symlink", "hardlink", "copy")
QUALITIES: tuple[Quality, ...] = ("LOW", "HIGH", "LOSSLESS", "HI_RES_LOSSLESS")
# An M3U8 entry: the file in the playlist's folder (a link, or the primary), or always
# the primary (for DJ software that would import every link as a track of its own).
M3U8Paths = Literal["folder", "primary"]
M3U8_PATHS: tuple[M3U8Paths, ...] = ("folder", "primary")


class ConfigurationError(ValueError):
    """A setting has a value the product cannot use; the message names it."""


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or "./dagster_home").expanduser().absolute()


def default_database_url() -> str:
    return f"sqlite:///{dagster_home() / 'tidal_sync.db'}"


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def switch(name: str, value: str) -> bool:
    """An on/off setting: ``on``/``off`` (also true/false, yes/no, 1/0)."""
    lowered = value.strip().lower()
    if lowered in ("on", "true", "yes", "1"):
        return True
    if lowered in ("off", "false", "no", "0", ""):
        return False
    raise ConfigurationError(f"{name}={value!r} is neither on nor off")


def rekordbox_xml_path(value: str | None, library_root: Path) -> Path | None:
    """Where the Rekordbox XML goes: ``value``, ``<root>/rekordbox.xml`` when unset,
    None for ``off``."""
    if not value:
        return library_root / "rekordbox.xml"
    if value.strip().lower() == "off":
        return None
    return Path(value).expanduser().absolute()


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(f"{name}={value!r} must be a whole number of at least 1")
    return number


@dataclass(frozen=True)
class Settings:
    database_url: str
    library_root: Path
    session_file: Path
    api_base: str | None
    link_mode: LinkMode
    quality: Quality
    download_workers: int
    rekordbox_xml: Path | None  # None: no XML
    key_notation: KeyNotation
    m3u8_paths: M3U8Paths
    favorite_playlists: bool
    favorite_tracks: bool

    @classmethod
    def from_env(cls) -> Settings:
        """Read the environment, after loading ``.env`` without overriding it."""
        load_dotenv(override=False)
        env = os.environ
        root = Path(env.get("TIDAL_SYNC_LIBRARY_ROOT") or "./library").expanduser().absolute()
        return cls(
            database_url=env.get("TIDAL_SYNC_DATABASE_URL") or default_database_url(),
            library_root=root,
            session_file=Path(
                env.get("TIDAL_SYNC_SESSION_FILE") or "~/.config/tidal-sync/session.json"
            ).expanduser(),
            api_base=(env.get("TIDAL_SYNC_API_BASE") or None),
            link_mode=_choice(  # type: ignore[arg-type]
                "TIDAL_SYNC_LINK_MODE", env.get("TIDAL_SYNC_LINK_MODE") or "symlink", LINK_MODES
            ),
            quality=_choice(  # type: ignore[arg-type]
                "TIDAL_SYNC_QUALITY", env.get("TIDAL_SYNC_QUALITY") or "LOSSLESS", QUALITIES
            ),
            download_workers=_positive_int(
                "TIDAL_SYNC_DOWNLOAD_WORKERS", env.get("TIDAL_SYNC_DOWNLOAD_WORKERS") or "4"
            ),
            rekordbox_xml=rekordbox_xml_path(env.get("TIDAL_SYNC_REKORDBOX_XML"), root),
            key_notation=_choice(  # type: ignore[arg-type]
                "TIDAL_SYNC_KEY_NOTATION",
                env.get("TIDAL_SYNC_KEY_NOTATION") or "classic",
                KEY_NOTATIONS,
            ),
            favorite_tracks=switch(
                "TIDAL_SYNC_FAVORITE_TRACKS", env.get("TIDAL_SYNC_FAVORITE_TRACKS") or "off"
            ),
            favorite_playlists=switch(
                "TIDAL_SYNC_FAVORITE_PLAYLISTS", env.get("TIDAL_SYNC_FAVORITE_PLAYLISTS") or "off"
            ),
            m3u8_paths=_choice(  # type: ignore[arg-type]
                "TIDAL_SYNC_M3U8_PATHS", env.get("TIDAL_SYNC_M3U8_PATHS") or "folder", M3U8_PATHS
            ),
        )
