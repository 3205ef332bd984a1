"""Dagster metadata from a report (``tidal_sync_assets.report``): tables as markdown,
numbers, text and paths as themselves, lists and mappings as JSON."""

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from dagster import MetadataValue

from tidal_sync_assets.report import Report, Table


def metadata(report: Report) -> dict[str, MetadataValue[Any]]:
    return {label: _value(value) for label, value in report.items()}


def _value(value: object) -> MetadataValue[Any]:
    if isinstance(value, Table):
        return MetadataValue.md(value.markdown())
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
