"""The states things move through. Stored as text with CHECK constraints (see `store.models`)."""

from __future__ import annotations

from enum import StrEnum


class ScanStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    INTERRUPTED = "interrupted"


class ItemStatus(StrEnum):
    """A scanned item: hashed; error or skipped (with the reason); ignored (on an ignore list);
    low_quality (its PDQ hash is too flat to match on). Skipped items are not read by design:
    symbolic links, special files, link members of archives."""

    HASHED = "hashed"
    ERROR = "error"
    SKIPPED = "skipped"
    IGNORED = "ignored"
    LOW_QUALITY = "low_quality"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportStatus(StrEnum):
    """A list import: rows are staged, then published to the lists in one transaction."""

    STAGING = "staging"  # rows are being staged; nothing of it is matched yet
    PUBLISHED = "published"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # an unfinished import replaced by a later import of the same list


class ListPurpose(StrEnum):
    KNOWN = "known"  # matches are reported
    IGNORE = "ignore"  # known-benign (NSRL-style): matches are filtered out


class ReviewStatus(StrEnum):
    PENDING = "pending"
    ESCALATED = "escalated"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"

    @property
    def decided(self) -> bool:
        return self in (ReviewStatus.CONFIRMED, ReviewStatus.REJECTED)


class Decision(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


class ReviewSource(StrEnum):
    SCAN = "scan"
    API = "api"
    CRAWL = "crawl"


class SubmissionStatus(StrEnum):
    """draft: composed, not yet checked against the XSD (only rows from before 0014); validated:
    the XSD accepted it; submitted: the clearinghouse opened it; failed carries its reason."""

    DRAFT = "draft"
    VALIDATED = "validated"
    SUBMITTED = "submitted"
    FINISHED = "finished"
    RETRACTED = "retracted"
    FAILED = "failed"


class BlockKind(StrEnum):
    DOMAIN = "domain"
    URL = "url"


class BlockLevel(StrEnum):
    BLOCK = "block"
    WARN = "warn"


class BlockStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ModelState(StrEnum):
    ACTIVE = "active"
    DEMOTED = "demoted"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class CrawlJobStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"


class CrawlUrlKind(StrEnum):
    PAGE = "page"
    IMAGE = "image"


class CrawlUrlStatus(StrEnum):
    QUEUED = "queued"
    DONE = "done"
    ERROR = "error"
    SKIPPED = "skipped"


class HitStatus(StrEnum):
    PENDING = "pending"  # found, not yet in front of reviewers
    QUEUED = "queued"  # a review item holds it
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class NoticeStatus(StrEnum):
    OPEN = "open"
    CANDIDATE = "candidate"  # redirected away, 403, 451 or changed: a person confirms removal
    REMOVED = "removed"
    WITHDRAWN = "withdrawn"
