"""tidal-sync."""
