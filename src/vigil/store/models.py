"""Tables for hash lists with provenance and for scans with their items and matches."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vigil.core.actor import KEY_ROLES, Role
from vigil.core.clock import utcnow
from vigil.core.states import (
    BlockKind,
    BlockLevel,
    BlockStatus,
    CaseStatus,
    CrawlJobStatus,
    CrawlUrlKind,
    CrawlUrlStatus,
    Decision,
    HitStatus,
    ImportStatus,
    ItemStatus,
    JobStatus,
    ListPurpose,
    ModelState,
    NoticeStatus,
    ReviewSource,
    ReviewStatus,
    ScanStatus,
    SubmissionStatus,
)
from vigil.store.sealed import SealedJSON, SealedText

__all__ = ["utcnow"]  # re-exported for callers that stamp rows


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={"ix": "ix_%(column_0_label)s", "ck": "ck_%(table_name)s_%(constraint_name)s"}
    )


def state(enum: type[StrEnum], column: str, length: int = 16) -> Enum:
    """Text column holding one of the enum's values, with a CHECK constraint `ck_<table>_<column>`.

    Rows come back as enum members, so a typo in a state is a type error, not a silent new state.
    """
    return Enum(
        enum,
        name=column,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class HashList(Base):
    """A named list from one source. `purpose` is `known` (report matches) or `ignore` (NSRL-style)."""

    __tablename__ = "hash_lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[ListPurpose] = mapped_column(state(ListPurpose, "purpose"), default=ListPurpose.KNOWN)
    source: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # HMA's per-bank rollout knob: the share of lookups on which this list answers (1.0: all).
    matching_enabled_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class ListCalibration(Base):
    """How close never-seen images come to a list's codes, measured on a benign calibration set.

    The weak tier's radius and every match's false-match estimate are derived from these facts:
    the lower quantiles of the distances between the calibration images' query hashes and a sample
    of the list's codes, the log-linear line through them (log10 of the share of pairs within d =
    `intercept` + `slope` * d), and a search of the whole list at the radius chosen, which found
    `found` calibration images (the radius is narrowed until it finds none).
    """

    __tablename__ = "list_calibrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    images: Mapped[int] = mapped_column(Integer)
    hashes: Mapped[int] = mapped_column(Integer)  # query hashes of all calibration images
    codes: Mapped[int] = mapped_column(Integer)  # the list's PDQ codes then, region hashes included
    sampled: Mapped[int] = mapped_column(Integer)  # codes the pair distances were measured against
    pairs: Mapped[int] = mapped_column(BigInteger)
    closest: Mapped[int] = mapped_column(Integer)
    quantiles: Mapped[dict[str, Any]] = mapped_column(JSON)
    slope: Mapped[float] = mapped_column(Float)
    intercept: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)  # per-query false-match probability asked for
    strong_radius: Mapped[int] = mapped_column(Integer)
    weak_radius: Mapped[int] = mapped_column(Integer)
    found: Mapped[int] = mapped_column(Integer)  # calibration images matched at weak_radius (0)


class EntryFeatures(Base):
    """ORB keypoints of a known picture Vigil hashed itself, to check its weak matches
    (`vigil.signals.features`): float32 (x, y) pairs and 32-byte descriptors, row for row."""

    __tablename__ = "entry_features"
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    points: Mapped[bytes] = mapped_column(LargeBinary)
    descriptors: Mapped[bytes] = mapped_column(LargeBinary)


class ListImport(Base):
    """One import into a list. Its rows wait in `list_import_rows` until they are published, all at
    once, so an import that is killed half-way never leaves entries that match."""

    __tablename__ = "list_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id", ondelete="CASCADE"), index=True)
    status: Mapped[ImportStatus] = mapped_column(state(ImportStatus, "status"), default=ImportStatus.STAGING)
    how: Mapped[str] = mapped_column(String(32))  # import, add_files, exchange_fetch, hma_add
    actor: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    new_entries: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Staged rows of imports in progress: no key and no index, so staging costs one append per row.
import_rows = Table(
    "list_import_rows",
    Base.metadata,
    Column("import_id", Integer, nullable=False),
    Column("hash_type", String(16), nullable=False),
    Column("value", String(128), nullable=False),
    Column("category", String(64)),
    Column("origin", String(500)),
    Column("frames", Text),  # vPDQ rows: their frames as JSON
)


class Entry(Base):
    """One distinct hash value; the lists it came from are in `sources`."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("hash_type", "value", name="uq_entry_type_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))


