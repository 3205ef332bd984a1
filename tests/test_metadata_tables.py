"""The tables the Dagster UI shows in asset metadata: built from a DataFrame, typed by
column, whole cells (no markdown escaping), cut after ``MAX_ROWS`` with a count."""

from __future__ import annotations

from tidal_sync_assets.assets.metadata import MAX_ROWS, metadata_table


def test_a_table_keeps_cells_whole_and_types_its_columns() -> None:
    table = metadata_table(
        ["playlist", "missing", "share"],
        [('Peak | "Time"\nafter 🎧', 3, 0.5), ("Warm Up", None, None)],
    )

    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("playlist", "string"),
        ("missing", "int"),
        ("share", "float"),
    ]
    assert [r.data for r in table.records] == [
        {"playlist": 'Peak | "Time"\nafter 🎧', "missing": 3, "share": 0.5},
        {"playlist": "Warm Up", "missing": None, "share": None},
    ]


def test_a_long_table_is_cut_with_a_row_saying_how_many_more() -> None:
    table = metadata_table(["path", "why"], [(f"Playlists/a/{i}.flac", "cut") for i in range(57)])

    assert len(table.records) == MAX_ROWS + 1
    assert table.records[-1].data == {"path": "… and 7 more", "why": None}
    assert metadata_table(["path"], []).records == []
