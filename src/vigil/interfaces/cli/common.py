"""What every CLI module shares: consoles, the --db option and opening the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from vigil.store.db import Store

console = Console()
err = Console(stderr=True, soft_wrap=True)
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL (default $VIGIL_DB or sqlite:///vigil.db)")
]


def open_store(url: str | None) -> Store:
    return Store(url)


def fail(exc: Exception | str) -> typer.Exit:
    """Print a user error without a traceback; `raise fail(exc) from None` exits with status 2."""
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(2)