class EntrySource(Base):
    """Provenance: this entry is on this list, with the list's category and when it was added.

    No foreign keys, on purpose: rows are only ever written by the set-based publish of an import
    (`repo.lists.publish`) or with a bank item (`repo.banks.add_item`), both taking the ids from the
    rows they just wrote in the same transaction, and removed with
    their list (`repo.lists.delete_list`); entries are never deleted. Per-row key checks made a
    1M-row PostgreSQL import 2.8x slower than a bare COPY (see docs/benchmarks.md).
    """

    __tablename__ = "entry_sources"
    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str | None] = mapped_column(String(500))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


Index("ix_entry_sources_list", EntrySource.list_id)


class VideoFrame(Base):
    """One vPDQ frame of a known video (an Entry of hash type `vpdq`), or one region hash of a known
    image Vigil hashed itself (an Entry of type `pdq`; frame 0, region `tl07`, `c05`, `h-top`...:
    `vigil.signals.known_regions`)."""

    __tablename__ = "video_frames"
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(
        String(8), primary_key=True, default="full"
    )  # full|left|right|top|bottom
    frame: Mapped[int] = mapped_column(Integer, primary_key=True)
    quality: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[float] = mapped_column(Float)


class Job(Base):
    """Long work asked for over the API (scans), run by `vigil worker`, never inside the service."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        state(JobStatus, "status"), default=JobStatus.QUEUED, index=True
    )
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)  # who asked: name, role, key id (acts as them)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Scan(Base):
    __tablename__ = "scans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[str] = mapped_column(Text)
    status: Mapped[ScanStatus] = mapped_column(state(ScanStatus, "status"), default=ScanStatus.RUNNING)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # while running


class ScanItem(Base):
    """One file or archive member of a scan, identified by its reference (`ref`, `ref_key`).

    `path` is the label people read (undecodable bytes escaped); `ref` is `ItemRef.to_json()`: raw path
    bytes and member positions, what re-opens the item. `error` holds the reason for `error` and
    `skipped` items.
    """

    __tablename__ = "scan_items"
    __table_args__ = (UniqueConstraint("scan_id", "ref_key", name="uq_scan_item_ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(Text)
    ref_key: Mapped[str] = mapped_column(String(40))
    status: Mapped[ItemStatus] = mapped_column(state(ItemStatus, "status"))
    size: Mapped[int | None] = mapped_column(BigInteger)
    media_type: Mapped[str | None] = mapped_column(String(16))
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    pdq: Mapped[str | None] = mapped_column(String(64))
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)


class ScanMatch(Base):
    """A scan item matched a list entry, by which hash, at what distance, via which dihedral variant."""

    __tablename__ = "scan_matches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("scan_items.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"))
    hash_type: Mapped[str] = mapped_column(String(16))
    distance: Mapped[int] = mapped_column(Integer, default=0)
    variant: Mapped[str | None] = mapped_column(String(16))
    # exact | strong | weak (`vigil.match.tiers`); null on matches recorded before tiers existed
    tier: Mapped[str | None] = mapped_column(String(8))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ApiKey(Base):
    """An API key (only its SHA-256 is stored) and the role it acts with."""

    __tablename__ = "api_keys"
    # Keys are for people and their tools; the operator and system roles never authenticate by key.
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r.value) for r in KEY_ROLES)})", name="key_role"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[Role] = mapped_column(state(Role, "role", 32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UiSession(Base):
    """A review-UI login: the cookie holds a random id, the store only its SHA-256 (a stolen database
    row cannot be replayed as a cookie). Ended on logout, on key revocation, or by its timeouts."""

    __tablename__ = "ui_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))  # the synchronizer token every form must carry
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flash: Mapped[str | None] = mapped_column(Text)  # one message for the next page, kept server-side


class ReviewItem(Base):
    """A file waiting for (or past) human review: a scan match or an API submission."""

    __tablename__ = "review_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("scan_items.id", ondelete="SET NULL"), unique=True
    )
    source: Mapped[ReviewSource] = mapped_column(state(ReviewSource, "source"))
    path: Mapped[str | None] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(Text)  # the scanned item's reference, to re-open it
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # copies are found by it (links)
    md5: Mapped[str | None] = mapped_column(String(32))
    media_type: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[ReviewStatus] = mapped_column(
        state(ReviewStatus, "status"), default=ReviewStatus.PENDING, index=True
    )
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    reason: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # matches/classifier hits that raised it
    context: Mapped[dict[str, Any]] = mapped_column(  # uploader, IP events, account: sealed at rest
        SealedJSON("review_items.context"), default=dict
    )
    required_votes: Mapped[int] = mapped_column(Integer, default=2)
    category_scheme: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(8))
    flags: Mapped[dict[str, bool] | None] = mapped_column(JSON)  # what the deciding reviewers recorded
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pdq: Mapped[str | None] = mapped_column(String(64))  # to link near-identical copies (no re-exposure)
    linked_to: Mapped[int | None] = mapped_column(  # the item whose decision this one inherits
        ForeignKey("review_items.id", ondelete="SET NULL"), index=True
    )


class ReviewLease(Base):
    """An item handed to one reviewer until `expires_at`: each of the N votes comes from a reviewer
    the item was assigned to, and no more reviewers hold it at once than it still needs."""

    __tablename__ = "review_leases"
    __table_args__ = (UniqueConstraint("item_id", "reviewer_id", name="uq_lease_item_reviewer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    leased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewerSettings(Base):
    """How one reviewer wants previews shown (their own choice; every change is audited)."""

    __tablename__ = "reviewer_settings"
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    blur: Mapped[int] = mapped_column(Integer)  # blur radius in preview pixels (the minimum is enforced)
    greyscale: Mapped[bool] = mapped_column()
    preview_size: Mapped[int] = mapped_column(Integer)  # longest side in CSS pixels
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WellnessLimits(Base):
    """Exposure limits an admin sets for everyone: a break prompt after `break_after` items, and
    no more than `daily_cap` items a day per reviewer (one row, id 1)."""

    __tablename__ = "wellness_limits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    break_after: Mapped[int] = mapped_column(Integer)
    break_minutes: Mapped[int] = mapped_column(Integer)
    daily_cap: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewVote(Base):
    __tablename__ = "review_votes"
    __table_args__ = (UniqueConstraint("item_id", "reviewer_id", name="uq_vote_item_reviewer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    decision: Mapped[Decision] = mapped_column(state(Decision, "decision"))
    category_scheme: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(8))
    final: Mapped[bool] = mapped_column(default=False)  # a senior reviewer's ruling on an escalation
    note: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[dict[str, bool] | None] = mapped_column(JSON)  # publicly_available, potential_meme
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Evidence(Base):
    """A frozen copy of a confirmed file and its context, encrypted at rest, under legal hold."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    blob: Mapped[str] = mapped_column(String(200))  # file name inside the evidence folder
    context: Mapped[dict[str, Any]] = mapped_column(SealedJSON("evidence.context"), default=dict)
    legal_hold: Mapped[bool] = mapped_column(default=True)
    retain_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustodyEvent(Base):
    """Chain of custody: each event hashes the previous one, starting from the content hash."""

    __tablename__ = "custody_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    chain_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC of "custody:" + chain_hash (store/anchor)


