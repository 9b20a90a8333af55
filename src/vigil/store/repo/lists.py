"""Queries for hash lists: merge-and-keep-provenance writes, exports, stats, lookups, index codes."""

from __future__ import annotations

import importlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Insert, Table, delete, exists, func, literal, select, text, update

from vigil.core.clock import utcnow
from vigil.core.errors import Conflict, InvalidInput, NotFound
from vigil.core.states import ImportStatus, ListPurpose
from vigil.store.db import Store, Tx
from vigil.store.models import (
    BankItem,
    BankItemSignal,
    Entry,
    EntryFeatures,
    EntrySource,
    HashList,
    ListImport,
    VideoFrame,
    import_rows,
)
from vigil.store.repo import generations

IN_CHUNK = 900  # values per IN (...) list: below SQLite's host-parameter limit
# Imported when a statement is built for them: a crawl on SQLite otherwise also carried the
# PostgreSQL dialect and its drivers' modules, 2.0 MiB of its memory.
_INSERTS = frozenset({"sqlite", "postgresql"})
FrameTuple = tuple[int, int, str, float]  # frame number, quality, PDQ hex, timestamp


class FrameLike(Protocol):
    @property
    def frame(self) -> int: ...
    @property
    def quality(self) -> int: ...
    @property
    def pdq(self) -> str: ...
    @property
    def timestamp(self) -> float: ...


