"""One configuration table: the command line, the Dagster resources and the docs agree.

Scenarios: ``Settings`` has one field per row of the table; each resource field that a
variable configures has the table's default; a bad value is refused naming its
variable, by the command line and by the resources alike; the README's configuration
table is the table, row for row; every variable the SPEC lists is in it with the same
default.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tidal_sync_assets.defs.resources import (
    DatabaseResource,
    LibraryResource,
    TidalResource,
    resources_from_env,
)
from tidal_sync_assets.settings import SETTINGS, ConfigurationError, Setting, Settings

REPO = Path(__file__).resolve().parents[1]
# The SPEC sits beside the repository (CI: ../shared/SPEC.md), or beside the folder of
# worktrees a checkout lives in (../../shared/SPEC.md).
SPECS = [REPO.parent / "shared" / "SPEC.md", REPO.parent.parent / "shared" / "SPEC.md"]
RESOURCES = {"database": DatabaseResource, "tidal": TidalResource, "library": LibraryResource}
ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| (.*) \| (.*) \|$")


def documented(markdown: str, heading: str) -> list[tuple[str, str, str]]:
    """The rows (variable, meaning, default) of the table under ``heading``."""
    section = markdown[markdown.index(heading) :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        found = ROW.match(line)
        if found:
            rows.append((found[1], found[2], found[3]))
    assert rows, f"no configuration table under {heading!r}"
    return rows


def table_rows() -> list[tuple[str, str, str]]:
    return [(s.variable, s.doc, s.documented_default) for s in SETTINGS]


def test_settings_has_one_field_per_row() -> None:
    assert [f.name for f in dataclasses.fields(Settings)] == [s.name for s in SETTINGS]


def test_every_resource_field_a_variable_sets_has_the_tables_default() -> None:
    for setting in SETTINGS:
        if setting.resource is None:
            continue
        resource, field = setting.resource.split(".")
        default = RESOURCES[resource].model_fields[field].default
        value = setting.read(None)
        assert default == (value if isinstance(value, int | float) else setting.default)


def test_unset_the_defaults_are_the_documented_ones(tmp_path: Path) -> None:
    settings = Settings.from_env({"DAGSTER_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/tidal_sync.db"
    assert settings.library_root == Path("./library").absolute()
    assert settings.rekordbox_xml == settings.library_root / "rekordbox.xml"
    assert (settings.link_mode, settings.quality, settings.min_quality) == (
        "symlink",
        "LOSSLESS",
        None,
    )
    assert (settings.download_workers, settings.rate_limit, settings.http_timeout) == (4, 3, 30)
    assert settings.cdn_rate_limit == 5  # audio from the CDN: a limit of its own
    assert (settings.key_notation, settings.favorite_tracks, settings.favorite_playlists) == (
        "classic",
        False,
        False,
    )
    assert settings.cron == "0 3 * * *"


def test_set_values_are_parsed(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "TIDAL_SYNC_MIN_QUALITY": "HIGH",
            "TIDAL_SYNC_REKORDBOX_XML": "off",
            "TIDAL_SYNC_KEY_NOTATION": "camelot",
            "TIDAL_SYNC_FAVORITE_TRACKS": "on",
            "TIDAL_SYNC_FAVORITE_PLAYLISTS": "yes",
            "TIDAL_SYNC_RATE_LIMIT": "2.5",
            "TIDAL_SYNC_CDN_RATE_LIMIT": "12.5",
        }
    )
    assert (settings.min_quality, settings.rekordbox_xml, settings.key_notation) == (
        "HIGH",
        None,
        "camelot",
    )
    assert (settings.favorite_tracks, settings.favorite_playlists) == (True, True)
    assert (settings.rate_limit, settings.cdn_rate_limit) == (2.5, 12.5)
    xml = Settings.from_env({"TIDAL_SYNC_REKORDBOX_XML": str(tmp_path / "dj.xml")})
    assert xml.rekordbox_xml == tmp_path / "dj.xml"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TIDAL_SYNC_DOWNLOAD_WORKERS", "0"),
        ("TIDAL_SYNC_LINK_MODE", "junction"),
        ("TIDAL_SYNC_MIN_QUALITY", "lossless"),
        ("TIDAL_SYNC_KEY_NOTATION", "open-key"),
        ("TIDAL_SYNC_FAVORITE_TRACKS", "maybe"),
        ("TIDAL_SYNC_RATE_LIMIT", "fast"),
        ("TIDAL_SYNC_CRON", "nightly"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable_by_the_cli_and_the_resources(
    variable: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"^{variable}="):
        Settings.from_env({variable: value})
    if variable != "TIDAL_SYNC_CRON":  # the schedule's, not a resource's
        with pytest.raises(ConfigurationError, match=f"^{variable}="):
            resources_from_env({variable: value})


# A value other than the default for each setting: (variable, value).
OTHER_VALUES = {
    "DAGSTER_HOME": "/elsewhere/home",
    "TIDAL_SYNC_DATABASE_URL": "postgresql+psycopg://db/tidal",
    "TIDAL_SYNC_LIBRARY_ROOT": "/elsewhere/library",
    "TIDAL_SYNC_SESSION_FILE": "/elsewhere/session.json",
    "TIDAL_SYNC_API_BASE": "http://127.0.0.1:8765",
    "TIDAL_SYNC_LINK_MODE": "copy",
    "TIDAL_SYNC_QUALITY": "HIGH",
    "TIDAL_SYNC_DOWNLOAD_WORKERS": "8",
    "TIDAL_SYNC_MIN_QUALITY": "LOSSLESS",
    "TIDAL_SYNC_REKORDBOX_XML": "off",
    "TIDAL_SYNC_KEY_NOTATION": "camelot",
    "TIDAL_SYNC_FAVORITE_TRACKS": "on",
    "TIDAL_SYNC_FAVORITE_PLAYLISTS": "on",
    "TIDAL_SYNC_RATE_LIMIT": "10",
    "TIDAL_SYNC_CDN_RATE_LIMIT": "50",
    "TIDAL_SYNC_HTTP_TIMEOUT": "60",
    "TIDAL_SYNC_PATIENCE": "600",
    "TIDAL_SYNC_CRON": "0 4 * * *",
    "TIDAL_SYNC_M3U8_PATHS": "primary",
}
PACING = {
    "TIDAL_SYNC_DOWNLOAD_WORKERS",
    "TIDAL_SYNC_RATE_LIMIT",
    "TIDAL_SYNC_CDN_RATE_LIMIT",
    "TIDAL_SYNC_HTTP_TIMEOUT",
    "TIDAL_SYNC_PATIENCE",
    "TIDAL_SYNC_CRON",
}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.variable)
def test_the_fingerprint_moves_with_every_setting_that_shapes_the_library(
    setting: Setting,
) -> None:
    """A sync under another fingerprint may have work although nothing else changed; one
    that only paces the sync (workers, rates, timeouts, patience, the cron) does not."""
    before = Settings.from_env({}).fingerprint()
    after = Settings.from_env({setting.variable: OTHER_VALUES[setting.variable]}).fingerprint()
    assert (before != after) == (setting.variable not in PACING)
    assert setting.shapes_library == (setting.variable not in PACING)


def test_a_launchpad_override_is_checked_by_the_same_parser() -> None:
    with pytest.raises(ConfigurationError, match=r"^TIDAL_SYNC_LINK_MODE="):
        LibraryResource(link_mode="junction").checked_link_mode()
    assert LibraryResource(rekordbox_xml="off").rekordbox_xml_path() is None


def test_the_readme_configuration_table_is_the_settings_table() -> None:
    readme = documented((REPO / "README.md").read_text(), "### Configuration")
    expected = "\n".join(f"| `{v}` | {m} | {d} |" for v, m, d in table_rows())
    assert readme == table_rows(), f"the README's table should read:\n{expected}"


def test_every_spec_variable_is_in_the_table_with_the_same_default() -> None:
    found = [path for path in SPECS if path.is_file()]
    if not found:
        pytest.skip(f"the SPEC is not checked out beside the repository ({SPECS[0]})")
    spec = documented(found[0].read_text(), "## Configuration")
    ours = {variable: default for variable, _, default in table_rows()}
    for variable, _, default in spec:
        assert variable in ours, f"{variable} is in the SPEC, not in the settings table"
        assert ours[variable] == default, f"{variable}: SPEC says {default}, we {ours[variable]}"
