"""Small builders for the metadata people read in the Dagster UI."""

from collections.abc import Iterable, Sequence

from dagster import MetadataValue

MAX_ROWS = 50


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> MetadataValue:
    """A markdown table, cut at ``MAX_ROWS`` rows with a line saying how many more."""
    rows = list(rows)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"\n… and {len(rows) - MAX_ROWS} more")
    if not rows:
        lines = ["_none_"]
    return MetadataValue.md("\n".join(lines))
