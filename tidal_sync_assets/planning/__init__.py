"""From two snapshots to a diff and an ordered plan of actions (pure, no Dagster)."""
