"""`vigil worker`: runs the long jobs the service queues (scans asked for over the API) and, with
`--fetch-every`, fetches exchanges on schedule."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from vigil.interfaces.cli.common import DbOption, console, open_store

ENV_PATHS = (
    "VIGIL_EVIDENCE_DIR",
    "VIGIL_EVIDENCE_KEY_FILE",
    "VIGIL_INDEX_DIR",
    "VIGIL_AUDIT_ANCHOR",
    "VIGIL_AUDIT_KEY_FILE",
    "VIGIL_DATA_KEY_FILE",
)


def worker(
    once: Annotated[bool, typer.Option(help="Run the queued jobs, then stop")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between looks at an empty queue")] = 2.0,
    protect: Annotated[
        list[Path] | None, typer.Option(help="Also never read this path (the service's vault, keys, index)")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="Dask scheduler (tcp://host:8786) to hash scans on; default: local")
    ] = None,
    fetch_every: Annotated[
        float, typer.Option(help="Fetch every enabled exchange this often, in seconds (0: never)")
    ] = 0.0,
    db: DbOption = None,
) -> None:
    """Run queued jobs one at a time, as the key holder who asked; a failed job keeps its reason.

    Never reads the database's own files, nor the paths in --protect and in $VIGIL_EVIDENCE_DIR,
    $VIGIL_EVIDENCE_KEY_FILE, $VIGIL_INDEX_DIR, $VIGIL_AUDIT_ANCHOR and $VIGIL_AUDIT_KEY_FILE.
    """
    from vigil.sources import jobs

    protected = [*(protect or []), *(Path(v) for name in ENV_PATHS if (v := os.environ.get(name)))]
    store = open_store(db)
    idle = None
    if fetch_every > 0:
        from datetime import timedelta

        from vigil.actions.exchanges import sync
        from vigil.core.actor import Actor

        def idle() -> None:  # services notice the new list generation and rebuild their index
            for name, outcome in sync.fetch_due(
                store, Actor.system("scheduler"), timedelta(seconds=fetch_every)
            ).items():
                console.print(f"exchange {name}: {outcome}", soft_wrap=True)

    ran = jobs.work(store, protected, once=once, poll=poll, cluster=cluster, idle=idle)
    console.print(f"{ran} jobs run")
