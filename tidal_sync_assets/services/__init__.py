"""Services: the steps the assets call (scan, plan), between the assets and the
stores and pure core. Dagster-free; the library's executor is ``library.execute``."""
