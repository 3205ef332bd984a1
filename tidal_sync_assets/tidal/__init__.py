"""The TIDAL side: session, fetching, retries and audio streams (no Dagster)."""
