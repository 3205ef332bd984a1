"""The Dagster wiring around the assets: resources, checks, jobs, partitions, schedules
and sensors. ``tidal_sync_assets.definitions`` assembles them per subject."""