class RowLike(Protocol):
    """What a list row must offer to be stored (`vigil.lists.formats.ListRow` does)."""

    @property
    def hash_type(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def origin(self) -> str | None: ...
    @property
    def frames(self) -> Sequence[FrameLike] | None: ...
    @property
    def regions(self) -> Sequence[tuple[str, FrameLike]] | None: ...


@dataclass(frozen=True)
class Provenance:
    list_name: str
    purpose: ListPurpose
    category: str | None
    origin: str | None
    added_at: datetime


def insert_ignore(dialect: str, table: Table, keys: list[str]) -> Insert:
    if dialect not in _INSERTS:
        raise InvalidInput(f"unsupported database dialect {dialect!r}")
    maker: Callable[[Table], Any] = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    statement: Insert = maker(table).on_conflict_do_nothing(index_elements=keys)
    return statement


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def by_name(tx: Tx, name: str) -> HashList | None:
    return tx.scalar(select(HashList).where(HashList.name == name))


def get(tx: Tx, name: str) -> HashList:
    found = by_name(tx, name)
    if found is None:
        raise NotFound(f"no list named {name!r}")
    return found


def ensure_list(tx: Tx, name: str, purpose: ListPurpose, source: str | None = None) -> HashList:
    found = by_name(tx, name)
    if found is not None:
        if found.purpose != purpose:
            have, want = found.purpose.value, purpose.value
            raise Conflict(f"list {name!r} exists with purpose {have!r}, not {want!r}")
        return found
    created = HashList(name=name, purpose=purpose, source=source)
    tx.add(created)
    tx.flush()
    return created


def all_lists(tx: Tx, purpose: ListPurpose | None = None) -> list[HashList]:
    query = select(HashList).order_by(HashList.name)
    if purpose is not None:
        query = query.where(HashList.purpose == purpose)
    return list(tx.scalars(query))


def begin_import(tx: Tx, list_id: int, actor: str, how: str) -> int:
    """A new import in `staging`; earlier unfinished imports of the list are superseded and dropped."""
    stale = list(
        tx.scalars(
            select(ListImport.id).where(
                ListImport.list_id == list_id, ListImport.status == ImportStatus.STAGING
            )
        )
    )
    if stale:
        tx.execute(delete(import_rows).where(import_rows.c.import_id.in_(stale)))
        tx.execute(
            update(ListImport)
            .where(ListImport.id.in_(stale))
            .values(status=ImportStatus.SUPERSEDED, finished_at=utcnow())
        )
    created = ListImport(list_id=list_id, status=ImportStatus.STAGING, actor=actor, how=how)
    tx.add(created)
    tx.flush()
    return created.id


def _frames(row: RowLike) -> str | None:
    if not row.frames and not row.regions:
        return None
    return _frames_json(row)


def _frames_json(row: RowLike) -> str:
    every = [("full", f) for f in row.frames or ()] + list(row.regions or ())
    return json.dumps([[region, f.frame, f.quality, f.pdq, f.timestamp] for region, f in every])


def _copy_text(value: str | None) -> str:
    """A value in PostgreSQL's COPY text format (tabs, newlines and backslashes escaped)."""
    if value is None:
        return "\\N"
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def stage(store: Store, import_id: int, rows: Sequence[RowLike], default_category: str | None = None) -> None:
    """Append rows to the import's staging area (one commit); nothing of them is matched yet."""
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if store.dialect == "postgresql":
            lines = "".join(
                f"{import_id}\t{_copy_text(r.hash_type)}\t{_copy_text(r.value)}\t"
                f"{_copy_text(r.category or default_category)}\t{_copy_text(r.origin)}\t"
                f"{_copy_text(_frames(r))}\n"
                for r in rows
            )
            columns = "import_id, hash_type, value, category, origin, frames"
            with cursor.copy(f"COPY list_import_rows ({columns}) FROM STDIN") as copy:
                copy.write(lines)
        else:
            values = [
                (import_id, r.hash_type, r.value, r.category or default_category, r.origin, _frames(r))
                for r in rows
            ]
            cursor.executemany("INSERT INTO list_import_rows VALUES (?, ?, ?, ?, ?, ?)", values)
        raw.commit()
    finally:
        raw.close()


PUBLISH_LOCK = 7263002  # PostgreSQL advisory lock: one publish at a time keeps the anti-joins exact


def publish(tx: Tx, import_id: int, list_id: int, rejected: int) -> tuple[int, int]:
    """Merge the staged rows into the lists in this transaction; (rows, new entries).

    Set-based and sorted, so the unique index grows in order instead of at random places. SQLite
    uses INSERT OR IGNORE; PostgreSQL inserts what an anti-join finds missing (no speculative
    insertion per row), under an advisory lock so that two publishes cannot race on a new entry.
    """
    now = utcnow()
    mine = import_rows.c.import_id == import_id
    staged = int(tx.scalar(select(func.count()).select_from(import_rows).where(mine)) or 0)
    params = {"i": import_id, "list": list_id, "now": now}
    if tx.get_bind().dialect.name == "postgresql":
        tx.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PUBLISH_LOCK})
        tx.execute(text("SET LOCAL work_mem = '256MB'"))
        tx.execute(text("ANALYZE list_import_rows"))
        last = int(tx.scalar(select(func.max(Entry.id))) or 0)
        tx.execute(
            text(
                "INSERT INTO entries (hash_type, value) SELECT DISTINCT s.hash_type, s.value "
                "FROM list_import_rows s WHERE s.import_id = :i AND NOT EXISTS "
                "(SELECT 1 FROM entries e WHERE e.hash_type = s.hash_type AND e.value = s.value) "
                "ORDER BY 1, 2"
            ),
            params,
        )
        # An entry created just now (id > last) cannot have a source yet: skip the probe for it.
        tx.execute(
            text(
                "INSERT INTO entry_sources (entry_id, list_id, category, origin, added_at) "
                "SELECT DISTINCT ON (e.id) e.id, :list, s.category, s.origin, :now FROM list_import_rows s "
                "JOIN entries e ON e.hash_type = s.hash_type AND e.value = s.value WHERE s.import_id = :i "
                "AND (e.id > :last OR NOT EXISTS "
                "(SELECT 1 FROM entry_sources x WHERE x.entry_id = e.id AND x.list_id = :list)) "
                "ORDER BY e.id"
            ),
            {**params, "last": last},
        )
        new_entries = int(tx.scalar(select(func.count()).select_from(Entry).where(Entry.id > last)) or 0)
    else:
        added = tx.execute(
            text(
                "INSERT OR IGNORE INTO entries (hash_type, value) SELECT hash_type, value "
                "FROM list_import_rows WHERE import_id = :i ORDER BY hash_type, value"
            ),
            params,
        )
        tx.execute(
            text(
                "INSERT OR IGNORE INTO entry_sources (entry_id, list_id, category, origin, added_at) "
                "SELECT e.id, :list, s.category, s.origin, :now FROM list_import_rows s "
                "JOIN entries e ON e.hash_type = s.hash_type AND e.value = s.value "
                "WHERE s.import_id = :i ORDER BY e.id"
            ),
            params,
        )
        new_entries = max(int(getattr(added, "rowcount", 0) or 0), 0)
    _publish_frames(tx, import_id)
    tx.execute(delete(import_rows).where(mine))
    tx.execute(
        update(ListImport)
        .where(ListImport.id == import_id)
        .values(
            status=ImportStatus.PUBLISHED,
            rows=staged,
            new_entries=new_entries,
            rejected=rejected,
            finished_at=now,
        )
    )
    generations.bump(tx)
    return staged, new_entries


