"""Reading the tags of many audio files at once, across all cores.

Paths are handed in while the walk is still going; once there are enough of
them to pay for a process pool, chunks go to the pool as they fill, so the
walk and the reading overlap. A handful of files is read in-process.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.disk.tags import AudioReadError, read_tags

# Below this many files a process pool costs more than it saves.
POOL_THRESHOLD = 200
CHUNK_SIZE = 128

TagsOrReason = AudioTags | str


class TagReader:
    """Collects paths with ``add`` and returns their tags, in order, from ``results``."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._pending: list[str] = []
        self._chunks: list[tuple[list[str], Future[list[TagsOrReason]]]] = []
        self._pool: ProcessPoolExecutor | None = None

    def add(self, path: str) -> None:
        self._pending.append(path)
        if len(self._pending) >= (CHUNK_SIZE if self._pool else POOL_THRESHOLD):
            if self._pool is None and self._workers > 1:
                # forkserver: safe to start from a threaded process (a Dagster run
                # worker is one); workers fork from a server that already imported mutagen.
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload([__name__])
                self._pool = ProcessPoolExecutor(self._workers, mp_context=context)
            if self._pool is not None:
                self._submit()

    def results(self) -> list[TagsOrReason]:
        """Tags of every added path in order, or the reason it could not be read."""
        if self._pool is None:
            return read_chunk(self._pending)
        self._submit()
        # The walk is over, so this process joins in: it takes chunks from the
        # back of the queue while the workers take them from the front.
        own: dict[int, list[TagsOrReason]] = {}
        for number in reversed(range(len(self._chunks))):
            paths, future = self._chunks[number]
            if future.cancel():
                own[number] = read_chunk(paths)
        results: list[TagsOrReason] = []
        try:
            for number, (paths, future) in enumerate(self._chunks):
                if number in own:
                    results.extend(own[number])
                    continue
                try:
                    results.extend(future.result())
                except BrokenProcessPool:  # a worker died (killed, out of memory)
                    results.extend(read_chunk(paths))
        finally:
            self._pool.shutdown(cancel_futures=True)
        return results

    def _submit(self) -> None:
        assert self._pool is not None
        for start in range(0, len(self._pending), CHUNK_SIZE):
            paths = self._pending[start : start + CHUNK_SIZE]
            try:
                future = self._pool.submit(read_chunk, paths)
            except BrokenProcessPool:
                future = Future()
                future.set_exception(BrokenProcessPool())
            self._chunks.append((paths, future))
        self._pending = []


def read_all(paths: list[str], workers: int | None = None) -> list[TagsOrReason]:
    """Tags for each path in order, or the reason it could not be read."""
    reader = TagReader(workers)
    for path in paths:
        reader.add(path)
    return reader.results()


def read_chunk(paths: list[str]) -> list[TagsOrReason]:
    """Tags for each path in order, or the reason it could not be read (one process)."""
    results: list[TagsOrReason] = []
    for path in paths:
        try:
            results.append(read_tags(path))
        except AudioReadError as exc:
            results.append(exc.reason)
    return results
