"""Scale-out hashing on a Dask distributed cluster.

Workers read the items themselves (a shared filesystem or mount visible under the same paths) and
send back only the signals, which the scanning process matches and stores as usual, so a cluster
scan writes exactly what an embedded scan writes. At most `in_flight` chunks are queued at a time,
so a scan of millions of files does not flood the scheduler. Dask restarts workers that die; a
chunk whose worker died is reported item by item as `worker died` rather than lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from vigil.media.walk import ItemRef, Listed
from vigil.signals.compute import FileSignals
from vigil.signals.items import HashSettings, hash_unit

CHUNK = 16


def hash_chunk(
    refs: list[ItemRef], settings: HashSettings, classifiers: tuple[str, ...]
) -> list[FileSignals | Listed]:
    """Hash a few units (the unit of work a Dask worker runs)."""
    from vigil.sources.scan.pool import classifier

    classify = classifier(classifiers)
    return [result for ref in refs for result in hash_unit(ref, settings, classify=classify)]


def dask_results(
    address: str,
    refs: Iterable[ItemRef],
    settings: HashSettings,
    classifiers: tuple[str, ...] = (),
    in_flight: int = 0,
) -> Iterator[FileSignals | Listed]:
    from distributed import Client, as_completed

    source = iter(refs)
    chunks = iter(lambda: list(islice(source, CHUNK)), [])
    with Client(address) as client:
        workers = max(sum(client.nthreads().values()), 1)
        limit = in_flight or workers * 4
        running = as_completed()
        submitted: dict[str, list[ItemRef]] = {}

        def submit(chunk: list[ItemRef]) -> None:
            future = client.submit(hash_chunk, chunk, settings, classifiers, pure=False)
            submitted[future.key] = chunk
            running.add(future)

        for chunk in chunks:
            submit(chunk)
            if running.count() >= limit:
                break
        for future in running:
            chunk = submitted.pop(future.key)
            try:
                yield from future.result()
            except Exception as exc:  # a worker lost mid-chunk: every unit of it is reported, none lost
                yield from (
                    Listed(ref, f"worker died: {type(exc).__name__}", unreadable=True) for ref in chunk
                )
            future.release()
            following = next(chunks, None)
            if following is not None:
                submit(following)
