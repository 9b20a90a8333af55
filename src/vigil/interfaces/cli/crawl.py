"""`vigil crawl ...`, `vigil takedown ...` and `vigil sites ...`."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vigil.core.errors import InvalidInput
from vigil.interfaces.cli.common import ActorOption, App, DbOption, console, err, open_store, operator

if TYPE_CHECKING:
    import subprocess

    from vigil.actions.takedown.desk import Desk
    from vigil.sources.crawl.engine import CrawlStats
    from vigil.store.db import Store

crawl_app = App(help="Crawl sites for known images (resumable).")
takedown_app = App(help="Takedown notices: open, send, re-check every 24 h, statistics.")
sites_app = App(help="Resurfacing sites: look-alike names and fingerprint ranking.")

HashersOption = Annotated[
    int | None,
    typer.Option(help="Image-hashing processes (default: one per core but one; 0 hashes in-process)"),
]
ResolveOption = Annotated[
    list[str] | None, typer.Option("--resolve", help="host=ip:port, like curl --resolve (repeatable)")
]


def _resolve(values: list[str] | None) -> dict[str, str]:
    out = {}
    for value in values or []:
        host, sep, target = value.partition("=")
        if not sep or ":" not in target:
            raise InvalidInput(f"--resolve wants host=ip:port, got {value!r}")
        out[host.strip().lower()] = target.strip()
    return out


def _networks(values: list[str]) -> list[str]:
    import ipaddress

    try:
        return [str(ipaddress.ip_network(v.strip(), strict=False)) for v in values]
    except ValueError as exc:
        raise InvalidInput(f"--allow-address: {exc}") from None


SHOWN_HITS = 50


def _report(store: Store, job_id: int, stats: CrawlStats) -> None:
    from vigil.sources.crawl import jobs

    console.print(
        f"job {job_id}: {stats.pages} pages, {stats.images} images in {stats.seconds:.1f} s "
        f"({stats.pages_per_second:.0f} pages/s); {stats.hits} hits; "
        f"skipped {stats.skipped_robots} by robots.txt, "
        f"{stats.skipped_scope} out of scope, {stats.skipped_traps} by budgets and trap checks; "
        f"{stats.errors} errors; {stats.left_queued} still queued"
    )
    if stats.interrupted:
        console.print(f"stopped by a signal: `vigil crawl resume {job_id}` carries on")
    found = jobs.hits(store, job_id, limit=SHOWN_HITS)  # a crawl may have found thousands
    if found:
        table = Table("hit", "page", "image", "match", "keywords")
        for h in found:
            m = h["matches"][0]
            table.add_row(
                str(h["id"]),
                h["page"],
                h["image"],
                f"{m['hash_type']} d={m['distance']}",
                ",".join(h["keywords"]),
            )
        console.print(table)
        if len(found) == SHOWN_HITS:
            console.print(f"the first {SHOWN_HITS}: `vigil crawl hits {job_id}` lists them all")


@crawl_app.command("run")
def run(
    seeds: Annotated[list[str], typer.Argument(help="Seed URLs")],
    scope: Annotated[
        str, typer.Option(help="site (registrable domain), host, or list (--allow only)")
    ] = "site",
    allow: Annotated[list[str] | None, typer.Option(help="Another site in scope (repeatable)")] = None,
    depth: Annotated[int, typer.Option(help="Link depth from the seeds")] = 5,
    max_pages: Annotated[int, typer.Option(help="Pages for the whole job")] = 100_000,
    ignore_robots: Annotated[bool, typer.Option("--ignore-robots", help="Do not obey robots.txt")] = False,
    delay: Annotated[float, typer.Option(help="Seconds between requests to one host")] = 1.0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight")] = 16,
    per_host: Annotated[int, typer.Option(help="Requests in flight per host")] = 4,
    keywords: Annotated[
        Path | None, typer.Option(help="Term list (id<TAB>term) checked on page text")
    ] = None,
    resolve: ResolveOption = None,
    resolve_only: Annotated[bool, typer.Option("--resolve-only", help="Fetch only --resolve hosts")] = False,
    allow_address: Annotated[
        list[str] | None,
        typer.Option(help="Network (CIDR) the crawler may reach although not public (repeatable)"),
    ] = None,
    deadline: Annotated[float, typer.Option(help="Seconds for one fetch, redirects included")] = 60.0,
    min_rate: Annotated[float, typer.Option(help="Bytes/s a body must keep up after 5 s")] = 2048.0,
    per_host_pages: Annotated[int, typer.Option(help="Pages one host may have over the whole job")] = 10_000,
    fetch_all_links: Annotated[
        bool, typer.Option("--fetch-all-links", help="Also fetch links to source files, archives, documents")
    ] = False,
    hashers: HashersOption = None,
    name: Annotated[str, typer.Option(help="Job name")] = "crawl",
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Start a crawl job and run it; Ctrl-C leaves it resumable with `vigil crawl resume JOB`."""
    with _early_hashers(hashers) as started:
        from vigil.sources.crawl import jobs
        from vigil.sources.crawl.policy import CrawlPolicy

        who = operator(actor)
        policy = CrawlPolicy(
            seeds=seeds,
            scope=scope,
            allowed=allow or [],
            max_depth=depth,
            max_pages=max_pages,
            obey_robots=not ignore_robots,
            delay=delay,
            concurrency=concurrency,
            per_host=per_host,
            resolve=_resolve(resolve),
            resolve_only=resolve_only,
            keywords=keywords.read_text(encoding="utf-8").splitlines() if keywords else [],
            allow_addresses=_networks(allow_address or []),
            deadline=deadline,
            min_rate=min_rate,
            per_host_pages=per_host_pages,
            fetch_all_links=fetch_all_links,
        )
        store = open_store(db)
        job_id = jobs.start_job(store, who, name, policy)
        stats = jobs.run_job(store, who, job_id, page_limit=max_pages, workers=len(started), started=started)
        _report(store, job_id, stats)


