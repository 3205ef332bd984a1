"""The library on disk: names, tags, scanning, matching, links, trash (no Dagster)."""
