"""The code location's asset graph, pinned: any change to it shows up here as a diff.

Scenarios: the assets, their dependencies, partitions, groups and checks are exactly the
ones below; importing the definitions touches neither the disk, the database nor TIDAL
(the code server re-imports the module); the resources take their settings from the
environment through ``EnvVar``, so the launchpad can override them per run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    BackfillPolicy,
    Definitions,
    DynamicPartitionsDefinition,
    PartitionsDefinition,
    build_resources,
)

from tidal_sync_assets.definitions import defs
from tidal_sync_assets.defs.resources import resources_from_env

ASSETS = {
    # key: (dependencies, group, partitions, backfill policy)
    "tidal_snapshot": ((), "tidal", None, None),
    "filesystem_snapshot": (("tidal_snapshot",), "filesystem", None, None),
    "library_diff": (("filesystem_snapshot", "tidal_snapshot"), "planning", None, None),
    "dedup_plan": (("library_diff",), "planning", None, None),
    "playlist_library": (
        ("dedup_plan",),
        "library",
        ("dynamic", "tidal_playlists"),
        BackfillPolicy.single_run(),
    ),
    "dj_export": (("playlist_library",), "dj", None, None),
}
# The libraries and stores each asset's own work uses: none claims one it does not (pandas
# builds every asset's metadata tables alike, so it names no asset's kind).
KINDS = {
    "tidal_snapshot": {"tidal", "sql"},
    "filesystem_snapshot": {"filesystem", "sql"},
    "library_diff": {"sql"},
    "dedup_plan": {"sql"},
    "playlist_library": {"filesystem", "tidal", "sql"},
    "dj_export": {"xml", "sql"},
}
CHECKS = {
    # (asset, check): blocking
    ("tidal_snapshot", "snapshot_complete"): True,
    ("dedup_plan", "removals_within_limit"): True,
    ("playlist_library", "library_consistent"): False,
}


def describe_partitions(partitions: PartitionsDefinition | None) -> tuple[str, str] | None:
    if partitions is None:
        return None
    if isinstance(partitions, DynamicPartitionsDefinition):
        return ("dynamic", str(partitions.name))
    return (type(partitions).__name__, repr(partitions))


@pytest.fixture(scope="module")
def loaded() -> Definitions:
    """The definitions as Dagster loads them (``defs`` is a ``@definitions`` function)."""
    return defs()


def test_definitions_hold_exactly_the_pinned_assets(loaded: Definitions) -> None:
    assert isinstance(loaded, Definitions)
    graph = loaded.resolve_asset_graph()
    found = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        found[key.to_user_string()] = (
            tuple(sorted(parent.to_user_string() for parent in node.parent_keys)),
            node.group_name,
            describe_partitions(node.partitions_def),
            node.backfill_policy,
        )
    assert found == ASSETS


def test_each_asset_names_only_the_kinds_it_uses(loaded: Definitions) -> None:
    graph = loaded.resolve_asset_graph()
    found = {key.to_user_string(): set(graph.get(key).kinds) for key in graph.get_all_asset_keys()}
    assert found == KINDS


def test_definitions_hold_exactly_the_pinned_checks(loaded: Definitions) -> None:
    graph = loaded.resolve_asset_graph()
    found = {
        (key.asset_key.to_user_string(), key.name): graph.get(key).blocking
        for key in graph.asset_check_keys
    }
    assert found == CHECKS


def test_the_sync_job_covers_every_asset_per_playlist_and_is_tagged_for_the_library_queue(
    loaded: Definitions,
) -> None:
    job = loaded.resolve_job_def("sync")
    assert describe_partitions(job.partitions_def) == ("dynamic", "tidal_playlists")
    assert job.tags.get("tidal-sync/library") == "sync"
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert selected == set(ASSETS)


def test_the_resources_are_the_database_tidal_the_library_and_the_diff_memo(
    loaded: Definitions,
) -> None:
    assert set(loaded.resources or {}) == {"database", "tidal", "library", "diff_memo"}


# Importing the definitions -----------------------------------------------------------------

PROBE = """
import json
from dagster import EnvVar, build_resources
from tidal_sync_assets.definitions import defs

loaded = defs()

def kind(value):
    # EnvVar.int(...) is an int subclass carrying the variable's name.
    if isinstance(value, EnvVar):
        return ["EnvVar", value.env_var_name]
    if type(value).__name__ == "IntEnvVar":
        return ["IntEnvVar", value.env_var_name]
    return ["value", value]

declared = {
    name: {field: kind(getattr(r, field)) for field in type(r).model_fields}
    for name, r in loaded.resources.items()
}
with build_resources(dict(loaded.resources)) as built:
    resolved = {
        "database.url": built.database.url,
        "library.root": built.library.root,
        "library.link_mode": built.library.link_mode,
        "tidal.session_file": built.tidal.session_file,
        "tidal.api_base": built.tidal.api_base,
        "tidal.download_workers": built.tidal.download_workers,
    }
