"""The imperative shell: carrying out a plan's actions on disk and over TIDAL."""
