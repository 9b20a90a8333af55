"""List operations, each audited: import, build from files, export, withdraw entries, stats.

An entry is stored once per (hash type, value); a second list holding it adds itself as another
source, so no list's category or origin is ever lost or merged. Rows that do not parse arrive here
as `ItemError`s and are reported per row while the good rows are imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.core.actor import Actor
from vigil.core.errors import ItemError
from vigil.core.states import ListPurpose
from vigil.lists.formats import FORMATS, ListRow
from vigil.lists.formats.vpdqfmt import video_row
from vigil.media.walk import ItemRef, walk
from vigil.signals.items import hash_item
from vigil.signals.vpdq import FrameHash
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.repo import calibrations
from vigil.store.repo import lists as repo
from vigil.store.repo.lists import Provenance

__all__ = ["ImportResult", "Provenance", "add_files", "export", "import_rows", "remove", "rows_of", "stats"]
STAGE_BATCH = 50_000  # SQLite rows per staging commit
STAGE_BATCH_PG = 200_000  # PostgreSQL rows per COPY


@dataclass
class ImportResult:
    list_name: str
    rows: int = 0
    new_entries: int = 0
    errors: list[ItemError] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {"rows": self.rows, "new_entries": self.new_entries, "rejected": len(self.errors)}


def import_rows(
    store: Store,
    actor: Actor,
    list_name: str,
    rows: Iterable[ListRow | ItemError],
    *,
    purpose: ListPurpose | str = ListPurpose.KNOWN,
    source: str | None = None,
    category: str | None = None,
    how: str = "import",
) -> ImportResult:
    """Add rows to a list (created if new): staged first, then published in one transaction that
    also writes the audit event `list.<how>`. Until then nothing of the import is matched; an import
    that dies half-way stays visible as `incomplete` in `stats` and is superseded by the next one."""
    purpose = ListPurpose(purpose)
    result = ImportResult(list_name)
    with store.transaction() as tx:
        list_id = repo.ensure_list(tx, list_name, purpose, source).id
        import_id = repo.begin_import(tx, list_id, actor.label, how)
    size = STAGE_BATCH_PG if store.dialect == "postgresql" else STAGE_BATCH
    try:
        batch: list[ListRow] = []
        for row in rows:
            if isinstance(row, ItemError):
                result.errors.append(row)
                continue
            batch.append(row)
            if len(batch) >= size:
                repo.stage(store, import_id, batch, category)
                batch = []
        if batch:
            repo.stage(store, import_id, batch, category)
        with store.transaction() as tx:
            result.rows, result.new_entries = repo.publish(tx, import_id, list_id, len(result.errors))
            audit.record(tx, actor, f"list.{how}", list_name, {**result.summary(), "purpose": purpose.value})
    except BaseException:
        with store.transaction() as tx:
            repo.fail_import(tx, import_id)
        raise
    return result


def add_files(
    store: Store,
    actor: Actor,
    folder: Path,
    list_name: str,
    *,
    limit: int = 0,
    category: str | None = None,
    purpose: ListPurpose | str = ListPurpose.KNOWN,
    seconds_per_hash: float = 0.0,
    regions: bool = True,
) -> ImportResult:
    """Hash files with the reference PDQ (exact mode; vPDQ for videos) and put their hashes on a list.

    Exact mode keeps the list comparable with what other PDQ users compute from the same files.
    With `regions`, each image's crops, halves and quadrants are hashed too and kept with its PDQ
    entry (never exported), so cropped copies match (`vigil.signals.known_regions`).
    """
    refs = [r for r in walk(folder) if isinstance(r, ItemRef) and not r.members]
    if limit:
        refs = refs[:limit]
    keypoints: dict[str, tuple[bytes, bytes]] = {}
    result = import_rows(
        store,
        actor,
        list_name,
        _file_rows(refs, category, seconds_per_hash, regions, keypoints),
        purpose=purpose,
        source=f"files under {folder}",
        how="add_files",
    )
    if keypoints:  # after the publish: an entry without keypoints only leaves its weak matches unchecked
        with store.transaction() as tx:
            repo.save_features(tx, keypoints)
    return result


def _file_rows(
    refs: list[ItemRef],
    category: str | None,
    seconds_per_hash: float,
    regions: bool,
    keypoints: dict[str, tuple[bytes, bytes]],
) -> Iterator[ListRow | ItemError]:
    """List rows of each file; the keypoints of each picture go into `keypoints` by PDQ value."""
    for ref in refs:
        signals = hash_item(ref, "exact", seconds_per_hash, regions_of_known=regions)
        if not signals.md5:
            yield ItemError(ref.label, signals.error or "unreadable")
            continue
        turned = signals.pdq_as_stored is not None
        if signals.pdq and signals.features:
            keypoints.setdefault(signals.pdq, signals.features)
        parts = tuple(
            (name, FrameHash(0, quality, value, 0.0)) for name, value, quality in signals.pdq_regions
        )
        for kind, value in signals.hashes().items():
            convention = " [upright per EXIF]" if kind == "pdq" and turned else ""
            extra = parts if kind == "pdq" and parts else None
            yield ListRow(kind, value, category, ref.label + convention, regions=extra)
        if signals.pdq_as_stored is not None and signals.pdq_as_stored != signals.pdq:
            # both conventions, so partners that hash as stored and query without variants match too
            note = f" [as stored, EXIF orientation {signals.exif_orientation}]"
            yield ListRow("pdq", signals.pdq_as_stored, category, ref.label + note)
        if signals.video is not None and signals.video.frames:
            yield video_row(signals.video.frames, ref.label, category, signals.video.regions)
        if signals.error:
            yield ItemError(ref.label, signals.error)


def rows_of(store: Store, list_name: str, hash_types: Iterable[str] | None = None) -> Iterator[ListRow]:
    """A list's rows in insertion order, with this list's own category and origin (frames for vPDQ)."""
    with store.session() as tx:
        list_id = repo.get(tx, list_name).id
        for entry_id, kind, value, category, origin in repo.export_rows(tx, list_id, hash_types):
            frames = tuple(FrameHash(*f) for f in repo.video_frames(tx, entry_id)) if kind == "vpdq" else None
            yield ListRow(kind, value, category, origin, frames)


def export(store: Store, actor: Actor, list_name: str, fmt: str, out: Path) -> int:
    """Write a list in a registered format; the export (who, which list, how many) is audited."""
    writer = FORMATS.get(fmt)
    count = writer.write(rows_of(store, list_name), out)
    audit.log(store, actor, "list.export", list_name, {"format": writer.name, "entries": count})
    return count


def remove(store: Store, actor: Actor, list_name: str, pairs: Iterable[tuple[str, str]]) -> int:
    """Take (hash type, value) pairs off one list (an exchange withdrew them); other lists keep theirs."""
    with store.transaction() as tx:
        hash_list = repo.by_name(tx, list_name)
        if hash_list is None:
            return 0
        removed = repo.remove_entries(tx, hash_list.id, repo.lookup_exact(tx, pairs).values())
        if removed:
            audit.record(tx, actor, "list.remove", list_name, {"entries": removed})
    return removed


def stats(store: Store) -> list[dict[str, Any]]:
    """Entries per list and hash type, how many are shared with other lists, and the list's newest
    calibration (its weak radius and what it rests on; None for a list never calibrated)."""
    with store.session() as tx:
        rows = repo.stats(tx)
        calibrated = calibrations.latest(tx)
    for row in rows:
        found = calibrated.get(row["name"])
        row["calibration"] = (
            None
            if found is None
            else {
                "at": found.created_at.isoformat(),
                "by": found.actor,
                "images": found.images,
                "codes": found.codes,
                "closest": found.closest,
                "quantiles": found.quantiles,
                "target": found.target,
                "strong_radius": found.strong_radius,
                "weak_radius": found.weak_radius,
                "found": found.found,
            }
        )
    return rows


def provenance(store: Store, entry_ids: Iterable[int]) -> dict[int, list[Provenance]]:
    """Every list each entry is on, with that list's category and origin."""
    with store.session() as tx:
        return repo.provenance(tx, entry_ids)


def count_known(store: Store, hash_type: str) -> int:
    """Distinct entries of one hash type on `known` lists (what the matching index holds)."""
    with store.session() as tx:
        return repo.count_on_purpose(tx, hash_type)
