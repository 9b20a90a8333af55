"""Time in one convention: timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; those are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
