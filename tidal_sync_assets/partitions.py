"""The dynamic partitions of the library: one per TIDAL playlist UUID."""

from dagster import DynamicPartitionsDefinition

playlist_partitions = DynamicPartitionsDefinition(name="tidal_playlists")
