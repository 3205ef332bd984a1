"""``tidal-sync demo``: the product on its embedded sandbox TIDAL, end to end.

Starts the bundled sandbox on loopback with the demo catalog, logs in
against it (the sandbox approves at once), and syncs into ``./demo-library``
with its own database and session file under ``$DAGSTER_HOME/demo`` so a
real library's state is never touched. ``--ui`` runs the same wiring inside
``dagster dev``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tidal_sync_assets.sandbox.catalog import DEMO_CATALOG_PATH, load_catalog
from tidal_sync_assets.sandbox.server import SandboxServer
from tidal_sync_assets.settings import dagster_home
from tidal_sync_assets.tidal.login import login

DEMO_LIBRARY = Path("demo-library")


@contextmanager
def demo_environment(library: Path = DEMO_LIBRARY) -> Iterator[SandboxServer]:
    """A running sandbox and the environment variables that point the product at it."""
    state = dagster_home() / "demo"
    state.mkdir(parents=True, exist_ok=True)
    with SandboxServer(load_catalog(DEMO_CATALOG_PATH)) as sandbox:
        os.environ.update(
            {
                "DAGSTER_HOME": str(dagster_home()),
                "TIDAL_SYNC_API_BASE": sandbox.base_url,
                "TIDAL_SYNC_LIBRARY_ROOT": str(library.absolute()),
                "TIDAL_SYNC_DATABASE_URL": f"sqlite:///{state / 'tidal_sync.db'}",
                "TIDAL_SYNC_SESSION_FILE": str(state / "session.json"),
                # The sandbox is on this machine: no need to spare it like TIDAL.
                "TIDAL_SYNC_RATE_LIMIT": "500",
                "TIDAL_SYNC_CDN_RATE_LIMIT": "5000",
            }
        )
        session_file = state / "session.json"
        if not session_file.exists():
            login(session_file, sandbox.base_url, print_fn=lambda _: None)
        yield sandbox


def ui_command() -> list[str]:
    """The ``dagster dev`` command line of ``--ui``: loopback only, never all interfaces."""
    return [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-w", "workspace.yaml"]


def run_ui() -> int:
    """``dagster dev`` on 127.0.0.1 with the code location wired to the sandbox."""
    with demo_environment() as sandbox:
        print(f"Sandbox TIDAL at {sandbox.base_url}; demo library in {DEMO_LIBRARY.absolute()}")
        process = subprocess.Popen(ui_command())
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()