@contextlib.contextmanager
def _early_hashers(processes: int | None) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The crawl's hashing processes, started before the crawl loads its own code so that they
    load theirs and warm up meanwhile on another core (`vigil.signals.worker.spawn`), and ended
    with the command, however it ends."""
    from vigil.signals.worker import reap, spawn

    started = spawn(processes)
    try:
        yield started
    finally:
        reap(started)


@crawl_app.command("resume")
def resume(
    job_id: int, hashers: HashersOption = None, db: DbOption = None, actor: ActorOption = None
) -> None:
    """Continue a job from its stored frontier; done URLs are not fetched again."""
    with _early_hashers(hashers) as started:
        from vigil.sources.crawl import jobs

        store = open_store(db)
        stats = jobs.run_job(store, operator(actor), job_id, workers=len(started), started=started)
        _report(store, job_id, stats)


@crawl_app.command("queue")
def queue(
    job_id: int,
    evidence_dir: Annotated[Path, typer.Option(help="Encrypted evidence folder (as for serve)")] = Path(
        "vigil-evidence"
    ),
    key_file: Annotated[Path | None, typer.Option(help="Evidence key file")] = None,
    votes: Annotated[int, typer.Option(help="Agreeing reviewers needed")] = 2,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Put a job's hits in the review queue (fetched again, checked, quarantined encrypted)."""
    from vigil.review.evidence import Vault
    from vigil.sources.crawl.review import queue_hits

    result = queue_hits(open_store(db), job_id, Vault.open(evidence_dir, key_file), operator(actor), votes)
    for problem in result.problems:
        err.print(f"[yellow]skipped[/] {problem}")
    console.print(f"{len(result.items)} review items queued: {', '.join(map(str, result.items))}")


@crawl_app.command("hits")
def hits(job_id: int, db: DbOption = None) -> None:
    """Known images found by a job, for review (`vigil takedown open --hit ID` after confirming)."""
    from vigil.sources.crawl import jobs

    console.print_json(json.dumps(jobs.hits(open_store(db), job_id)))


ContactsOption = Annotated[
    Path | None, typer.Option(help="CSV domain,contact[,channel] (default abuse@site)")
]


Ip2AsnOption = Annotated[
    Path | None, typer.Option(help="IP-to-ASN table, ip2asn TSV (range_start, range_end, AS, country, name)")
]
AbuseOption = Annotated[
    Path | None, typer.Option(help="CSV asn,abuse[,channel][,cdn]: networks' abuse contacts")
]
HotlinesOption = Annotated[
    Path | None, typer.Option(help="CSV country,name,contact[,channel]: partner hotlines")
]
TemplatesOption = Annotated[
    Path | None, typer.Option(help="Folder of notice templates: {cc}-{role}.txt, {cc}.txt, {role}.txt")
]
OutboxOption = Annotated[Path | None, typer.Option(help="Folder for .eml files (unless $VIGIL_SMTP_HOST)")]
HotlineAfterOption = Annotated[float, typer.Option(help="Hours after the first notice to refer to a hotline")]


def _desk(
    *,
    contacts: Path | None = None,
    ip2asn: Path | None = None,
    abuse: Path | None = None,
    hotlines: Path | None = None,
    templates: Path | None = None,
    hotline_after: float = 48.0,
    resolve: list[str] | None = None,
) -> Desk:
    from datetime import timedelta

    from vigil.actions.takedown.contacts import ContactBook
    from vigil.actions.takedown.desk import Desk, HostingData, Hotlines

    return Desk(
        contacts=ContactBook.load(contacts),
        hosting=HostingData.load(ip2asn, abuse),
        hotlines=Hotlines.load(hotlines),
        templates=templates,
        hotline_after=timedelta(hours=hotline_after),
        resolve=_resolve(resolve),
    )