class AuditEvent(Base):
    """Append-only, hash-chained audit log (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    # a reviewer's exposure and breaks are counted from their own events on every page (wellness)
    __table_args__ = (Index("ix_audit_log_actor_action_at", "actor", "action", "at"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40))  # ISO-8601 text, hashed exactly as stored
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON text
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))  # HMAC of `hash` with the audit key (store/anchor)


class Submission(Base):
    """A clearinghouse report built from a confirmed item, and where its submission got to."""

    __tablename__ = "report_submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), index=True)
    status: Mapped[SubmissionStatus] = mapped_column(
        state(SubmissionStatus, "status"), default=SubmissionStatus.DRAFT
    )
    report_xml: Mapped[str] = mapped_column(SealedText("report_submissions.report_xml"))
    actionability: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    remote_id: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    account_key: Mapped[str | None] = mapped_column(String(300), index=True)  # the reported user, if named
    failure: Mapped[str | None] = mapped_column(Text)  # why the last attempt failed
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReportFile(Base):
    """A confirmed item in a report; an item is in at most one report (one report per item or account)."""

    __tablename__ = "report_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("report_submissions.id"), index=True)
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"), unique=True)
    remote_file_id: Mapped[str | None] = mapped_column(String(64))  # the clearinghouse's fileId
    details_xml: Mapped[str | None] = mapped_column(Text)  # the fileDetails as sent
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BlockEntry(Base):
    """A domain or URL proposed for blocking; only reviewed (approved) entries are exported."""

    __tablename__ = "block_entries"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_block_kind_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[BlockKind] = mapped_column(state(BlockKind, "kind", 8))
    value: Mapped[str] = mapped_column(String(2000))
    source: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[BlockLevel] = mapped_column(state(BlockLevel, "level"), default=BlockLevel.BLOCK)
    status: Mapped[BlockStatus] = mapped_column(state(BlockStatus, "status"), default=BlockStatus.PENDING)
    forced: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewer: Mapped[str | None] = mapped_column(String(200))


class ZoneSerial(Base):
    """Last exported RPZ zone content hash and SOA serial, so the serial only moves on change."""

    __tablename__ = "zone_serials"
    zone: Mapped[str] = mapped_column(String(255), primary_key=True)
    serial: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))


class ClassifierScore(Base):
    """A classifier's score for a scanned item, stored beside its hashes with the model's identity."""

    __tablename__ = "classifier_scores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_item_id: Mapped[int] = mapped_column(ForeignKey("scan_items.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(50))
    score: Mapped[float] = mapped_column(Float)


class ModelStatus(Base):
    """Whether a model's scores may raise review priority; demotions are automatic and audited."""

    __tablename__ = "model_status"
    model_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    status: Mapped[ModelState] = mapped_column(state(ModelState, "status"), default=ModelState.ACTIVE)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TriageCase(Base):
    """A case: reports linked by shared hashes, accounts, e-mails or IP+time. Ids stay stable across runs."""

    __tablename__ = "triage_cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[CaseStatus] = mapped_column(state(CaseStatus, "status"), default=CaseStatus.OPEN)
    merged_into: Mapped[int | None] = mapped_column(Integer)
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # priority parts, reasons, jurisdiction
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TriageReport(Base):
    """An incoming report, normalised; `payload` is IncomingReport.as_json()."""

    __tablename__ = "triage_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("triage_cases.id"), index=True)
    duplicate_of: Mapped[str | None] = mapped_column(String(200))
    actionability: Mapped[int | None] = mapped_column(Integer)


