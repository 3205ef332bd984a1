"""The Dagster instance ``tidal-sync`` runs its in-process syncs on (``DAGSTER_HOME``).

Owns two things a user would otherwise see Dagster print or leave behind:

- A ``DAGSTER_HOME`` without a ``dagster.yaml`` gets the product's instance file
  (:data:`INSTANCE_YAML`, the same settings as the committed
  ``dagster_home/dagster.yaml``), so Dagster prints neither its telemetry banner nor
  its "no dagster.yaml" warning. A file the user already has is never touched.
- The command line's runs capture no compute logs. Dagster's local compute-log
  manager mirrors every step's stdout and stderr through a ``tail -F`` process and a
  Python watcher per stream; those are children of the command that can outlive it
  (a watcher that sees its parent gone only once a second, a ``tail`` whose watcher
  was interrupted). The command line's output is its terminal's and the structured
  event log is kept, so its runs start no helper processes at all.
"""

from __future__ import annotations

import os

from dagster import DagsterInstance
from dagster._core.instance.ref import InstanceRef

from tidal_sync_assets.settings import dagster_home

INSTANCE_YAML = """\
# The Dagster instance of tidal-sync, written by `tidal-sync` into a DAGSTER_HOME that had
# none. Dagster's own storage stays here (SQLite); the product database is separate.
telemetry:
  enabled: false

# A crashed run worker is retried once; a playlist that failed is backfilled instead.
run_retries:
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false

concurrency:
  runs:
    max_concurrent_runs: 4
    # Two syncs must never write the same library at once.
    tag_concurrency_limits:
      - key: tidal-sync/library
        limit: 1

# The product's "rate limited by TIDAL, waiting 30 s" and progress lines go into the
# run's log too.
python_logs:
  managed_python_loggers:
    - tidal_sync_assets.waits
    - tidal_sync_assets.progress
"""

_NO_COMPUTE_LOGS = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


def cli_instance() -> DagsterInstance:
    """The ``DAGSTER_HOME`` instance (created with the product's instance file if new)."""
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        try:
            with config.open("x", encoding="utf-8") as file:
                file.write(INSTANCE_YAML)
        except FileExistsError:  # another command wrote it first: theirs is as good
            pass
    os.environ["DAGSTER_HOME"] = str(home)  # Dagster's own code reads it again
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=_NO_COMPUTE_LOGS))
