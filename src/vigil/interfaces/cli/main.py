"""The `vigil` command line: one obvious command per job, each a thin adapter over the domain layer.

Every command that changes state takes `--actor` (or `$VIGIL_ACTOR`) and its domain call writes the
audit event; a `VigilError` anywhere prints as `error: ...` with exit status 2.

A command's module is imported when that command runs (or help lists it), not at start-up: building
every group cost `vigil crawl run --help` 0.54-0.60 s and 43.3 MB of RSS against 0.42-0.48 s and
39.5 MB for its own group alone (three runs each, one machine), and a crawl's wall time and peak
memory are both measured against Scrapy's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import typer
from typer.core import TyperGroup

from vigil.core.teardown import skip_exit_collections
from vigil.interfaces.cli.common import App

# name -> (module under vigil.interfaces.cli, attribute): a group (a Typer app) or one command
GROUPS: dict[str, tuple[str, str]] = {
    "lists": ("lists", "lists_app"),
    "keys": ("admin", "keys_app"),
    "audit": ("admin", "audit_app"),
    "review": ("admin", "review_app"),
    "reports": ("reports", "reports_app"),
    "evidence": ("evidence", "evidence_app"),
    "models": ("admin", "models_app"),
    "blocklist": ("blocking", "blocklist_app"),
    "search-warning": ("blocking", "search_app"),
    "text": ("text", "text_app"),
    "finance": ("finance", "finance_app"),
    "triage": ("triage", "triage_app"),
    "p2p": ("p2p", "p2p_app"),
    "exchanges": ("exchanges", "exchanges_app"),
    "crawl": ("crawl", "crawl_app"),
    "takedown": ("crawl", "takedown_app"),
    "sites": ("crawl", "sites_app"),
}
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("scan", "scan"),
    "hash": ("scan", "hash_file"),
    "report": ("scan", "report"),
    "serve": ("admin", "serve"),
    "worker": ("worker", "worker"),
    "stop-page": ("blocking", "stop_page"),
}


def _attribute(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"vigil.interfaces.cli.{module}"), name)


def _build(name: str) -> typer.core.TyperCommand | TyperGroup:
    if name in GROUPS:
        group = typer.main.get_group(_attribute(*GROUPS[name]))
        group.name = name
        return group
    single = App(add_completion=False)
    single.command(name)(_attribute(*COMMANDS[name]))
    command = typer.main.get_command(single)
    assert isinstance(command, typer.core.TyperCommand)
    return command


class _LazyCommands(MutableMapping[str, Any]):
    """Click's table of subcommands, each built on first look-up: running a command builds that
    one; help, completion and the tests that walk the tree build them all."""

    def __init__(self, names: list[str], build: Callable[[str], Any]) -> None:
        self.names, self.build, self.built = names, build, dict[str, Any]()

    def __getitem__(self, name: str) -> Any:
        if name not in self.built:
            if name not in self.names:
                raise KeyError(name)
            self.built[name] = self.build(name)
        return self.built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        if name not in self.names:
            self.names.append(name)
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        self.names.remove(name)
        self.built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.names))

    def __len__(self) -> int:
        return len(self.names)


class _LazyGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = _LazyCommands([*COMMANDS, *GROUPS], _build)
        for name, command in self.commands.items():
            table[name] = command
        self.commands = table


app = App(cls=_LazyGroup, help="Vigil: match files against known-material hash lists for human review.")


@app.callback()
def _main() -> None:
    """Every command is a subcommand (the callback makes `vigil` a group with none registered)."""


def main() -> None:
    """The `vigil` program: `app`, then an exit that skips the interpreter's collections over
    everything the command loaded (`vigil.core.teardown`; stores close themselves, `Store`). Tests
    drive `app` itself, in a process that goes on."""
    try:
        app()
    finally:
        skip_exit_collections()


if __name__ == "__main__":  # pragma: no cover
    main()
