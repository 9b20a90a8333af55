"""What every CLI module shares: consoles, `--db`, `--actor`, the one error handler, lazy start-up.

Command modules import only Typer, Rich and `vigil.core` at the top; each command imports the
domain it drives inside its body, so `vigil --help` does not load faiss, PyAV or scikit-learn.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from vigil.core.actor import Actor
from vigil.core.errors import InvalidInput, VigilError

if TYPE_CHECKING:
    from vigil.store.db import Store

console = Console()
err = Console(stderr=True, soft_wrap=True)
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL (default $VIGIL_DB or sqlite:///vigil.db)")
]
ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        envvar="VIGIL_ACTOR",
        help="Who is acting, for the audit log (default $VIGIL_ACTOR, else your login name)",
    ),
]
F = TypeVar("F", bound=Callable[..., Any])


def open_store(url: str | None) -> Store:
    from vigil.store.db import Store

    return Store(url)


def operator(name: str | None) -> Actor:
    """The CLI's actor: `--actor`/`$VIGIL_ACTOR`, else the account that runs the command."""
    if name and name.strip():
        return Actor.operator(name)
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = ""
    if not login:
        raise VigilError("cannot tell who is acting: pass --actor NAME or set $VIGIL_ACTOR")
    return Actor.operator(login)


def read_contexts(path: Path | None) -> dict[str, dict[str, Any]]:
    """A contexts file (item path -> what the service knows), every field checked before use."""
    import json

    from vigil.review.context import validate_all

    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{path}: not a readable JSON file: {exc}") from None
    return validate_all(raw)


def fail(exc: Exception | str) -> typer.Exit:
    """Print a user error without a traceback; `raise fail(exc) from None` exits with status 2."""
    err.print(f"[red]error:[/] {exc}")
    return typer.Exit(2)


def handle_errors(function: F) -> F:
    """The one CLI error handler: a VigilError is printed without a traceback and exits with 2."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except VigilError as exc:
            raise fail(exc) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]: committed work is kept")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


class App(typer.Typer):
    """A Typer app whose every command goes through `handle_errors`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_show_locals", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(handle_errors(function))
            return function

        return decorator