def delete_list(tx: Tx, hash_list: HashList) -> None:
    """A list and every source row of it (entry_sources has no foreign key to cascade)."""
    tx.execute(delete(EntrySource).where(EntrySource.list_id == hash_list.id))
    tx.delete(hash_list)
    generations.bump(tx)


def _publish_frames(tx: Tx, import_id: int) -> None:
    query = select(import_rows.c.hash_type, import_rows.c.value, import_rows.c.frames).where(
        import_rows.c.import_id == import_id, import_rows.c.frames.is_not(None)
    )
    staged = tx.execute(query).all()
    if not staged:
        return
    ids = lookup_exact(tx, [(kind, value) for kind, value, _ in staged])
    rows = [
        {"entry_id": ids[(kind, value)], "region": r, "frame": f, "quality": q, "pdq": h, "timestamp": s}
        for kind, value, frames in staged
        for r, f, q, h, s in json.loads(frames)
    ]
    dialect = tx.get_bind().dialect.name
    keys = ["entry_id", "region", "frame"]
    tx.execute(insert_ignore(dialect, VideoFrame.__table__, keys), rows)  # type: ignore[arg-type]


def fail_import(tx: Tx, import_id: int) -> None:
    tx.execute(delete(import_rows).where(import_rows.c.import_id == import_id))
    tx.execute(
        update(ListImport)
        .where(ListImport.id == import_id)
        .values(status=ImportStatus.FAILED, finished_at=utcnow())
    )


def import_status(tx: Tx) -> dict[int, dict[str, Any]]:
    """Per list: its latest import and how many imports are unfinished (staged, never published)."""
    out: dict[int, dict[str, Any]] = {}
    for row in tx.scalars(select(ListImport).order_by(ListImport.id)):
        entry = out.setdefault(row.list_id, {"incomplete": 0})
        entry["incomplete"] += row.status == ImportStatus.STAGING
        entry["last_import"] = {
            "id": row.id,
            "status": row.status.value,
            "how": row.how,
            "rows": row.rows,
            "started_at": row.started_at.isoformat(),
        }
    return out


def export_rows(
    tx: Tx, list_id: int, hash_types: Iterable[str] | None = None, batch: int = 5000
) -> Iterator[tuple[int, str, str, str | None, str | None]]:
    """(entry id, hash type, value, category, origin) of one list in insertion order."""
    query = (
        select(Entry.id, Entry.hash_type, Entry.value, EntrySource.category, EntrySource.origin)
        .join(EntrySource, EntrySource.entry_id == Entry.id)
        .where(EntrySource.list_id == list_id)
        .order_by(Entry.id)
    )
    if hash_types is not None:
        query = query.where(Entry.hash_type.in_(list(hash_types)))
    yield from tx.execute(query.execution_options(yield_per=batch))


