"""Persisting failed sync runs: which run, which playlists it was asked for, and why."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine

from tidal_sync_assets.database.models import RunFailure


def record_run_failure(engine: Engine, run_id: str, playlists: Sequence[str], reason: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            RunFailure.__table__.insert().values(  # type: ignore[attr-defined]
                run_id=run_id,
                failed_at=datetime.now(UTC),
                playlists=json.dumps(list(playlists)),
                reason=reason,
            )
        )