PLAIN_CONTENT_BASE = 1 << 40
"""HMA content id of a row imported through `vigil lists` (no bank item): this base plus its entry id.
Items count up from 1 and never get near it, so the two id spaces cannot meet; a whole imported list
needs no extra row per hash."""


class BankItem(Base):
    """One content of a bank (HMA's bank content): its own id, note, metadata and disable time.

    The same hash added twice, or to three banks, is three items; an exchange's record is one item
    found again by its key (`key`), so an update replaces it and a deletion removes it. The hashes
    themselves stay shared `entries`; `bank_item_signals` says which belong to the item.
    """

    __tablename__ = "bank_items"
    __table_args__ = (UniqueConstraint("list_id", "key", name="uq_bank_items_list_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id", ondelete="CASCADE"), index=True)
    key: Mapped[str | None] = mapped_column(String(300))  # the exchange's record key; None for HMA adds
    note: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # user metadata or the source's provenance
    disable_until_ts: Mapped[int] = mapped_column(Integer, default=1)  # HMA: 1 on, 0 off, else off until
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BankItemSignal(Base):
    """A hash of a bank item (`list_id` repeated so "which items of this list hold entry E" is one probe)."""

    __tablename__ = "bank_item_signals"
    __table_args__ = (Index("ix_bank_item_signals_list_entry", "list_id", "entry_id"),)
    item_id: Mapped[int] = mapped_column(ForeignKey("bank_items.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    list_id: Mapped[int] = mapped_column(Integer)


class Exchange(Base):
    """A configured hash-sharing exchange (python-threatexchange SignalExchangeAPI) feeding one list."""

    __tablename__ = "exchanges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    api: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id"))
    category: Mapped[str | None] = mapped_column(String(64))
    share: Mapped[bool] = mapped_column(default=False)  # opt-in: send our confirmed signals back
    enabled: Mapped[bool] = mapped_column(default=True)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checkpoint_time: Mapped[int | None] = mapped_column(Integer)
    last_fetch_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success: Mapped[bool | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    fetched_total: Mapped[int] = mapped_column(Integer, default=0)
    rejected_total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The per-exchange lock: set while a fetch runs (two fetches at once would apply deltas twice).
    fetch_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    up_to_date: Mapped[bool] = mapped_column(
        default=False, server_default=false()
    )  # last fetch reached the end


class ExchangeCredential(Base):
    """Credentials set for an exchange API through HMA's API (sealed at rest); without a row the API
    finds its own (python-threatexchange's environment variables and credential files)."""

    __tablename__ = "exchange_credentials"
    api: Mapped[str] = mapped_column(String(100), primary_key=True)
    credentials: Mapped[dict[str, Any]] = mapped_column(SealedJSON("exchange_credentials.credentials"))
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExchangeShare(Base):
    """A signal we share to an exchange, once, with the review item whose agreement backs it.

    Written as `pending` (and audited) before the partner is called, then `sent` or `failed`: a
    crash or a refusal half-way leaves a row saying so, and the next run retries only what is not
    `sent`. A `pending` row after a crash may or may not have reached the partner; it is sent again
    (partners' opinion APIs are idempotent; the file exchange skips a line it already holds).
    """

    __tablename__ = "exchange_shares"
    __table_args__ = (UniqueConstraint("exchange_id", "signal_type", "value", name="uq_share_signal"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(50))
    value: Mapped[str] = mapped_column(String(128))
    review_item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id"))
    shared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # first attempt
    status: Mapped[str] = mapped_column(String(16), default="sent", server_default="sent")
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    error: Mapped[str | None] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CrawlJob(Base):
    """One crawl: seeds and policy; its frontier lives in crawl_urls so an interrupted crawl resumes."""

    __tablename__ = "crawl_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[CrawlJobStatus] = mapped_column(
        state(CrawlJobStatus, "status"), default=CrawlJobStatus.RUNNING
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CrawlUrl(Base):
    """A frontier entry: a page or image URL, queued or done, with what fetching it found."""

    __tablename__ = "crawl_urls"
    __table_args__ = (UniqueConstraint("job_id", "url_key", name="uq_crawl_url"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("crawl_jobs.id", ondelete="CASCADE"))
    url_key: Mapped[str] = mapped_column(String(40))  # sha1 of the normalised URL
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[CrawlUrlKind] = mapped_column(state(CrawlUrlKind, "kind", 8))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    referrer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CrawlUrlStatus] = mapped_column(
        state(CrawlUrlStatus, "status"), default=CrawlUrlStatus.QUEUED
    )
    http_status: Mapped[int | None] = mapped_column(Integer)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # error text, skip reason, keyword hits
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


Index("ix_crawl_urls_job_status", CrawlUrl.job_id, CrawlUrl.status)


class CrawlRef(Base):
    """A page showing an image (by their URL keys), kept so a resumed crawl still knows every page
    an image appears on when it finally fetches the image."""

    __tablename__ = "crawl_refs"
    __table_args__ = (UniqueConstraint("job_id", "image_key", "page_key", name="uq_crawl_ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("crawl_jobs.id", ondelete="CASCADE"))
    image_key: Mapped[str] = mapped_column(String(40), index=True)
    page_key: Mapped[str] = mapped_column(String(40))
    page_url: Mapped[str] = mapped_column(Text)


class CrawlHit(Base):
    """A known image found on a page, for human review before any notice goes out."""

    __tablename__ = "crawl_hits"
    __table_args__ = (UniqueConstraint("job_id", "page_url", "image_url", name="uq_crawl_hit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("crawl_jobs.id", ondelete="CASCADE"), index=True)
    page_url: Mapped[str] = mapped_column(Text)
    image_url: Mapped[str] = mapped_column(Text)
    image_sha256: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)  # matches (type, distance, lists), page keywords
    status: Mapped[HitStatus] = mapped_column(state(HitStatus, "status"), default=HitStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TakedownNotice(Base):
    """A notice to a host's abuse contact about a confirmed URL, re-sent until the content is gone."""

    __tablename__ = "takedown_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255), index=True)
    contact: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(16))  # email | http
    status: Mapped[NoticeStatus] = mapped_column(state(NoticeStatus, "status"), default=NoticeStatus.OPEN)
    reason: Mapped[str] = mapped_column(Text)
    confirmed_by: Mapped[str] = mapped_column(String(200))
    hit_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_hits.id"))
    content_sha256: Mapped[str | None] = mapped_column(String(64))  # what was confirmed at that URL
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # removal time starts
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sends: Mapped[int] = mapped_column(Integer, default=0)
    last_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_check: Mapped[str | None] = mapped_column(String(200))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    candidate_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first seen gone-ish
    present_check: Mapped[str | None] = mapped_column(String(200))  # a check a person ruled "still there"
    # Who this notice goes to for the URL (site | hosting | cdn | hotline), and where the URL was
    # hosted when the notice was opened (from the operator's IP-to-ASN table).
    role: Mapped[str] = mapped_column(String(16), default="site", server_default="site")
    ip: Mapped[str | None] = mapped_column(String(45))
    asn: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))


class Generation(Base):
    """A counter bumped in the same transaction as a change that others must notice (`lists`: any
    change to list entries), so every service process sees a list import, exchange fetch or bank
    change made by any other process and rebuilds its index."""

    __tablename__ = "generations"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
