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
    """Rows under a header, shown as a markdown table."""

    header: tuple[str, ...]
    rows: Sequence[Sequence[object]]

    def markdown(self) -> str:
        """Cut at ``MAX_ROWS`` rows with a line saying how many more; ``_none_`` if empty."""
        if not self.rows:
            return "_none_"
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in self.rows[:MAX_ROWS]]
        if len(self.rows) > MAX_ROWS:
            lines.append(f"\n… and {len(self.rows) - MAX_ROWS} more")
        return "\n".join(lines)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    return Table(tuple(header), list(rows))


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
