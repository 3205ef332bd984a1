"""Dagster metadata from a report (``tidal_sync_assets.report``): tables as typed Dagster
tables built from a pandas DataFrame, numbers, text and paths as themselves, lists and
mappings as JSON.

A ``MetadataValue.table`` rather than markdown: the UI draws a table value inline as a
real table on every page (markdown over 1,000 characters hides behind "[Show Markdown]"),
its columns carry the types pandas infers (so counts stay numbers), and a cell needs no
escaping for ``|`` or newlines in a playlist name or a path.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

import pandas as pd
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from tidal_sync_assets.report import MAX_ROWS, Report, Table

# pandas' nullable dtypes (``convert_dtypes``) by kind, as Dagster's column types.
_COLUMN_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool"}


def metadata_table(
    header: Sequence[str], rows: Iterable[Sequence[object]], max_rows: int | None = MAX_ROWS
) -> MetadataValue:
    """A table of ``rows`` under ``header``, cut at ``max_rows`` rows (None: never); a
    last row then says in its first column how many more there were."""
    frame = pd.DataFrame(list(rows), columns=list(header), dtype=object).convert_dtypes()
    shown = len(frame) if max_rows is None else max_rows
    schema = TableSchema(
        columns=[
            TableColumn(name, _COLUMN_TYPES.get(frame[name].dtype.kind, "string"))
            for name in frame.columns
        ]
    )
    # Through JSON: plain Python values, and a missing value (NA) is None.
    records = [
        TableRecord(r)
        for r in json.loads(frame.head(shown).to_json(orient="records", default_handler=str))
    ]
    if len(frame) > shown:
        more = f"… and {len(frame) - shown} more"
        # Dagster wants every record to name every column.
        records.append(
            TableRecord({name: more if i == 0 else None for i, name in enumerate(header)})
        )
    return MetadataValue.table(records, schema)


def metadata(report: Report) -> dict[str, MetadataValue[Any]]:
    return {label: _value(value) for label, value in report.items()}


def _value(value: object) -> MetadataValue[Any]:
    if isinstance(value, Table):
        return metadata_table(value.header, value.rows, value.max_rows)
    if isinstance(value, bool):
        return MetadataValue.bool(value)
    if isinstance(value, int):
        return MetadataValue.int(value)
    if isinstance(value, float):
        return MetadataValue.float(value)
    if isinstance(value, str):
        return MetadataValue.text(value)
    if isinstance(value, PurePath):
        return MetadataValue.path(str(value))
    if isinstance(value, Mapping | Sequence):
        return MetadataValue.json(value)
    raise TypeError(f"no metadata form for {type(value).__name__}")