@takedown_app.command("open")
def takedown_open(
    hit: Annotated[int | None, typer.Option(help="A crawl hit the acting operator confirms")] = None,
    review_item: Annotated[int | None, typer.Option(help="A crawl review item reviewers confirmed")] = None,
    url: Annotated[str | None, typer.Option(help="Or a URL confirmed by other means")] = None,
    reason: Annotated[str, typer.Option(help="Why (for --url)")] = "confirmed by reviewer",
    contacts: ContactsOption = None,
    ip2asn: Ip2AsnOption = None,
    abuse: AbuseOption = None,
    resolve: ResolveOption = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Open notices for a crawl item reviewers confirmed, or (small teams) a hit or URL you confirm:
    to the site, and to its hosting network or CDN when the IP data knows it."""
    from vigil.actions.takedown import notices

    store, who = open_store(db), operator(actor)
    desk = _desk(contacts=contacts, ip2asn=ip2asn, abuse=abuse, resolve=resolve)
    if review_item is not None:
        notice = notices.open_from_review(store, who, review_item, desk.contacts, desk)[0]
    elif hit is not None:
        notice = notices.open_from_hit(store, who, hit, desk.contacts, desk)
    elif url:
        notice = notices.open_notice(store, who, url, confirmed_by=who.label, reason=reason, desk=desk)
    else:
        raise InvalidInput("give --review-item, --hit or --url")
    for row in notices.listing(store, url=notice.url):
        if row["status"] == "open":
            where = f" (AS{row['asn']} {row['provider']}, {row['country']})" if row["provider"] else ""
            line = f"notice {row['id']} opened for {row['url']} -> {row['role']} {row['contact']}{where}"
            console.print(line, soft_wrap=True)


@takedown_app.command("run")
def takedown_run(
    every: Annotated[float, typer.Option(help="Seconds between rounds")] = 3600.0,
    rounds: Annotated[int, typer.Option(help="Stop after this many rounds (0: run until stopped)")] = 0,
    outbox: OutboxOption = None,
    hotlines: HotlinesOption = None,
    templates: TemplatesOption = None,
    hotline_after: HotlineAfterOption = 48.0,
    ip2asn: Ip2AsnOption = None,
    abuse: AbuseOption = None,
    resolve: ResolveOption = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """The desk's scheduler: each round re-checks open URLs, refers those past the deadline to the
    hotline of their hosting country, and sends what is due (reminders every 24 h)."""
    from vigil.actions.takedown.outbox import OutboxConfig
    from vigil.actions.takedown.schedule import Round, run_every

    desk = _desk(
        ip2asn=ip2asn,
        abuse=abuse,
        hotlines=hotlines,
        templates=templates,
        hotline_after=hotline_after,
        resolve=resolve,
    )

    def report(done: Round) -> None:
        console.print(
            f"{done.at.isoformat(timespec='seconds')}: rechecked {done.rechecked}, "
            f"referred to hotlines {len(done.escalated)}, sent {len(done.sent)}",
            soft_wrap=True,
        )

    run_every(
        open_store(db), operator(actor), desk, OutboxConfig.from_env(outbox), every,
        rounds=rounds or None, report=report,
    )  # fmt: skip


NowOption = Annotated[str | None, typer.Option(help="Pretend it is this ISO time (drills, tests)")]


def _now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--now wants an ISO time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a time without offset is UTC


@takedown_app.command("send")
def takedown_send(
    outbox: OutboxOption = None,
    templates: TemplatesOption = None,
    now: NowOption = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Send notices never sent, or last sent 24 h or more ago (hotline referrals once)."""
    from vigil.actions.takedown import notices
    from vigil.actions.takedown.outbox import OutboxConfig

    desk = _desk(templates=templates)
    config = OutboxConfig.from_env(outbox)
    sent = notices.send_due(open_store(db), operator(actor), config, _now(now), desk)
    for notice_id, receipt in sent:
        console.print(f"notice {notice_id}: {receipt}")
    console.print(f"{len(sent)} notices sent")


@takedown_app.command("escalate")
def takedown_escalate(
    hotlines: HotlinesOption = None,
    hotline_after: HotlineAfterOption = 48.0,
    ip2asn: Ip2AsnOption = None,
    now: NowOption = None,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Refer URLs still up past the deadline to the partner hotline of their hosting country."""
    from vigil.actions.takedown import notices

    desk = _desk(ip2asn=ip2asn, hotlines=hotlines, hotline_after=hotline_after)
    opened = notices.escalate(open_store(db), operator(actor), desk, _now(now))
    console.print(f"{len(opened)} referred to hotlines" + (f": notices {opened}" if opened else ""))


@takedown_app.command("recheck")
def takedown_recheck(
    resolve: ResolveOption = None, now: NowOption = None, db: DbOption = None, actor: ActorOption = None
) -> None:
    """Fetch each open notice's URL: gone or changed is removed (with the time), else still present."""
    from vigil.actions.takedown import notices

    counts = notices.recheck(open_store(db), operator(actor), _now(now), _resolve(resolve))
    console.print(f"{counts.get('removed', 0)} removed, {counts.get('still_present', 0)} still present")


@takedown_app.command("confirm")
def takedown_confirm(
    notice_id: Annotated[int, typer.Argument(help="A notice the re-check made a removal candidate")],
    removed: Annotated[
        bool,
        typer.Option("--removed/--present", help="Your verdict: gone, or still there (reminders resume)"),
    ],
    note: Annotated[str, typer.Option(help="What you saw")] = "",
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """Confirm or deny a removal candidate (redirected away, 403, 451 or changed content; audited)."""
    from vigil.actions.takedown import notices

    notices.confirm_removal(open_store(db), operator(actor), notice_id, removed, note)
    console.print(f"notice {notice_id}: {'removed' if removed else 'still present, reminders resume'}")


@takedown_app.command("stats")
def takedown_stats(db: DbOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Open and removed notices, median removal time, open notices per host."""
    from vigil.actions.takedown import notices

    s = notices.stats(open_store(db))
    if as_json:
        console.print_json(json.dumps(dataclasses.asdict(s)))
        return
    median = f"{s.median_removal_hours:.1f} h" if s.median_removal_hours is not None else "n/a"
    console.print(
        f"open {s.open}, removal candidates {s.candidates}, removed {s.removed}, median removal time "
        f"{median}, notices sent {s.notices_sent}"
    )
    table = Table("host", "open notices")
    for host, count in s.open_by_host.items():
        table.add_row(host, str(count))
    console.print(table)
    for title, groups in (("hosting provider", s.by_provider), ("hosting country", s.by_country)):
        times = Table(title, "URLs removed", "p50 h", "p90 h", "slowest h")
        for name, t in groups.items():
            times.add_row(name, str(t.urls), f"{t.p50:.1f}", f"{t.p90:.1f}", f"{t.slowest:.1f}")
        console.print(times)


@sites_app.command("candidates")
def sites_candidates(
    domain: Annotated[str, typer.Argument(help="Known site, e.g. example.com")],
    all_tlds: Annotated[
        bool, typer.Option("--all-tlds", help="Every ICANN suffix, not the usual burner set")
    ] = False,
    no_typos: Annotated[bool, typer.Option("--no-typos")] = False,
) -> None:
    """Look-alike names to check: other suffixes (TLD hopping) and typo variants."""
    from vigil.intel.sites.candidates import DEFAULT_SUFFIXES, all_suffixes, candidates

    try:
        names = candidates(domain, all_suffixes() if all_tlds else DEFAULT_SUFFIXES, not no_typos)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    console.print("\n".join(names))


@sites_app.command("rank")
def sites_rank(
    known: Annotated[str, typer.Argument(help="URL of the known site")],
    candidate_urls: Annotated[list[str] | None, typer.Argument(help="Candidate site URLs")] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from", help="File with one candidate URL per line")
    ] = None,
    pages: Annotated[int, typer.Option(help="Pages fetched per site")] = 8,
    top: Annotated[int, typer.Option(help="Rows to show")] = 20,
    resolve: ResolveOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Fingerprint the known site and each candidate; rank with a score per channel for review."""
    from vigil.intel.sites.fingerprint import fingerprint_site
    from vigil.intel.sites.rank import WEIGHTS, rank

    mapping = _resolve(resolve)
    targets = list(candidate_urls or []) + (from_file.read_text().split() if from_file else [])
    if not targets:
        raise InvalidInput("no candidates: pass URLs or --from FILE")
    reference = fingerprint_site(known, mapping, pages)
    ranked = rank(reference, [fingerprint_site(u, mapping, pages) for u in targets])[:top]
    if as_json:
        console.print_json(json.dumps([r.__dict__ for r in ranked]))
        return
    table = Table("site", "score", *WEIGHTS)
    for r in ranked:
        table.add_row(r.domain, f"{r.score:.3f}", *(f"{r.channels[k]:.2f}" for k in WEIGHTS))
    console.print(table)
