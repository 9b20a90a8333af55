"""List operations on the store: bulk import with merge-and-keep-provenance, export, stats, lookups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Insert, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vigil.core.errors import ItemError
from vigil.lists.formats.base import ListRow
from vigil.media.video import FrameHash
from vigil.store.db import Store
from vigil.store.models import Entry, EntrySource, HashList, VideoFrame, utcnow

PURPOSES = ("known", "ignore")
BATCH = 5000
COPY_BATCH = 200_000  # PostgreSQL rows per COPY

_INSERTS: dict[str, Callable[[Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def insert_ignore(dialect: str, table: Table, keys: list[str]) -> Insert:
    try:
        maker = _INSERTS[dialect]
    except KeyError:
        raise ValueError(f"unsupported database dialect {dialect!r}") from None
    statement: Insert = maker(table).on_conflict_do_nothing(index_elements=keys)
    return statement


@dataclass
class ImportResult:
    list_name: str
    rows: int = 0
    new_entries: int = 0
    errors: list[ItemError] = field(default_factory=list)


@dataclass(frozen=True)
class Provenance:
    list_name: str
    purpose: str
    category: str | None
    origin: str | None
    added_at: datetime


def ensure_list(session: Session, name: str, purpose: str = "known", source: str | None = None) -> HashList:
    if purpose not in PURPOSES:
        raise ValueError(f"list purpose must be one of {PURPOSES}")
    found = session.scalar(select(HashList).where(HashList.name == name))
    if found is not None:
        if found.purpose != purpose:
            raise ValueError(f"list {name!r} exists with purpose {found.purpose!r}, not {purpose!r}")
        return found
    created = HashList(name=name, purpose=purpose, source=source)
    session.add(created)
    session.flush()
    return created


def import_rows(
    store: Store,
    list_name: str,
    rows: Iterable[ListRow | ItemError],
    *,
    purpose: str = "known",
    source: str | None = None,
    category: str | None = None,
) -> ImportResult:
    """Add rows to a list. An entry already on another list is shared, gaining this list as a source."""
    result = ImportResult(list_name)
    with store.session() as session:
        hash_list = ensure_list(session, list_name, purpose, source)
        session.commit()
        list_id = hash_list.id
    batch: list[ListRow] = []
    for row in rows:
        if isinstance(row, ItemError):
            result.errors.append(row)
            continue
        if category and not row.category:
            row = replace(row, category=category)
        batch.append(row)
        if len(batch) >= (COPY_BATCH if store.dialect == "postgresql" else BATCH):
            _flush(store, list_id, batch, result)
            batch = []
    if batch:
        _flush(store, list_id, batch, result)
    return result


def _flush(store: Store, list_id: int, batch: list[ListRow], result: ImportResult) -> None:
    unique = {(r.hash_type, r.value): r for r in batch}
    if store.dialect == "postgresql" and not any(r.frames for r in unique.values()):
        _flush_copy(store, list_id, unique, result)
        return
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
    result.rows += len(batch)
    result.new_entries += len(missing)


COPY_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS vigil_list_staging "
    "(hash_type varchar(16), value varchar(128), category varchar(64), origin varchar(500)) "
    "ON COMMIT DELETE ROWS"
)


def _flush_copy(
    store: Store, list_id: int, unique: dict[tuple[str, str], ListRow], result: ImportResult
) -> None:
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
        result.new_entries += max(cursor.rowcount, 0)
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
    result.rows += len(unique)


def _entry_ids(conn: Any, keys: list[tuple[str, str]]) -> Iterator[tuple[tuple[str, str], int]]:
    by_type: dict[str, list[str]] = defaultdict(list)
    for kind, value in keys:
        by_type[kind].append(value)
    for kind, values in by_type.items():
        for start in range(0, len(values), 900):
            chunk = values[start : start + 900]
            query = select(Entry.value, Entry.id).where(Entry.hash_type == kind, Entry.value.in_(chunk))
            for value, entry_id in conn.execute(query):
                yield (kind, value), entry_id


def export_rows(store: Store, list_name: str, hash_types: Iterable[str] | None = None) -> Iterator[ListRow]:
    """Rows of one list in insertion order, with this list's own category and origin."""
    with store.session() as session:
        hash_list = session.scalar(select(HashList).where(HashList.name == list_name))
        if hash_list is None:
            raise KeyError(f"no list named {list_name!r}")
        query = (
            select(Entry.hash_type, Entry.value, EntrySource.category, EntrySource.origin, Entry.id)
            .join(EntrySource, EntrySource.entry_id == Entry.id)
            .where(EntrySource.list_id == hash_list.id)
            .order_by(Entry.id)
        )
        if hash_types is not None:
            query = query.where(Entry.hash_type.in_(list(hash_types)))
        for kind, value, category, origin, entry_id in session.execute(
            query.execution_options(yield_per=BATCH)
        ):
            frames = video_frames(session, entry_id) if kind == "vpdq" else None
            yield ListRow(kind, value, category, origin, frames)


