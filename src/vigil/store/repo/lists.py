"""Queries for hash lists: merge-and-keep-provenance writes, exports, stats, lookups, index codes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Insert, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from vigil.core.clock import utcnow
from vigil.core.errors import Conflict, InvalidInput, NotFound
from vigil.core.states import ListPurpose
from vigil.store.db import Store, Tx
from vigil.store.models import Entry, EntrySource, HashList, VideoFrame

IN_CHUNK = 900  # values per IN (...) list: below SQLite's host-parameter limit
COPY_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS vigil_list_staging "
    "(hash_type varchar(16), value varchar(128), category varchar(64), origin varchar(500)) "
    "ON COMMIT DELETE ROWS"
)
_INSERTS: dict[str, Callable[[Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
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
    try:
        maker = _INSERTS[dialect]
    except KeyError:
        raise InvalidInput(f"unsupported database dialect {dialect!r}") from None
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


def write_rows(store: Store, list_id: int, rows: Sequence[RowLike]) -> int:
    """Merge rows into the store (each entry once, this list added as a source); returns new entries."""
    unique = {(r.hash_type, r.value): r for r in rows}
    if store.dialect == "postgresql" and not any(r.frames for r in unique.values()):
        return _write_copy(store, list_id, unique)
    keys = list(unique)
    now = utcnow()
    with store.engine.begin() as conn:
        ids = dict(_entry_ids(conn, keys))
        missing = [k for k in keys if k not in ids]
        if missing:
            conn.execute(
                insert_ignore(store.dialect, Entry.__table__, ["hash_type", "value"]),  # type: ignore[arg-type]
                [{"hash_type": t, "value": v} for t, v in missing],
            )
            ids.update(_entry_ids(conn, missing))
        conn.execute(
            insert_ignore(store.dialect, EntrySource.__table__, ["entry_id", "list_id"]),  # type: ignore[arg-type]
            [
                {
                    "entry_id": ids[k],
                    "list_id": list_id,
                    "category": r.category,
                    "origin": r.origin,
                    "added_at": now,
                }
                for k, r in unique.items()
            ],
        )
        frames = [
            {
                "entry_id": ids[k],
                "region": region,
                "frame": f.frame,
                "quality": f.quality,
                "pdq": f.pdq,
                "timestamp": f.timestamp,
            }
            for k, r in unique.items()
            for region, f in [("full", f) for f in r.frames or ()] + list(r.regions or ())
        ]
        if frames:
            conn.execute(
                insert_ignore(store.dialect, VideoFrame.__table__, ["entry_id", "region", "frame"]),  # type: ignore[arg-type]
                frames,
            )
    return len(missing)


def _write_copy(store: Store, list_id: int, unique: dict[tuple[str, str], RowLike]) -> int:
    """PostgreSQL bulk path: COPY into a staging table, then two set-based inserts."""
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(COPY_STAGING)
        with cursor.copy("COPY vigil_list_staging (hash_type, value, category, origin) FROM STDIN") as copy:
            for row in unique.values():
                copy.write_row((row.hash_type, row.value, row.category, row.origin))
        cursor.execute(
            "INSERT INTO entries (hash_type, value) SELECT hash_type, value FROM vigil_list_staging "
            "ON CONFLICT (hash_type, value) DO NOTHING"
        )
        new_entries = max(cursor.rowcount, 0)
        cursor.execute(
            "INSERT INTO entry_sources (entry_id, list_id, category, origin, added_at) "
            "SELECT e.id, %s, s.category, s.origin, now() FROM vigil_list_staging s "
            "JOIN entries e ON e.hash_type = s.hash_type AND e.value = s.value "
            "ON CONFLICT (entry_id, list_id) DO NOTHING",
            (list_id,),
        )
        raw.commit()
    finally:
        raw.close()
    return int(new_entries)


def _entry_ids(conn: Any, keys: list[tuple[str, str]]) -> Iterator[tuple[tuple[str, str], int]]:
    by_type: dict[str, list[str]] = defaultdict(list)
    for kind, value in keys:
        by_type[kind].append(value)
    for kind, values in by_type.items():
        for chunk in chunks(values):
            query = select(Entry.value, Entry.id).where(Entry.hash_type == kind, Entry.value.in_(chunk))
            for value, entry_id in conn.execute(query):
                yield (kind, value), entry_id


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
    return [
        {
            "name": hl.name,
            "purpose": hl.purpose.value,
            "source": hl.source,
            "entries": sum(counts[hl.id].values()),
            "by_type": dict(sorted(counts[hl.id].items())),
            "shared_with_other_lists": shared.get(hl.id, 0),
            "created_at": hl.created_at.isoformat(),
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
        for chunk in chunks(sorted(values)):
            query = select(Entry.value, Entry.id).where(Entry.hash_type == kind, Entry.value.in_(chunk))
            for value, entry_id in tx.execute(query):
                found[(kind, value)] = entry_id
    return found


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
    return select(EntrySource.entry_id).join(HashList).where(HashList.purpose == purpose)


def pdq_codes(store: Store, purpose: ListPurpose = ListPurpose.KNOWN) -> tuple[np.ndarray, np.ndarray]:
    """Entry ids and 32-byte codes of every PDQ entry on a list with this purpose, for the index."""
    query = (
        select(Entry.id, Entry.value)
        .where(Entry.hash_type == "pdq", Entry.id.in_(_on_purpose(purpose)))
        .order_by(Entry.id)
    )
    ids: list[int] = []
    hexes: list[str] = []
    with store.engine.connect() as conn:
        for entry, value in conn.execute(query.execution_options(yield_per=50_000)):
            ids.append(entry)
            hexes.append(value)
    codes = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32)
    return np.asarray(ids, dtype=np.int64), codes


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
    """Take entries off one list; entries stay if other lists hold them."""
    removed = 0
    for chunk in chunks(sorted(entry_ids)):
        result = tx.execute(
            delete(EntrySource).where(EntrySource.list_id == list_id, EntrySource.entry_id.in_(chunk))
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
