"""Scale-out hashing on a Dask distributed cluster.

Workers read the items themselves (a shared filesystem or mount visible under the same paths) and
send back only the signals, which the scanning process matches and stores as usual, so a cluster
scan writes exactly what an embedded scan writes. At most `in_flight` chunks are queued at a time,
so a scan of millions of files does not flood the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator

from vigil.media.decode import Mode
from vigil.media.walk import ItemRef
from vigil.signals.compute import FileSignals

CHUNK = 16


def dask_batches(
    address: str,
    refs: list[ItemRef],
    mode: Mode,
    seconds_per_hash: float,
    batch: int,
    in_flight: int = 0,
    classifiers: tuple[str, ...] = (),
) -> Iterator[list[FileSignals]]:
    from distributed import Client, as_completed

    from vigil.sources.scan.runner import hash_chunk

    chunks = [refs[i : i + CHUNK] for i in range(0, len(refs), CHUNK)]
    with Client(address) as client:
        workers = max(sum(client.nthreads().values()), 1)
        limit = in_flight or workers * 4
        queue = iter(chunks)
        running = as_completed()
        for chunk in queue:
            running.add(client.submit(hash_chunk, chunk, mode, seconds_per_hash, classifiers, pure=False))
            if running.count() >= limit:
                break
        ready: list[FileSignals] = []
        for future in running:
            ready.extend(future.result())
            future.release()
            following = next(queue, None)
            if following is not None:
                running.add(
                    client.submit(hash_chunk, following, mode, seconds_per_hash, classifiers, pure=False)
                )
            if len(ready) >= batch:
                yield ready
                ready = []
        if ready:
            yield ready
