"""tidal-sync: keeps a DJ's local library in step with their TIDAL account."""

import warnings

# The one Dagster warning the product accepts: `playlist_library` declares a single-run
# backfill policy (one run covers every playlist partition), a parameter Dagster marks
# beta. Filtered here, before any asset module is imported, by its exact text: any
# other warning still shows.
warnings.filterwarnings(
    "ignore", message=r"Parameter `backfill_policy` of function `asset` is currently in beta"
)
