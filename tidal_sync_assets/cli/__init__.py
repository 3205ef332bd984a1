"""The ``tidal-sync`` command line: its commands (``commands``), the in-process sync on
the Dagster instance (``sync``), ``status``, the demo, and stopping and progress on a
terminal."""
