"""Fixtures come from one plugin module per real part of the system.

Three things here only decide where and in which order the suite runs, never what a test does:

- the temporary folders (``tmp_path``: libraries, databases, DAGSTER_HOMEs) live in
  ``/dev/shm`` where it is a writable tmpfs, unless ``--basetemp``, ``PYTEST_DEBUG_TEMPROOT``
  or ``TMPDIR`` say otherwise. They are real files on a real POSIX file system all the
  same; what goes is the wait for the disk on every ``fsync``, and Dagster's SQLite storage
  syncs each event of each run (about a thousand ``fdatasync`` calls per sync);
- a suite started in the background by a shell without job control (``make test &`` in a
  script) inherits SIGINT ignored, and so would every ``dagster dev`` and sandbox command
  the tests start and then stop with SIGINT, as a person's Ctrl-C would: it is given back
  its default handler before any test runs;
- the longest tests start first (by their declared ``timeout``, then the ``slow`` ones), so
  under ``pytest -n 2`` the short ones fill in at the end instead of one worker finishing
  a long end-to-end test alone.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.sandbox",
    "tests.fixtures.library",
    "tests.fixtures.sync",
    "tests.fixtures.reliability",
]

MEMORY_FOLDER = Path("/dev/shm")


def _on_tmpfs(folder: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(
        fields[1] == str(folder) and fields[2] == "tmpfs"
        for fields in (line.split() for line in mounts)
        if len(fields) > 2
    )


def pytest_configure(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # runs in each xdist worker too
        signal.signal(signal.SIGINT, signal.default_int_handler)
    chosen = config.option.basetemp or {"PYTEST_DEBUG_TEMPROOT", "TMPDIR"} & set(os.environ)
    if not chosen and _on_tmpfs(MEMORY_FOLDER) and os.access(MEMORY_FOLDER, os.W_OK):
        # Read by pytest when it first makes a temporary folder (after this hook), and
        # inherited by xdist's workers.
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_FOLDER)


def _expected_length(item: pytest.Item) -> tuple[float, bool]:
    timeout = item.get_closest_marker("timeout")
    declared = float(timeout.args[0]) if timeout and timeout.args else 0.0
    return declared, item.get_closest_marker("slow") is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first; otherwise the order of collection (the sort is stable)."""
    items.sort(key=_expected_length, reverse=True)