def stats(store: Store) -> list[dict[str, Any]]:
    """Per list: purpose, entry counts by hash type, how many entries it shares with other lists."""
    with store.session() as session:
        lists = session.scalars(select(HashList).order_by(HashList.name)).all()
        by_type = session.execute(
            select(EntrySource.list_id, Entry.hash_type, func.count())
            .join(Entry, Entry.id == EntrySource.entry_id)
            .group_by(EntrySource.list_id, Entry.hash_type)
        ).all()
        multi = (
            select(EntrySource.entry_id).group_by(EntrySource.entry_id).having(func.count() > 1).subquery()
        )
        shared = dict(
            session.execute(
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
            "purpose": hl.purpose,
            "source": hl.source,
            "entries": sum(counts[hl.id].values()),
            "by_type": dict(sorted(counts[hl.id].items())),
            "shared_with_other_lists": shared.get(hl.id, 0),
            "created_at": hl.created_at.isoformat(),
        }
        for hl in lists
    ]


def lookup_exact(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Entry id for each (hash_type, value) that is on any list (one indexed IN query per type)."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for kind, value in pairs:
        if value:
            by_type[kind].add(value)
    found: dict[tuple[str, str], int] = {}
    for kind, values in by_type.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), 900):
            query = select(Entry.value, Entry.id).where(
                Entry.hash_type == kind, Entry.value.in_(ordered[start : start + 900])
            )
            for value, entry_id in session.execute(query):
                found[(kind, value)] = entry_id
    return found


def provenance(session: Session, entry_ids: Iterable[int]) -> dict[int, list[Provenance]]:
    ids = list(set(entry_ids))
    out: dict[int, list[Provenance]] = defaultdict(list)
    for start in range(0, len(ids), 900):
        query = (
            select(EntrySource, HashList)
            .join(HashList, HashList.id == EntrySource.list_id)
            .where(EntrySource.entry_id.in_(ids[start : start + 900]))
            .order_by(HashList.name)
        )
        for source, hash_list in session.execute(query):
            out[source.entry_id].append(
                Provenance(hash_list.name, hash_list.purpose, source.category, source.origin, source.added_at)
            )
    return dict(out)


def pdq_codes(store: Store, purpose: str = "known") -> tuple[np.ndarray, np.ndarray]:
    """Entry ids and 32-byte codes of every PDQ entry on a list with this purpose, for the index."""
    query = (
        select(Entry.id, Entry.value)
        .where(Entry.hash_type == "pdq")
        .where(Entry.id.in_(select(EntrySource.entry_id).join(HashList).where(HashList.purpose == purpose)))
        .order_by(Entry.id)
    )
    ids: list[int] = []
    hexes: list[str] = []
    with store.engine.connect() as conn:
        for entry_id, value in conn.execute(query.execution_options(yield_per=50_000)):
            ids.append(entry_id)
            hexes.append(value)
    codes = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32)
    return np.asarray(ids, dtype=np.int64), codes


def video_frames(session: Session, entry_id: int) -> tuple[FrameHash, ...]:
    query = (
        select(VideoFrame)
        .where(VideoFrame.entry_id == entry_id, VideoFrame.region == "full")
        .order_by(VideoFrame.frame)
    )
    return tuple(FrameHash(f.frame, f.quality, f.pdq, f.timestamp) for f in session.scalars(query))


def known_video_frames(
    store: Store, min_quality: int, region: str = "full"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frames of every known video at or above min_quality: entry ids, timestamps, frame numbers, codes."""
    query = (
        select(VideoFrame.entry_id, VideoFrame.timestamp, VideoFrame.frame, VideoFrame.pdq)
        .where(VideoFrame.quality >= min_quality, VideoFrame.region == region)
        .where(
            VideoFrame.entry_id.in_(
                select(EntrySource.entry_id).join(HashList).where(HashList.purpose == "known")
            )
        )
        .order_by(VideoFrame.entry_id, VideoFrame.frame)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query.execution_options(yield_per=50_000)).all()
    entries = np.asarray([r[0] for r in rows], dtype=np.int64)
    stamps = np.asarray([r[1] for r in rows], dtype=np.float64)
    numbers = np.asarray([r[2] for r in rows], dtype=np.int64)
    codes = np.frombuffer(bytes.fromhex("".join(r[3] for r in rows)), dtype=np.uint8).reshape(-1, 32)
    return entries, stamps, numbers, codes


def on_known_lists(store: Store, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (hash_type, value) pairs that are on at least one `known` list (ignore lists do not count)."""
    with store.session() as session:
        found = lookup_exact(session, pairs)
        sources = provenance(session, found.values())
    return {
        pair
        for pair, entry_id in found.items()
        if any(p.purpose == "known" for p in sources.get(entry_id, []))
    }


def remove_rows(store: Store, list_name: str, pairs: Iterable[tuple[str, str]]) -> int:
    """Take entries off one list (an exchange withdrew them); entries stay if other lists hold them."""
    removed = 0
    with store.session() as session:
        hash_list = session.scalar(select(HashList).where(HashList.name == list_name))
        if hash_list is None:
            return 0
        ids = sorted(lookup_exact(session, pairs).values())
        for start in range(0, len(ids), 900):
            result = session.execute(
                delete(EntrySource).where(
                    EntrySource.list_id == hash_list.id, EntrySource.entry_id.in_(ids[start : start + 900])
                )
            )
            removed += int(getattr(result, "rowcount", 0) or 0)
        session.commit()
    return removed
