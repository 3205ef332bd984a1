"""The Dagster assets of the sync, one module per side of the graph."""