print(json.dumps({"declared": declared, "resolved": resolved}))
"""


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@dataclass(frozen=True)
class Imported:
    """What one import of the definitions, in a fresh process, left behind and reported."""

    env: dict[str, str]
    files_left: list[str]
    connections_tried: int
    declared: dict[str, dict[str, list[Any]]]
    resolved: dict[str, Any]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    """Import the definitions in a fresh process, every setting pointing at nothing real.

    The library root, Dagster home and session file do not exist; the database and the
    TIDAL API base are a port that accepts connections and never answers, so any attempt
    to reach either is counted (and would hang the import until the timeout).
    """
    tmp = tmp_path_factory.mktemp("import")
    cwd = tmp / "cwd"
    cwd.mkdir()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        env = {
            "DAGSTER_HOME": str(tmp / "no-dagster-home"),
            "TIDAL_SYNC_LIBRARY_ROOT": str(tmp / "no-library"),
            "TIDAL_SYNC_DATABASE_URL": f"postgresql+psycopg://user:pw@127.0.0.1:{port}/x",
            "TIDAL_SYNC_SESSION_FILE": str(tmp / "no-config" / "session.json"),
            "TIDAL_SYNC_API_BASE": f"http://127.0.0.1:{port}",
            "TIDAL_SYNC_LINK_MODE": "hardlink",
            "TIDAL_SYNC_DOWNLOAD_WORKERS": "7",
        }
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TIDAL_SYNC_")}
        done = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=cwd,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        listener.setblocking(False)
        tried = 0
        while True:
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                break
            tried += 1
    report = json.loads(done.stdout.splitlines()[-1])
    return Imported(env, files_under(tmp), tried, report["declared"], report["resolved"])


def test_importing_the_definitions_reads_no_disk_database_or_tidal(imported: Imported) -> None:
    assert imported.files_left == ["cwd"], "the import created files"
    assert imported.connections_tried == 0, "the import tried the database or TIDAL"


def test_resources_read_their_settings_through_env_vars(imported: Imported) -> None:
    env = imported.env
    # The definition carries the variable's name, not its value: the UI shows no secret.
    assert imported.declared["library"]["link_mode"] == ["EnvVar", "TIDAL_SYNC_LINK_MODE"]
    assert imported.declared["library"]["root"] == ["EnvVar", "TIDAL_SYNC_LIBRARY_ROOT"]
    assert imported.declared["database"]["url"] == ["EnvVar", "TIDAL_SYNC_DATABASE_URL"]
    assert imported.declared["tidal"]["session_file"] == ["EnvVar", "TIDAL_SYNC_SESSION_FILE"]
    assert imported.declared["tidal"]["api_base"] == ["EnvVar", "TIDAL_SYNC_API_BASE"]
    assert imported.declared["tidal"]["download_workers"] == [
        "IntEnvVar",
        "TIDAL_SYNC_DOWNLOAD_WORKERS",
    ]
    assert imported.resolved == {
        "database.url": env["TIDAL_SYNC_DATABASE_URL"],
        "library.root": env["TIDAL_SYNC_LIBRARY_ROOT"],
        "library.link_mode": "hardlink",
        "tidal.session_file": env["TIDAL_SYNC_SESSION_FILE"],
        "tidal.api_base": env["TIDAL_SYNC_API_BASE"],
        "tidal.download_workers": 7,
    }


def test_unset_variables_leave_the_specs_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("TIDAL_SYNC_")]:
        monkeypatch.delenv(name)
    with build_resources(dict(resources_from_env())) as built:
        assert built.database.url is None  # the resource falls back to $DAGSTER_HOME/tidal_sync.db
        assert (built.library.root, built.library.link_mode) == ("./library", "symlink")
        assert built.tidal.session_file == "~/.config/tidal-sync/session.json"
        assert (built.tidal.api_base, built.tidal.download_workers) == (None, 4)


def test_the_environment_is_read_when_the_definitions_load_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The module is imported (above, and by other tests) under whatever environment;
    # each load sees the environment of its moment: no reload needed.
    for link_mode, cron in (("copy", "15 4 * * *"), ("hardlink", "0 5 * * 1")):
        monkeypatch.setenv("TIDAL_SYNC_LINK_MODE", link_mode)
        monkeypatch.setenv("TIDAL_SYNC_CRON", cron)
        loaded = defs()
        with build_resources(dict(loaded.resources or {})) as built:
            assert built.library.checked_link_mode() == link_mode
        assert loaded.resolve_schedule_def("nightly_sync").cron_schedule == cron