def stats(tx: Tx) -> list[dict[str, Any]]:
    """Per list: purpose, entry counts by hash type, how many entries it shares with other lists."""
    lists = all_lists(tx)
    by_type = tx.execute(
        select(EntrySource.list_id, Entry.hash_type, func.count())
        .join(Entry, Entry.id == EntrySource.entry_id)
        .group_by(EntrySource.list_id, Entry.hash_type)
    ).all()
    multi = select(EntrySource.entry_id).group_by(EntrySource.entry_id).having(func.count() > 1).subquery()
    shared = dict(
        tx.execute(
            select(EntrySource.list_id, func.count())
            .where(EntrySource.entry_id.in_(select(multi.c.entry_id)))
            .group_by(EntrySource.list_id)
        ).all()
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for list_id, kind, count in by_type:
        counts[list_id][kind] = count
    imports = import_status(tx)
    return [
        {
            "name": hl.name,
            "purpose": hl.purpose.value,
            "source": hl.source,
            "entries": sum(counts[hl.id].values()),
            "by_type": dict(sorted(counts[hl.id].items())),
            "shared_with_other_lists": shared.get(hl.id, 0),
            "created_at": hl.created_at.isoformat(),
            "incomplete_imports": imports.get(hl.id, {}).get("incomplete", 0),
            "last_import": imports.get(hl.id, {}).get("last_import"),
        }
        for hl in lists
    ]


def lookup_exact(tx: Tx, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Entry id for each (hash_type, value) that is on any list (one indexed IN query per type)."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for kind, value in pairs:
        if value:
            by_type[kind].add(value)
    found: dict[tuple[str, str], int] = {}
    for kind, values in by_type.items():
        if len(values) > IN_CHUNK and _entries_of_type(tx, kind, len(values)) < len(values):
            # Fewer entries of this type than values asked about (a P2P log's 400k info-hashes
            # against a list of 2k): one indexed scan of the type beats hundreds of IN queries.
            query = select(Entry.value, Entry.id).where(Entry.hash_type == kind)
            for value, entry_id in tx.execute(query):
                if value in values:
                    found[(kind, value)] = entry_id
            continue
        for chunk in chunks(sorted(values)):
            query = select(Entry.value, Entry.id).where(Entry.hash_type == kind, Entry.value.in_(chunk))
            for value, entry_id in tx.execute(query):
                found[(kind, value)] = entry_id
    return found


def _entries_of_type(tx: Tx, kind: str, up_to: int) -> int:
    """How many entries of one hash type there are, counting no further than `up_to`."""
    limited = select(Entry.id).where(Entry.hash_type == kind).limit(up_to).subquery()
    return int(tx.scalar(select(func.count()).select_from(limited)) or 0)


def provenance(tx: Tx, entry_ids: Iterable[int]) -> dict[int, list[Provenance]]:
    ids = list(set(entry_ids))
    out: dict[int, list[Provenance]] = defaultdict(list)
    for chunk in chunks(ids):
        query = (
            select(EntrySource, HashList)
            .join(HashList, HashList.id == EntrySource.list_id)
            .where(EntrySource.entry_id.in_(chunk))
            .order_by(HashList.name)
        )
        for source, hash_list in tx.execute(query):
            out[source.entry_id].append(
                Provenance(hash_list.name, hash_list.purpose, source.category, source.origin, source.added_at)
            )
    return dict(out)


def entry_values(tx: Tx, entry_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(entry_ids))
    out: dict[int, str] = {}
    for chunk in chunks(ids):
        out.update(tx.execute(select(Entry.id, Entry.value).where(Entry.id.in_(chunk))).all())
    return out


def entry_id(tx: Tx, hash_type: str, value: str) -> int | None:
    return tx.scalar(select(Entry.id).where(Entry.hash_type == hash_type, Entry.value == value))


def ignore_types(tx: Tx) -> set[str]:
    """Hash types that occur on any ignore list (so exact lookups know whether to check them)."""
    return set(
        tx.scalars(
            select(Entry.hash_type)
            .join(EntrySource, EntrySource.entry_id == Entry.id)
            .join(HashList, HashList.id == EntrySource.list_id)
            .where(HashList.purpose == ListPurpose.IGNORE)
            .distinct()
        )
    )


def ignored(tx: Tx, entry_ids: Iterable[int]) -> set[int]:
    """The entries among these that are on an ignore list."""
    out: set[int] = set()
    for chunk in chunks(list(entry_ids)):
        query = (
            select(EntrySource.entry_id)
            .join(HashList, HashList.id == EntrySource.list_id)
            .where(HashList.purpose == ListPurpose.IGNORE, EntrySource.entry_id.in_(chunk))
        )
        out.update(tx.scalars(query))
    return out


def _on_purpose(purpose: ListPurpose) -> Any:
    on_list = HashList.id == EntrySource.list_id
    return select(EntrySource.entry_id).join(HashList, on_list).where(HashList.purpose == purpose)


@dataclass(frozen=True)
class PdqCodes:
    """Codes for a PDQ index: row i is `codes[i]`, of entry `ids[i]`; `regions[i]` names the part of
    the known picture it hashes ("" for the whole picture, `tl07`, `h-top`...: region hashes)."""

    ids: np.ndarray
    codes: np.ndarray
    regions: np.ndarray


def _on_list(list_id: int) -> Any:
    return select(EntrySource.entry_id).where(EntrySource.list_id == list_id)


def pdq_codes(
    store: Store,
    purpose: ListPurpose = ListPurpose.KNOWN,
    *,
    list_id: int | None = None,
    regions: bool = True,
) -> PdqCodes:
    """Every PDQ entry on a list with this purpose (or on one list), then their region hashes."""
    on = _on_list(list_id) if list_id is not None else _on_purpose(purpose)
    whole = (
        select(Entry.id, Entry.value, literal(""))
        .where(Entry.hash_type == "pdq", Entry.id.in_(on))
        .order_by(Entry.id)
    )
    parts = (
        select(VideoFrame.entry_id, VideoFrame.pdq, VideoFrame.region)
        .join(Entry, Entry.id == VideoFrame.entry_id)
        .where(Entry.hash_type == "pdq", VideoFrame.entry_id.in_(on))
        .order_by(VideoFrame.entry_id, VideoFrame.region)
    )
    ids: list[int] = []
    hexes: list[str] = []
    names: list[str] = []
    with store.engine.connect() as conn:
        for query in (whole, parts) if regions else (whole,):
            for entry, value, region in conn.execute(query.execution_options(yield_per=50_000)):
                ids.append(entry)
                hexes.append(value)
                names.append(region)
    codes = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32)
    return PdqCodes(np.asarray(ids, dtype=np.int64), codes, np.asarray(names, dtype="U8"))


def count_on_purpose(tx: Tx, hash_type: str, purpose: ListPurpose = ListPurpose.KNOWN) -> int:
    """Distinct entries of one hash type on lists of this purpose."""
    query = select(func.count(func.distinct(Entry.id))).where(
        Entry.hash_type == hash_type, Entry.id.in_(_on_purpose(purpose))
    )
    return int(tx.scalar(query) or 0)


def video_frames(tx: Tx, entry: int) -> list[FrameTuple]:
    query = (
        select(VideoFrame.frame, VideoFrame.quality, VideoFrame.pdq, VideoFrame.timestamp)
        .where(VideoFrame.entry_id == entry, VideoFrame.region == "full")
        .order_by(VideoFrame.frame)
    )
    return [(f, q, p, t) for f, q, p, t in tx.execute(query)]


def known_video_frames(
    store: Store, min_quality: int, region: str = "full"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frames of every known video at or above min_quality: entry ids, timestamps, frame numbers, codes."""
    query = (
        select(VideoFrame.entry_id, VideoFrame.timestamp, VideoFrame.frame, VideoFrame.pdq)
        .where(VideoFrame.quality >= min_quality, VideoFrame.region == region)
        .where(VideoFrame.entry_id.in_(_on_purpose(ListPurpose.KNOWN)))
        .order_by(VideoFrame.entry_id, VideoFrame.frame)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query.execution_options(yield_per=50_000)).all()
    entries = np.asarray([r[0] for r in rows], dtype=np.int64)
    stamps = np.asarray([r[1] for r in rows], dtype=np.float64)
    numbers = np.asarray([r[2] for r in rows], dtype=np.int64)
    codes = np.frombuffer(bytes.fromhex("".join(r[3] for r in rows)), dtype=np.uint8).reshape(-1, 32)
    return entries, stamps, numbers, codes


def on_known_lists(tx: Tx, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (hash_type, value) pairs that are on at least one `known` list (ignore lists do not count)."""
    found = lookup_exact(tx, pairs)
    sources = provenance(tx, found.values())
    return {
        pair
        for pair, entry in found.items()
        if any(p.purpose == ListPurpose.KNOWN for p in sources.get(entry, []))
    }


def remove_entries(tx: Tx, list_id: int, entry_ids: Iterable[int]) -> int:
    """Take entries off one list (and off its bank items); entries stay if other lists hold them."""
    removed = 0
    for chunk in chunks(sorted(entry_ids)):
        result = tx.execute(
            delete(EntrySource).where(EntrySource.list_id == list_id, EntrySource.entry_id.in_(chunk))
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
        tx.execute(
            delete(BankItemSignal).where(
                BankItemSignal.list_id == list_id, BankItemSignal.entry_id.in_(chunk)
            )
        )
    if removed:
        empty = ~exists().where(BankItemSignal.item_id == BankItem.id)  # bank items left without a hash
        tx.execute(delete(BankItem).where(BankItem.list_id == list_id, empty))
        generations.bump(tx)
    return removed


def save_features(tx: Tx, by_value: dict[str, tuple[bytes, bytes]]) -> int:
    """Keep the keypoints of known pictures by their PDQ value (entries already published); a
    picture whose entry has keypoints keeps its first ones. Returns how many were written."""
    ids = lookup_exact(tx, [("pdq", value) for value in by_value])
    have = set(
        tx.scalars(select(EntryFeatures.entry_id).where(EntryFeatures.entry_id.in_(list(ids.values()))))
    )
    rows = [
        EntryFeatures(entry_id=entry_id, points=by_value[value][0], descriptors=by_value[value][1])
        for (_, value), entry_id in ids.items()
        if entry_id not in have
    ]
    tx.add_all(rows)
    return len(rows)


def features(tx: Tx, entry_ids: Iterable[int]) -> dict[int, tuple[bytes, bytes]]:
    wanted = list(set(entry_ids))
    query = select(EntryFeatures).where(EntryFeatures.entry_id.in_(wanted))
    return {row.entry_id: (row.points, row.descriptors) for row in tx.scalars(query)}
