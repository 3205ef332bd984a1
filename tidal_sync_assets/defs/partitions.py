"""The dynamic partitions of the library, one per TIDAL playlist UUID, and all their
bookkeeping: the TIDAL snapshot registers exactly the playlists the library serves, the
sensor registers new ones, and a run covers a span of them through its range tags."""

from collections.abc import Collection, Sequence

from dagster import AddDynamicPartitionsRequest, DagsterInstance, DynamicPartitionsDefinition

PLAYLIST_PARTITIONS = "tidal_playlists"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"

playlist_partitions = DynamicPartitionsDefinition(name=PLAYLIST_PARTITIONS)


def playlist_keys(instance: DagsterInstance) -> list[str]:
    """The registered playlists, in partition order."""
    return list(instance.get_dynamic_partitions(PLAYLIST_PARTITIONS))


def range_tags(keys: Sequence[str]) -> dict[str, str]:
    """Run tags that make one run cover every playlist partition in ``keys`` (in order)."""
    return {RANGE_START: keys[0], RANGE_END: keys[-1]}


def register_exactly(instance: DagsterInstance, playlists: Collection[str]) -> list[str]:
    """Make the partitions ``playlists``: new ones added, the others deleted (a playlist
    whose folder the library has cleaned up is gone from the database too). The new ones."""
    known = set(playlist_keys(instance))
    new = [p for p in playlists if p not in known]
    if new:
        instance.add_dynamic_partitions(PLAYLIST_PARTITIONS, new)
    for stale in sorted(known - set(playlists)):
        instance.delete_dynamic_partition(PLAYLIST_PARTITIONS, stale)
    return new


def registration_for(
    instance: DagsterInstance, listed: Collection[str]
) -> tuple[list[AddDynamicPartitionsRequest], list[str]]:
    """For a sensor: the request that registers the ``listed`` playlists not known yet,
    and every partition key once it is applied (in order)."""
    known = playlist_keys(instance)
    new = sorted(set(listed) - set(known))
    request = AddDynamicPartitionsRequest(
        partitions_def_name=PLAYLIST_PARTITIONS, partition_keys=new
    )
    return ([request] if new else []), [*known, *new]


def span_tags(instance: DagsterInstance, touched: Collection[str]) -> dict[str, str] | None:
    """Range tags for one run over the partitions from the first to the last of
    ``touched``; None when none of them is registered."""
    keys = playlist_keys(instance)
    span = [i for i, key in enumerate(keys) if key in touched]
    return range_tags(keys[span[0] : span[-1] + 1]) if span else None
