"""Request and response bodies of the native API; their field descriptions become the OpenAPI text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class HashQuery(BaseModel):
    type: str = Field(description="md5, sha1, sha256 or pdq")
    value: str = Field(description="Hex digest (PDQ: 64 hex characters)")


class HashMatchRequest(BaseModel):
    hashes: list[HashQuery]


class ListSource(BaseModel):
    list: str = Field(description="Name of the list holding the entry")
    category: str | None = Field(description="That list's category for the entry, in its own scheme")
    origin: str | None = Field(description="Where that list says the entry came from")


class MatchOut(BaseModel):
    hash_type: str
    value: str = Field(description="The listed value that matched")
    distance: int = Field(description="Hamming distance (0 for exact hashes)")
    variant: str | None = Field(description="Which rotation or flip of the query matched (PDQ)")
    detail: dict[str, Any] | None = Field(
        description="Video time ranges or frame timestamps; `known_region`: the part of the listed picture"
    )
    tier: str = Field(
        description="exact (same bytes), strong (PDQ within the fixed radius) or weak (within a calibrated "
        "list's wider radius: for review only, never act on it alone)"
    )
    false_match: float | None = Field(
        description="Estimated chance that an unrelated picture matches the list this closely (per query), "
        "from the list's calibration; null where no list was calibrated or the match is exact"
    )
    lists: list[ListSource]


class HashMatchResponse(BaseModel):
    matches: list[MatchOut]


class MediaMatchResponse(BaseModel):
    signals: dict[str, Any] = Field(description="Hashes computed from the upload")
    matches: list[MatchOut]
    review_item: int | None = Field(description="Review item created for a match (submitters only)")
    error: str | None = Field(description="Why the upload could not be fully hashed, if it could not")


class ListStats(BaseModel):
    name: str
    purpose: str = Field(description="known (matches are reported) or ignore (known-benign)")
    source: str | None
    entries: int
    by_type: dict[str, int]
    shared_with_other_lists: int
    created_at: str
    calibration: dict[str, Any] | None = Field(
        description="The newest calibration (`vigil lists calibrate`): weak radius, target, what it "
        "measured; null for a list never calibrated, which has no weak tier"
    )


class IndexResponse(BaseModel):
    entries: int = Field(description="PDQ entries in the index")
    kind: str = Field(description="Index implementation: flat (brute force) or mih (multi-index hash)")


class ScanRequest(BaseModel):
    path: str = Field(description="Folder the server can read, inside the configured scan roots")


class ScanTicket(BaseModel):
    ticket: str = Field(description="The job id; follow it at /v1/scans/jobs/{ticket}")
    path: str


class JobTicket(BaseModel):
    job: int = Field(description="The job id; follow it at /v1/jobs/{job}")
    kind: str = Field(description="scan, list_import, exchange_fetch or crawl")


class JobOut(BaseModel):
    id: int
    kind: str = Field(description="scan, list_import, exchange_fetch or crawl")
    status: str = Field(description="queued, running, done or failed")
    result: dict[str, Any] | None = Field(
        description="What a done job produced: scan_id and queued_for_review for a scan; rows, "
        "new_entries and rejected for a list import; added, removed and rejected for a fetch"
    )
    error: str | None
    created_at: str


class ScanRow(BaseModel):
    id: int
    root: str
    status: str
    started_at: str


class QueueItem(BaseModel):
    id: int
    status: str
    priority: float
    reason: dict[str, Any] = Field(description="The matches and classifier scores that raised the item")
    sha256: str


class VoteRequest(BaseModel):
    decision: str = Field(description="confirm or reject")
    scheme: str | None = Field(None, description="Category scheme: projectvic, caid or ncmec")
    category: str | None = Field(
        None, description="Category code within the scheme (confirm only; must mean illegal in that scheme)"
    )
    note: str | None = None
    publicly_available: bool | None = Field(
        None, description="The reviewer saw the file publicly available (null: not stated)"
    )
    potential_meme: bool | None = Field(
        None, description="The reviewer judges the file a potential meme (null: not stated)"
    )


class VoteResponse(BaseModel):
    status: str = Field(description="The item's state after this vote")
    votes: int = Field(description="Votes on the item so far")


class DraftRequest(BaseModel):
    item_id: int = Field(description="A confirmed review item; an item already in a report gets that report")


class Explained(BaseModel):
    value: Any = Field(description="What the report states")
    why: str = Field(description="The recorded facts it rests on (audit events, reviewers' category)")


class ReportFileOut(BaseModel):
    item: int
    name: str | None
    fileViewedByEsp: Explained
    industryClassification: Explained
    publiclyAvailable: bool | None
    potentialMeme: bool | None
    preserved: bool = Field(description="The file is held in the evidence vault and will be uploaded")


class DraftResponse(BaseModel):
    report_id: int
    status: str = Field(description="draft, validated, submitted, finished, retracted or failed")
    remote_id: str | None = Field(description="The clearinghouse's report id, once submitted")
    failure: str | None = Field(description="Why the last submission failed")
    items: list[int] = Field(description="Review items (files) in this report")
    xml: str = Field(description="The report as it would be sent, valid against the CyberTipline XSD")
    actionability: dict[str, Any] = Field(description="0-100 score, missing items, actionable yes/no")
    incident_time: Explained | None = None
    prior_reports: list[str] = Field(default_factory=list, description="Earlier reports about the user")
    files: list[ReportFileOut] = Field(default_factory=list)
    sent_file_details: list[str] = Field(
        default_factory=list, description="Each file's fileDetails exactly as sent (once submitted)"
    )


class ReportRow(BaseModel):
    report_id: int
    status: str
    remote_id: str | None
    items: list[int]
    score: int | None
    actionable: bool | None
    failure: str | None
    updated_at: str | None


class SubmitResponse(BaseModel):
    status: str
    remote_id: str | None = Field(description="The clearinghouse's report id")
    failure: str | None = None


class VerifyResponse(BaseModel):
    ok: bool
    events: int
    first_bad_seq: int | None
    problem: str | None


class Reason(BaseModel):
    reason: str = Field(min_length=1, description="Why (recorded in the audit log or custody trail)")


class NextItem(BaseModel):
    item_id: int | None = Field(description="The item leased to you now; null when nothing is waiting")
    lease_until: str | None = Field(description="When the lease ends (ISO 8601, UTC)")


class EvidenceOut(BaseModel):
    id: int
    review_item_id: int
    sha256: str
    md5: str
    size: int
    legal_hold: bool
    retain_until: str
    created_at: str
    deleted_at: str | None
    problem: str | None = Field(description="Why the custody trail does not verify; null when it does")


class CustodyStepOut(BaseModel):
    action: str
    actor: str
    at: str
    detail: dict[str, Any]
    chain_hash: str
    signed: bool = Field(description="Whether the step carries a MAC under the audit key")


class EvidenceDossierOut(BaseModel):
    evidence: EvidenceOut
    context: dict[str, Any] = Field(description="What was known about the file when it was preserved")
    custody: list[CustodyStepOut]
