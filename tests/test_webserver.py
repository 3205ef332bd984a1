"""The real Dagster webserver serves the code location, and stops cleanly on Ctrl-C.

Scenario: ``dagster dev`` is started on the repository's ``workspace.yaml`` with a Dagster
home holding the committed ``dagster.yaml``; within a bounded time GraphQL reports the code
location ``tidal_sync_assets`` as LOADED with the pinned assets and the instance's run queue
as ``dagster.yaml`` configures it. SIGINT then stops it, and no process of its session is left.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.fixtures.webserver import (
    REPO,
    START_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    running_webserver,
    session_processes,
    stop_webserver,
)

STATUS_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries { name loadStatus locationOrLoadError { __typename } }
    }
  }
}
"""
DETAILS_QUERY = """
{
  instance { runQueueConfig { maxConcurrentRuns tagConcurrencyLimitsYaml } }
  assetNodes { assetKey { path } }
}
"""


@pytest.mark.slow
@pytest.mark.timeout(START_TIMEOUT_SECONDS + STOP_TIMEOUT_SECONDS + 60)
def test_dagster_dev_serves_the_code_location_and_stops_on_sigint(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "TIDAL_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'tidal_sync.db'}",
        "TIDAL_SYNC_LIBRARY_ROOT": str(tmp_path / "library"),
        "TIDAL_SYNC_SESSION_FILE": str(tmp_path / "session.json"),
        "PYTHONUNBUFFERED": "1",
    }
    with running_webserver(env, tmp_path) as server:
        entries = server.graphql(STATUS_QUERY)["workspaceOrError"]["locationEntries"]
        assert entries == [
            {
                "name": "tidal_sync_assets",
                "loadStatus": "LOADED",
                "locationOrLoadError": {"__typename": "RepositoryLocation"},
            }
        ], server.log_tail()

        details = server.graphql(DETAILS_QUERY)
        # The instance runs with the committed dagster.yaml: its run queue is the one it sets.
        queue = details["instance"]["runQueueConfig"]
        assert queue["maxConcurrentRuns"] == 4
        assert "tidal-sync/library" in queue["tagConcurrencyLimitsYaml"]
        assets = {"/".join(node["assetKey"]["path"]) for node in details["assetNodes"]}
        assert assets == {
            "tidal_snapshot",
            "filesystem_snapshot",
            "library_diff",
            "dedup_plan",
            "playlist_library",
            "dj_export",
        }

        stragglers = stop_webserver(server)
        assert server.process.returncode != -signal.SIGKILL, (
            f"dagster dev ignored SIGINT for {STOP_TIMEOUT_SECONDS:.0f} s and was killed:\n"
            + server.log_tail()
        )
        assert not stragglers, f"left after SIGINT: {stragglers}\n{server.log_tail()}"
        assert session_processes(server.process.pid) == []
