"""Exchanges kept in the store: configure, fetch with checkpoints, and share confirmed signals back.

Fetching uses the exchange's own python-threatexchange client. Each delta is applied to the exchange's
list with provenance (`exchange:NAME`) and its checkpoint is saved at once, so an interrupted fetch
resumes where it stopped. Items the exchange sends that Vigil cannot use are rejected one by one.
Sharing is opt-in per exchange, audited, and carries the reviewers' agreement.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import dacite
from threatexchange.exchanges.auth import SignalExchangeWithAuth
from threatexchange.exchanges.fetch_state import SignalOpinion, SignalOpinionCategory
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPIWithSimpleUpdates

from vigil.actions.exchanges.apis import EXCHANGE_APIS
from vigil.actions.exchanges.routes import ROUTES
from vigil.actions.exchanges.signals import SIGNALS, by_hash_type, te_types
from vigil.core.actor import Actor
from vigil.core.clock import aware, utcnow
from vigil.core.errors import Conflict, InvalidInput, ItemError, NotFound, Unavailable, VigilError
from vigil.core.states import ListPurpose
from vigil.lists import banks
from vigil.signals.types import HASH_TYPES
from vigil.store import audit
from vigil.store.db import Store, Tx
from vigil.store.models import Exchange, ExchangeShare, HashList, ReviewItem
from vigil.store.repo import exchanges as repo
from vigil.store.repo import lists as list_repo
from vigil.store.repo import review as review_repo
from vigil.store.repo import scans as scan_repo


@dataclass
class FetchResult:
    exchange: str
    added: int = 0
    removed: int = 0
    routed: int = 0  # signals handed to another engine (URLs to the blocklist, for review)
    deltas: int = 0
    rejected: list[ItemError] = field(default_factory=list)


def _api_cls(api: str) -> Any:
    return EXCHANGE_APIS.get(api)()


def collab_config(row: Exchange) -> Any:
    cls = _api_cls(row.api)
    data = {"name": row.name, "api": cls.get_name(), "enabled": row.enabled, **row.config}
    try:
        return dacite.from_dict(cls.get_config_cls(), data, config=dacite.Config(check_types=False))
    except (dacite.DaciteError, TypeError) as exc:
        raise InvalidInput(f"exchange {row.name}: bad configuration for {row.api}: {exc}") from exc


def client(store: Store, row: Exchange) -> Any:
    """A working client for the exchange: with the credentials set through HMA's API when there are
    some, else the API looks for its own (environment variables, credential files)."""
    cls = _api_cls(row.api)
    collab = collab_config(row)
    if issubclass(cls, SignalExchangeWithAuth):
        with store.session() as session:
            stored = repo.credentials(session, row.api)
            creds = stored.credentials if stored is not None else None
        if creds is not None:
            loaded = dacite.from_dict(
                cls.get_credential_cls(), creds, config=dacite.Config(check_types=False)
            )
            return cls.for_collab(collab, loaded)
    return cls.for_collab(collab)


def add_exchange(
    store: Store,
    actor: Actor,
    name: str,
    api: str,
    config: dict[str, Any],
    *,
    list_name: str | None = None,
    category: str | None = None,
    share: bool = False,
) -> Exchange:
    cls = _api_cls(api)  # unknown API names fail here, listing the known ones
    with store.transaction() as session:
        if repo.by_name(session, name) is not None:
            raise Conflict(f"exchange {name!r} already exists")
        hash_list = list_repo.ensure_list(session, list_name or name, ListPurpose.KNOWN, f"exchange:{api}")
        row = Exchange(
            name=name, api=api, config=config, list_id=hash_list.id, category=category, share=share
        )
        collab_config(row)  # validate the configuration before storing it
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor,
            "exchange.add",
            name,
            {"api": cls.get_name(), "share": share, "list": hash_list.name},
        )
        return row


def _provenance(exchange: str, key: str, value: Any) -> dict[str, Any]:
    """Where a record came from (HMA's `collab`: exchange -> keys) and what the exchange said about
    it (NCMEC: member ESP, classification, entry type), as JSON."""
    body = (
        dataclasses.asdict(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type)
        else value
    )
    safe = json.loads(
        json.dumps(body, default=lambda o: sorted(o, key=str) if isinstance(o, set) else str(o))
    )
    return {"collab": {exchange: [key]}, "provenance": safe}


def _records_from_simple(
    name: str, updates: dict[Any, Any], result: FetchResult, routed: list[tuple[str, str, str, bool]]
) -> tuple[list[banks.Record], list[str]]:
    """(type, signal) keyed updates: validate each; None means the exchange withdrew it. Signals
    of a routed type (`routes.ROUTES`: a URL) go to `routed` for their engine."""
    records: list[banks.Record] = []
    deletions: list[str] = []
    for key, metadata in updates.items():
        type_name, signal = key
        where = f"{name}:{type_name}:{str(signal)[:24]}"
        if type_name in ROUTES:
            routed.append((where, type_name, str(signal), metadata is None))
            continue
        if type_name not in SIGNALS:
            result.rejected.append(
                ItemError(
                    where,
                    f"signal type {type_name!r} is not one Vigil can match ({', '.join(SIGNALS.names())})",
                )
            )
            continue
        shared = SIGNALS.get(type_name)
        try:
            value = HASH_TYPES.get(shared.hash_type).normalize(
                shared.te_type.validate_signal_str(str(signal).lower())
            )
        except ValueError as exc:
            result.rejected.append(ItemError(where, str(exc)))
            continue
        record_key = f"{type_name}:{value}"
        if metadata is None:
            deletions.append(record_key)
        else:
            records.append(
                banks.Record(record_key, [(shared.hash_type, value)], _provenance(name, record_key, metadata))
            )
    return records, deletions


FILE_FINGERPRINTS = ("md5", "sha1", "sha256")  # file hashes a record may carry, which Vigil matches exactly


def _record_signals(
    api: Any, collab: Any, key: Any, record: Any, where: str, result: FetchResult
) -> list[tuple[str, str]]:
    """A record's signals: what the API's own converter makes of it, plus the file hashes it carries
    (NCMEC lists photo MD5s and SHA-1s, which python-threatexchange has no signal type for but Vigil
    matches as it matches any file). A bad value is rejected with its reason, the rest kept."""
    found: dict[tuple[str, str], None] = {}
    for te_type, values in api.naive_convert_to_signal_type(te_types(), collab, {key: record}).items():
        shared = SIGNALS.get(te_type.get_name())
        for value in values:
            found[(shared.hash_type, HASH_TYPES.get(shared.hash_type).normalize(str(value)))] = None
    wanted = getattr(collab, "only_esp_ids", None)
    if wanted and getattr(record, "member_id", None) not in wanted:
        return []  # the exchange's own filter (NCMEC: only these ESPs' entries)
    for kind, value in (getattr(record, "fingerprints", None) or {}).items():
        if kind in FILE_FINGERPRINTS:
            try:
                found[(kind, HASH_TYPES.get(kind).normalize(str(value)))] = None
            except ValueError as exc:
                result.rejected.append(ItemError(f"{where}:{kind}", str(exc)))
    return list(found)


def _records_from_keyed(
    api: Any, collab: Any, updates: dict[Any, Any], name: str, result: FetchResult
) -> tuple[list[banks.Record], list[str]]:
    """Record-keyed APIs (NCMEC, StopNCII, ThreatExchange): the API's own merge rule says whether a
    record is a deletion (NCMEC's tombstones), its converter which signals it holds. A record that
    yields no signal Vigil can match is rejected with the reason, never dropped silently."""
    records: list[banks.Record] = []
    deletions: list[str] = []
    for key, record in updates.items():
        record_key = str(key)
        merged = api.fetch_value_merge(None, record) if record is not None else None
        if merged is None:
            deletions.append(record_key)
            continue
        signals = _record_signals(api, collab, key, merged, f"{name}:{record_key}", result)
        if not signals:
            offered = sorted(getattr(merged, "fingerprints", {}) or {})
            result.rejected.append(
                ItemError(
                    f"{name}:{record_key}",
                    f"no signal Vigil can match (offered: {', '.join(offered) or 'none'}; usable: "
                    f"{', '.join([*SIGNALS.names(), *FILE_FINGERPRINTS])}), "
                    "or the exchange's filters exclude it",
                )
            )
            continue
        records.append(banks.Record(record_key, signals, _provenance(name, record_key, merged)))
    return records, deletions


STALE_FETCH = timedelta(hours=6)  # a fetch "running" this long died without letting go of the lock


def fetch(store: Store, actor: Actor, name: str, *, max_deltas: int | None = None) -> FetchResult:
    """Fetch from the last checkpoint; each delta is applied and checkpointed before the next. One
    fetch per exchange at a time (a second gets Conflict): two would apply the same deltas twice."""
    with store.session() as session:
        row = repo.by_name(session, name)
        if row is None:
            raise NotFound(f"no exchange {name!r}")
        list_name = session.get_one(HashList, row.list_id).name
    cls = _api_cls(row.api)
    collab = collab_config(row)
    checkpoint = None
    if row.checkpoint is not None:
        checkpoint = dacite.from_dict(
            cls.get_checkpoint_cls(), row.checkpoint, config=dacite.Config(check_types=False)
        )
    result = FetchResult(name)
    error: str | None = None
    _claim(store, name, "fetch")  # released with the outcome below, in one transaction
    finished = False
    try:
        fetcher = client(store, row)
        for delta in fetcher.fetch_iter(te_types(), checkpoint):
            routed: list[tuple[str, str, str, bool]] = []
            if issubclass(cls, SignalExchangeAPIWithSimpleUpdates):
                records, deletions = _records_from_simple(name, delta.updates, result, routed)
            else:
                records, deletions = _records_from_keyed(cls, collab, delta.updates, name, result)
            if records or deletions:
                added, removed = banks.apply_records(
                    store,
                    actor,
                    list_name,
                    records,
                    deletions,
                    category=row.category,
                    origin=f"exchange:{name}",
                )
                result.added += added
                result.removed += removed
            for where, type_name, value, withdrawn in routed:
                try:
                    ROUTES.get(type_name)(store, actor, name, value, withdrawn)
                    result.routed += 1
                except VigilError as exc:  # refused by its engine (a shared host): listed, not lost
                    result.rejected.append(ItemError(where, str(exc)))
            _save_checkpoint(store, name, delta.checkpoint, result)
            result.deltas += 1
            if max_deltas is not None and result.deltas >= max_deltas:
                break
        else:
            finished = True  # the exchange had nothing more: up to date
    except Exception as exc:  # an exchange client can fail in many ways; record and report it
        error = f"{type(exc).__name__}: {exc}"
    with store.transaction() as session:
        stored = repo.by_name(session, name)
        assert stored is not None
        stored.last_fetch_at, stored.last_success, stored.last_error = utcnow(), error is None, error
        stored.fetch_started_at, stored.up_to_date = None, finished and error is None
        stored.fetched_total += result.added
        stored.rejected_total += len(result.rejected)
        audit.record(
            session,
            actor,
            "exchange.fetch",
            name,
            {
                "added": result.added,
                "removed": result.removed,
                "rejected": len(result.rejected),
                "error": error,
            },
        )
    if error:
        raise Unavailable(f"exchange {name}: fetch failed after {result.deltas} delta(s): {error}")
    return result


def fetch_due(store: Store, actor: Actor, every: timedelta) -> dict[str, str]:
    """Fetch every enabled exchange whose last fetch is older than `every` (what `vigil worker
    --fetch-every` runs between jobs); exchange -> outcome. A failure is recorded on the exchange
    (its status says so) and the others still run; one already fetching elsewhere is skipped."""
    now = utcnow()
    with store.session() as session:
        due = [
            r.name
            for r in repo.all_exchanges(session)
            if r.enabled and (r.last_fetch_at is None or aware(r.last_fetch_at) <= now - every)
        ]
    outcomes: dict[str, str] = {}
    for name in due:
        try:
            done = fetch(store, actor, name)
            outcomes[name] = f"added {done.added}, removed {done.removed}, rejected {len(done.rejected)}"
        except (Conflict, Unavailable, InvalidInput) as exc:
            outcomes[name] = str(exc)
    return outcomes


def _save_checkpoint(store: Store, name: str, checkpoint: Any, result: FetchResult) -> None:
    with store.transaction() as session:
        stored = repo.by_name(session, name)
        assert stored is not None
        is_instance = dataclasses.is_dataclass(checkpoint) and not isinstance(checkpoint, type)
        stored.checkpoint = dataclasses.asdict(checkpoint) if is_instance else None
        stored.checkpoint_time = checkpoint.get_progress_timestamp() if checkpoint is not None else None


def status(store: Store) -> list[dict[str, Any]]:
    with store.session() as session:
        rows = repo.all_exchanges(session)
        shares = repo.share_counts(session)
        return [
            {
                "name": r.name,
                "api": r.api,
                "list": session.get_one(HashList, r.list_id).name,
                "enabled": r.enabled,
                "share": r.share,
                "last_fetch_time": int(r.last_fetch_at.timestamp()) if r.last_fetch_at else 0,
                "checkpoint_time": r.checkpoint_time or 0,
                "success": bool(r.last_success),
                "running_since": int(r.fetch_started_at.timestamp()) if r.fetch_started_at else None,
                "last_success": r.last_success,  # None: never fetched
                "up_to_date": r.up_to_date,
                "error": r.last_error,
                "fetched": r.fetched_total,
                "rejected": r.rejected_total,
                "shared": shares.get(r.id, 0),
            }
            for r in rows
        ]


def _claim(store: Store, name: str, what: str) -> None:
    """Take the exchange's lock for a fetch or a share, or refuse with Conflict (saying since when
    the holder runs): a fetch and a share, or two of either, of one exchange never run at once."""
    started = utcnow()
    with store.transaction() as session:
        if not repo.claim_fetch(session, name, started, started - STALE_FETCH):
            running = repo.by_name(session, name)
            since = running.fetch_started_at if running is not None else None
            raise Conflict(
                f"exchange {name}: a fetch or share is already running (since {since}); {what} refused"
            )


@contextmanager
def _exchange_lock(store: Store, name: str, what: str) -> Iterator[None]:
    """Hold the exchange's lock for the block (a share; a fetch releases it with its outcome)."""
    _claim(store, name, what)
    try:
        yield
    finally:
        with store.transaction() as session:
            held = repo.by_name(session, name)
            if held is not None:
                held.fetch_started_at = None


@dataclass(frozen=True)
class _Share:
    item_id: int
    signal: str  # threatexchange name
    value: str
    category: str | None
    agreement: list[dict[str, Any]]


def share(store: Store, actor: Actor, name: str) -> int:
    """Send confirmed items' signals to an exchange that opted in; how many were sent.

    Each signal is written `pending` and audited before the partner is called, then confirmed
    `sent` (audited with the reviewers' agreement) or marked `failed` with the error, which stops
    the run with a clear message. A retry sends only what is not `sent`, so nothing goes twice and
    nothing goes unrecorded. One share or fetch per exchange at a time (the exchange's lock)."""
    with store.session() as session:
        row = repo.by_name(session, name)
        if row is None:
            raise NotFound(f"no exchange {name!r}")
        if not row.share:
            raise Conflict(f"exchange {name!r} was not added with --share; sharing is opt-in")
        exchange_id = row.id
    with _exchange_lock(store, name, "share"):
        sender = client(store, row)
        sent = 0
        for planned in _to_share(store, exchange_id):
            share_id = _begin_share(store, actor, name, exchange_id, planned)
            try:
                shared = SIGNALS.get(planned.signal)
                opinion = SignalOpinion(True, SignalOpinionCategory.POSITIVE_CLASS, set())
                sender.report_opinion(shared.te_type, planned.value, opinion)
            except Exception as exc:  # a partner can fail in many ways: record it, stop, say so
                error = f"{type(exc).__name__}: {exc}"
                _end_share(store, actor, name, share_id, planned, error)
                raise Unavailable(
                    f"exchange {name}: sharing stopped at {planned.signal} {planned.value[:16]}... after "
                    f"{sent} sent ({error}); run it again to retry what was not sent"
                ) from None
            _end_share(store, actor, name, share_id, planned, None)
            sent += 1
    return sent


def _to_share(store: Store, exchange_id: int) -> list[_Share]:
    """Signals of confirmed items the partner has not confirmed receiving, with their agreement."""
    out: list[_Share] = []
    with store.session() as session:
        done = repo.shared_signals(session, exchange_id)
        for item in review_repo.confirmed(session):
            votes = review_repo.votes(session, item.id)
            agreement = [
                {"reviewer": v.reviewer_id, "decision": v.decision, "category": v.category, "final": v.final}
                for v in votes
            ]
            for signal_name, value in _item_signals(session, item):
                if (signal_name, value) not in done:
                    done.add((signal_name, value))
                    out.append(_Share(item.id, signal_name, value, item.category, agreement))
    return out


def _begin_share(store: Store, actor: Actor, name: str, exchange_id: int, planned: _Share) -> int:
    with store.transaction() as session:
        found = repo.share_row(session, exchange_id, planned.signal, planned.value)
        if found is None:
            found = ExchangeShare(
                exchange_id=exchange_id,
                signal_type=planned.signal,
                value=planned.value,
                review_item_id=planned.item_id,
                status="pending",
                attempts=1,
            )
            session.add(found)
        else:
            found.status, found.attempts, found.error = "pending", found.attempts + 1, None
        session.flush()
        audit.record(
            session,
            actor,
            "exchange.share_pending",
            name,
            {"signal_type": planned.signal, "value": planned.value, "attempt": found.attempts},
        )
        return found.id


def _end_share(
    store: Store, actor: Actor, name: str, share_id: int, planned: _Share, error: str | None
) -> None:
    with store.transaction() as session:
        found = session.get_one(ExchangeShare, share_id)
        found.status, found.error = ("failed", error) if error else ("sent", None)
        if error:
            audit.record(
                session,
                actor,
                "exchange.share_failed",
                name,
                {"signal_type": planned.signal, "value": planned.value, "error": error},
            )
            return
        found.confirmed_at = utcnow()
        audit.record(
            session,
            actor,
            "exchange.share",
            name,
            {
                "signal_type": planned.signal,
                "value": planned.value,
                "review_item": planned.item_id,
                "category": planned.category,
                "agreement": planned.agreement,
            },
        )


def _item_signals(session: Tx, item: ReviewItem) -> list[tuple[str, str]]:
    """The shareable signals of a confirmed item: PDQ for images, the file MD5 and SHA-256 for videos."""
    out = []
    scan_item = scan_repo.scan_item(session, item.scan_item_id) if item.scan_item_id else None
    if scan_item is not None and scan_item.pdq:
        out.append(("pdq", scan_item.pdq))
    if item.media_type == "video":
        for kind, value in (("md5", item.md5), ("sha256", item.sha256)):
            shared = by_hash_type(kind)
            if value and shared is not None:
                out.append((shared.name, value))
    return out
