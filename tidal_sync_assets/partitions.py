"""The dynamic partitions of the library: one per TIDAL playlist UUID."""

from dagster import DynamicPartitionsDefinition

PLAYLIST_PARTITIONS = "tidal_playlists"

playlist_partitions = DynamicPartitionsDefinition(name=PLAYLIST_PARTITIONS)
