"""`vigil p2p ...`: observation logs from P2P monitoring tools, matched and ranked by distributor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vigil.core.errors import InvalidInput, VigilError
from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, err, open_store, operator

if TYPE_CHECKING:
    from vigil.sources.p2p.profiles import LogProfile

p2p_app = App(help="P2P observation logs: list matching and top distributors.")
profile_app = App(help="Log profiles: which column holds what, and what each event word means.")
p2p_app.add_typer(profile_app, name="profile")

ProfileOption = Annotated[
    str, typer.Option(help="Built-in (vigil, dht) or saved profile name, or a profile .json file")
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        help="FIELD=COLUMN pairs over the profile, e.g. time=ts,client_id=node_id,infohash=info_hash"
    ),
]


def _profile(name: str, columns: str | None) -> LogProfile:
    from vigil.sources.p2p.profiles import load_profile, parse_columns

    base = load_profile(name)
    return parse_columns(columns, base, f"{base.name}+columns") if columns else base


@p2p_app.command("rank")
def p2p_rank(
    log: Annotated[Path, typer.Argument(help="Observation CSV (columns as the profile says)")],
    profile: ProfileOption = "vigil",
    columns: ColumnsOption = None,
    by: Annotated[str, typer.Option(help="client (client id, else IP) or ip")] = "client",
    crawlers: Annotated[
        Path | None,
        typer.Option(help="File of crawler / monitoring node ids or IPs, one a line: never ranked"),
    ] = None,
    top: Annotated[int, typer.Option(help="Hosts to show")] = 20,
    export: Annotated[
        Path | None, typer.Option(help="Write triage bundles (JSON lines) for the top hosts")
    ] = None,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Match sightings against known lists and rank hosts by distinct known files they offered.
    Hosts that only queried, and the named crawlers, are counted apart and never ranked."""
    from vigil.sources.p2p.hosts import known_lookup, rank_log, to_bundle
    from vigil.store import audit

    if by not in ("client", "ip"):
        raise InvalidInput("--by must be client or ip")
    chosen_profile = _profile(profile, columns)
    names = crawlers.read_text().split() if crawlers else []
    store = open_store(db)
    try:
        ranking = rank_log(log, known_lookup(store), chosen_profile, by, crawlers=names)
    except OSError as exc:
        raise VigilError(f"cannot read {log}: {exc}") from None
    for problem in ranking.problems[:50]:
        err.print(f"[yellow]skipped[/] {problem}")
    if len(ranking.problems) > 50:
        err.print(f"[yellow]... and {len(ranking.problems) - 50} more skipped[/]")
    table = Table("rank", "host", "known files", "downloaded", "known sightings", "days", "IPs", "note")
    for rank, h in enumerate(ranking.hosts[:top], start=1):
        notes = ["shared IP"] if any(ip in ranking.shared_ips for ip in h.ips) else []
        notes += [f"{len(h.aliases)} more peer ids"] if h.aliases else []
        table.add_row(
            str(rank),
            h.key,
            str(len(h.known_files)),
            str(len(h.known_downloaded)),
            str(h.known_observations),
            str(len(h.days)),
            str(len(h.ips)),
            ", ".join(notes),
        )
    console.print(table)
    console.print(
        f"{ranking.observations} sightings, {len(ranking.hosts)} hosts ranked, "
        f"{len(ranking.query_only)} only queried, {len(ranking.excluded)} named crawlers, "
        f"{len(ranking.stitched)} peer ids stitched, {len(ranking.shared_ips)} IPs shared by several "
        f"clients, {len(ranking.problems)} rows skipped"
    )
    if export:
        chosen = [h for h in ranking.hosts[:top] if h.known_files]
        export.write_text("".join(json.dumps(to_bundle(h)) + "\n" for h in chosen))
        audit.log(store, operator(actor), "p2p.export", str(export), {"hosts": len(chosen)})
        console.print(f"{len(chosen)} bundles written to {export} (import with `vigil triage import`)")


@profile_app.command("save")
def profile_save(
    name: Annotated[str, typer.Argument(help="Name to save the profile under")],
    columns: Annotated[
        str,
        typer.Option(
            help="FIELD=COLUMN pairs (fields: time, ip, port, client_id, "
            "infohash, file_hash, file_name, event)"
        ),
    ],
    base: Annotated[str, typer.Option(help="Profile whose events and columns to start from")] = "vigil",
    event: Annotated[
        list[str] | None, typer.Option(help="WORD=GRADE (downloaded, announced, queried); repeatable")
    ] = None,
) -> None:
    """Save a profile for a tool's log format, to use with `vigil p2p rank --profile NAME`."""
    from vigil.sources.p2p.profiles import Grade, LogProfile, load_profile, parse_columns, save_profile

    built = parse_columns(columns, load_profile(base), name)
    events = dict(built.events)
    for pair in event or []:
        word, sep, grade = pair.partition("=")
        if not sep or grade.strip() not in {g.value for g in Grade}:
            raise InvalidInput(f"--event {pair!r}: write WORD=downloaded|announced|queried")
        events[word.strip()] = Grade(grade.strip())
    saved = save_profile(LogProfile(name, built.columns, events, built.default_grade, built.file_hash_type))
    console.print(f"profile {name} saved to {saved}")


@profile_app.command("show")
def profile_show(name: Annotated[str, typer.Argument(help="Profile name or .json file")]) -> None:
    """Print a profile (built-in or saved) as JSON."""
    from vigil.sources.p2p.profiles import load_profile

    console.print_json(load_profile(name).to_json())
