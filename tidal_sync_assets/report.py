"""What the Dagster UI shows of a step, as plain values: the report builders return a
mapping of labels to numbers, text, JSON-able lists and ``Table``s; the assets turn
it into Dagster metadata (``assets.metadata``). Pure: no Dagster here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_ROWS = 50

Report = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Table:
    """Rows under a header, shown as a table (at most ``max_rows`` of them; None: all)."""

    header: tuple[str, ...]
    rows: Sequence[Sequence[object]]
    max_rows: int | None = MAX_ROWS


def table(
    header: Sequence[str], rows: Sequence[Sequence[object]], *, max_rows: int | None = MAX_ROWS
) -> Table:
    return Table(tuple(header), list(rows), max_rows)
