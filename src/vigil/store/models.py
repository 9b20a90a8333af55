"""Tables for hash lists with provenance and for scans with their items and matches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class HashList(Base):
    """A named list from one source. `purpose` is `known` (report matches) or `ignore` (NSRL-style)."""

    __tablename__ = "hash_lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(16), default="known")
    source: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Entry(Base):
    """One distinct hash value; the lists it came from are in `sources`."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("hash_type", "value", name="uq_entry_type_value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash_type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))
    sources: Mapped[list[EntrySource]] = relationship(back_populates="entry", cascade="all, delete-orphan")


class EntrySource(Base):
    """Provenance: this entry is on this list, with the list's category and when it was added."""

    __tablename__ = "entry_sources"
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hash_lists.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str | None] = mapped_column(String(500))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    entry: Mapped[Entry] = relationship(back_populates="sources")
    hash_list: Mapped[HashList] = relationship()


Index("ix_entry_sources_list", EntrySource.list_id)


class VideoFrame(Base):
    """One vPDQ frame of a known video (an Entry of hash type `vpdq`)."""

    __tablename__ = "video_frames"
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True)
    frame: Mapped[int] = mapped_column(Integer, primary_key=True)
    quality: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[float] = mapped_column(Float)


class Scan(Base):
    __tablename__ = "scans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="running")
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScanItem(Base):
    """One file or archive member of a scan. `status`: hashed, error, ignored (known-benign)."""

    __tablename__ = "scan_items"
    __table_args__ = (UniqueConstraint("scan_id", "path", name="uq_scan_item_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    size: Mapped[int | None] = mapped_column(Integer)
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
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
