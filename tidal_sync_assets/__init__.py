"""tidal-sync: keeps a DJ's local library in step with their TIDAL account."""
