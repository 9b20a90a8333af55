"""FastAPI application: native JSON API under /v1 (OpenAPI at /docs) and the review UI under /ui."""

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from vigil.actions.reports import cybertip
from vigil.actions.reports.client import ClearinghouseClient, SubmissionError
from vigil.intel.classify.priority import priority
from vigil.interfaces import hma
from vigil.interfaces.api.pages import ENV
from vigil.lists import store as lists
from vigil.match import snapshot
from vigil.match.matcher import Match, Matcher
from vigil.review import categories, transparency
from vigil.review import queue as review
from vigil.review.evidence import Vault
from vigil.review.keys import Principal, authenticate
from vigil.review.previews import render
from vigil.signals.compute import compute
from vigil.signals.types import hash_type
from vigil.sources.scan.runner import ScanOptions, run_scan
from vigil.store import audit
from vigil.store.db import Store
from vigil.store.models import AuditEvent, Evidence, ReviewItem, ReviewVote, Scan, Submission, utcnow

COOKIE = "vigil_key"
UNBLUR_FOR = timedelta(minutes=15)  # an unblur lasts this long, or until the reviewer votes


@dataclass
class ServiceConfig:
    required_votes: int = review.DEFAULT_REQUIRED_VOTES
    reporter_email: str = "trust-and-safety@example.org"
    reporter_name: tuple[str, str] = ("", "")
    clearinghouse_url: str | None = None
    clearinghouse_user: str = ""
    clearinghouse_password: str = ""
    scan_roots: list[Path] = field(default_factory=list)  # folders the API may scan; empty: any
    index_dir: Path | None = None  # shared memory-mapped index snapshots (multi-worker deployments)
    hma_anonymous_role: str | None = None  # role for keyless HMA-API callers (trusted networks only)
    hma_allowed_hosts: tuple[str, ...] = ()  # hosts HMA's URL hashing may fetch from


class HashQuery(BaseModel):
    type: str = Field(description="md5, sha1, sha256 or pdq")
    value: str


class HashMatchRequest(BaseModel):
    hashes: list[HashQuery]


class ScanRequest(BaseModel):
    path: str


class VoteRequest(BaseModel):
    decision: str
    scheme: str | None = None
    category: str | None = None
    note: str | None = None


def _match_json(match: Match) -> dict[str, Any]:
    return {
        "hash_type": match.hash_type,
        "value": match.value,
        "distance": match.distance,
        "variant": match.variant,
        "detail": match.detail,
        "lists": [{"list": s.list_name, "category": s.category, "origin": s.origin} for s in match.sources],
    }


class Service:
    """State shared by the request handlers: store, vault, a matcher reloaded without downtime."""

    def __init__(self, store: Store, vault: Vault, config: ServiceConfig) -> None:
        self.store, self.vault, self.config = store, vault, config
        self._lock = threading.Lock()
        self._version: Path | None = None
        if config.index_dir is not None and snapshot.current(config.index_dir) is None:
            snapshot.write(store, config.index_dir)
        self._matcher = self._build()

    def _build(self) -> Matcher:
        if self.config.index_dir is None:
            return Matcher(self.store)
        self._version = snapshot.current(self.config.index_dir)
        return Matcher(self.store, snapshot_dir=self.config.index_dir)

    @property
    def matcher(self) -> Matcher:
        """The live matcher; with snapshots, a newer version written by any worker is picked up."""
        if self.config.index_dir is not None and snapshot.current(self.config.index_dir) != self._version:
            fresh = self._build()
            with self._lock:
                self._matcher = fresh
        return self._matcher

    def reload_matcher(self) -> None:
        """Build a new index off to the side and swap it in; requests keep using the old one meanwhile."""
        if self.config.index_dir is not None:
            snapshot.write(self.store, self.config.index_dir)
        fresh = self._build()
        with self._lock:
            self._matcher = fresh

    def unblurred(self, who: Principal, item_id: int) -> bool:
        """Whether this reviewer unblurred this item recently (read from the audit log, so every
        worker process agrees), and has not voted on it since."""
        with self.store.session() as session:
            last = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.actor == who.actor, AuditEvent.target == f"review:{item_id}")
                .where(AuditEvent.action.in_(["review.unblur", "review.vote"]))
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            ).first()
        if last is None or last.action != "review.unblur":
            return False
        return utcnow() - datetime.fromisoformat(last.at) < UNBLUR_FOR

    def on_confirmed(self, session: Any, item: ReviewItem, reviewer: Principal) -> None:
        self.vault.preserve(session, item, reviewer)


def create_app(store: Store, vault: Vault, config: ServiceConfig | None = None) -> FastAPI:
    service = Service(store, vault, config or ServiceConfig())
    app = FastAPI(
        title="Vigil",
        version="0.1.0",
        description="Known-material matching, human review, evidence preservation and clearinghouse reports. "
        "Authenticate with `X-API-Key`.",
    )
    app.state.service = service

    def principal(request: Request) -> Principal | None:
        key = request.headers.get("X-API-Key") or request.cookies.get(COOKIE)
        auth = request.headers.get("Authorization", "")
        if not key and auth.lower().startswith("bearer "):
            key = auth[7:]
        return authenticate(store, key)

    def need(permission: str) -> Any:
        def check(request: Request) -> Principal:
            who = principal(request)
            if who is None:
                raise HTTPException(401, "missing or unknown API key")
            if not who.can(permission):
                audit.log(store, who.actor, "access.denied", request.url.path, {"permission": permission})
                raise HTTPException(403, f"role {who.role} lacks permission {permission!r}")
            return who

        return Depends(check)

    hma.install(app, service, principal)

    # ---------------------------------------------------------------- matching
    @app.post("/v1/match/hash", tags=["match"])
    def match_hash(body: HashMatchRequest, who: Annotated[Principal, need("match")]) -> dict[str, Any]:
        """Match bare hashes (MD5/SHA-1/SHA-256 exactly, PDQ within the radius)."""
        pairs = []
        for query in body.hashes:
            try:
                kind = hash_type(query.type)
                pairs.append((kind.name, kind.normalize(query.value)))
            except (KeyError, ValueError) as exc:
                raise HTTPException(422, str(exc).strip('"')) from None
        matches = service.matcher.match_hashes(pairs)  # read-only hot path: lookups are not audited
        return {"matches": [_match_json(m) for m in matches]}

    @app.post("/v1/match/media", tags=["match"])
    async def match_media(
        who: Annotated[Principal, need("match")],
        file: UploadFile = File(...),
        context: Annotated[
            str | None, Form(description="JSON: uploader, ip_events, account, country")
        ] = None,
    ) -> dict[str, Any]:
        """Hash an uploaded file and match it; a match is queued for human review with its context."""
        import json

        data = await file.read()
        name = file.filename or "upload"
        signals = compute(name, data, "fast")
        result = service.matcher.match([signals])[0]
        review_id = None
        if result.matches and who.can("submit"):
            try:
                extra = json.loads(context) if context else {}
            except json.JSONDecodeError:
                raise HTTPException(422, "context must be JSON") from None
            service.vault.quarantine(data)
            review_id = review.submit_item(
                store,
                who,
                sha256=signals.sha256,
                md5=signals.md5,
                path=None,
                media_type=signals.media_type,
                reason={
                    "matches": [[m.hash_type, m.distance, m.entry_id] for m in result.matches],
                    "name": name,
                },
                context=extra,
                priority=priority({m.hash_type for m in result.matches}, {}, set()),
                required_votes=service.config.required_votes,
            )
        audit.log(store, who.actor, "match.media", signals.sha256, {"matches": len(result.matches)})
        return {
            "signals": {k: v for k, v in signals.to_dict().items() if k != "video"},
            "matches": [_match_json(m) for m in result.matches],
            "review_item": review_id,
            "error": signals.error,
        }

    # ---------------------------------------------------------------- lists and scans
    @app.get("/v1/lists", tags=["lists"])
    def get_lists(who: Annotated[Principal, need("match")]) -> list[dict[str, Any]]:
        return lists.stats(store)

    @app.post("/v1/lists/{name}/import", tags=["lists"])
    async def import_list(
        name: str,
        who: Annotated[Principal, need("lists")],
        file: UploadFile = File(...),
        fmt: Annotated[str, Form(alias="format")] = "csv",
        purpose: Annotated[str, Form()] = "known",
    ) -> dict[str, Any]:
        import tempfile

        from vigil.lists.formats import FORMATS

        suffix = Path(file.filename or "list").suffix
        with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
            handle.write(await file.read())
            handle.flush()
            try:
                result = lists.import_rows(
                    store, name, FORMATS.get(fmt).read(Path(handle.name)), purpose=purpose
                )
            except (KeyError, ValueError) as exc:
                raise HTTPException(422, str(exc).strip('"')) from None
        audit.log(
            store, who.actor, "list.import", name, {"rows": result.rows, "rejected": len(result.errors)}
        )
        service.reload_matcher()
        return {
            "rows": result.rows,
            "new_entries": result.new_entries,
            "rejected": [str(e) for e in result.errors],
        }

    @app.get("/v1/lists/{name}/export", tags=["lists"])
    def export_list(name: str, who: Annotated[Principal, need("lists")], fmt: str = "csv") -> Response:
        import tempfile

        from vigil.lists.formats import FORMATS

        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / f"{name}.{fmt}"
            try:
                FORMATS.get(fmt).write(lists.export_rows(store, name), out)
            except KeyError as exc:
                raise HTTPException(404, str(exc).strip('"')) from None
            body = out.read_bytes()
        audit.log(store, who.actor, "list.export", name, {"format": fmt})
        return Response(body, media_type="application/octet-stream")

    @app.post("/v1/index/rebuild", tags=["lists"])
    def rebuild_index(who: Annotated[Principal, need("lists")]) -> dict[str, Any]:
        """Rebuild the matching index from the store and swap it in without downtime."""
        service.reload_matcher()
        audit.log(store, who.actor, "index.rebuild", None, {"entries": len(service.matcher)})
        return {"entries": len(service.matcher), "kind": service.matcher.index_kind}

    @app.post("/v1/scans", tags=["scans"], status_code=202)
    def start_scan(body: ScanRequest, who: Annotated[Principal, need("scan")]) -> dict[str, Any]:
        """Enqueue a scan of a folder the server can read; matches become review items."""
        root = Path(body.path).resolve()
        allowed = service.config.scan_roots
        if allowed and not any(root.is_relative_to(r.resolve()) for r in allowed):
            raise HTTPException(403, "path is outside the configured scan roots")
        if not root.exists():
            raise HTTPException(404, "path does not exist")
        ticket = uuid.uuid4().hex
        audit.log(store, who.actor, "scan.start", str(root), {"ticket": ticket})

        def work() -> None:
            scan_id = run_scan(store, root, ScanOptions(workers=1))
            review.enqueue_scan(store, scan_id, service.config.required_votes)

        threading.Thread(target=work, daemon=True, name=f"scan-{ticket}").start()
        return {"ticket": ticket, "path": str(root)}

    @app.get("/v1/scans", tags=["scans"])
    def scans(who: Annotated[Principal, need("scan")]) -> list[dict[str, Any]]:
        with store.session() as session:
            return [
                {"id": s.id, "root": s.root, "status": s.status, "started_at": s.started_at.isoformat()}
                for s in session.scalars(select(Scan).order_by(Scan.id.desc()).limit(100))
            ]

    # ---------------------------------------------------------------- review (JSON)
    @app.get("/v1/review/queue", tags=["review"])
    def review_queue(who: Annotated[Principal, need("review")]) -> list[dict[str, Any]]:
        return [
            {"id": i.id, "status": i.status, "priority": i.priority, "reason": i.reason, "sha256": i.sha256}
            for i in review.queue(store, who)
        ]

    @app.post("/v1/review/{item_id}/vote", tags=["review"])
    def review_vote(
        item_id: int, body: VoteRequest, who: Annotated[Principal, need("review")]
    ) -> dict[str, Any]:
        try:
            result = review.vote(
                store,
                item_id,
                who,
                body.decision,
                body.scheme,
                body.category,
                body.note,
                service.on_confirmed,
            )
        except review.ReviewError as exc:
            raise HTTPException(409, str(exc)) from None
        return {"status": result.status, "votes": result.votes}

    # ---------------------------------------------------------------- reports
    def report_input(item: ReviewItem, evidence: Evidence | None) -> cybertip.ReportInput:
        context = item.context or {}
        account = context.get("account", {})
        return cybertip.ReportInput(
            incident_time=(item.decided_at or utcnow()).isoformat(),
            reporter_email=service.config.reporter_email,
            reporter_name=service.config.reporter_name,
            url=context.get("url"),
            user={
                "espIdentifier": context.get("uploader") or account.get("id"),
                "screenName": account.get("screen_name"),
                "email": account.get("email"),
                "country": context.get("country") or account.get("country"),
            },
            ip_events=context.get("ip_events", []),
            file_name=(item.reason or {}).get("name") or (Path(item.path).name if item.path else None),
            file_hashes={"MD5": evidence.md5, "SHA256": evidence.sha256}
            if evidence
            else {"SHA256": item.sha256},
            file_preserved=evidence is not None,
            category=f"{item.category_scheme} {item.category}" if item.category else None,
        )

    @app.post("/v1/reports/{item_id}", tags=["reports"])
    def draft_report(item_id: int, who: Annotated[Principal, need("report")]) -> dict[str, Any]:
        """Draft the clearinghouse report for a confirmed item; shows what is missing before sending."""
        with store.session() as session:
            item = session.get(ReviewItem, item_id)
            if item is None or item.status != "confirmed":
                raise HTTPException(409, "only confirmed items are reported")
            evidence = session.scalar(select(Evidence).where(Evidence.review_item_id == item_id))
            data = report_input(item, evidence)
            xml = cybertip.report_xml(data)
            score = cybertip.actionability(data)
            submission = Submission(
                review_item_id=item_id, report_xml=xml, actionability=score, idempotency_key=uuid.uuid4().hex
            )
            session.add(submission)
            session.flush()
            audit.record(
                session, who.actor, "report.draft", f"report:{submission.id}", {"score": score["score"]}
            )
            session.commit()
            return {"report_id": submission.id, "xml": xml, "actionability": score}

    @app.post("/v1/reports/{report_id}/submit", tags=["reports"])
    def submit_report(report_id: int, who: Annotated[Principal, need("report")]) -> dict[str, Any]:
        config = service.config
        if not config.clearinghouse_url:
            raise HTTPException(409, "no clearinghouse configured")
        with store.session() as session:
            submission = session.get(Submission, report_id)
            if submission is None:
                raise HTTPException(404, "no such report")
            if submission.status == "finished":
                return {"status": submission.status, "remote_id": submission.remote_id}
            item = session.get(ReviewItem, submission.review_item_id)
            evidence = session.scalar(
                select(Evidence).where(Evidence.review_item_id == submission.review_item_id)
            )
            assert item is not None
            data = report_input(item, evidence)
            file_bytes = service.vault.read(session, evidence.id, who) if evidence else None
            client = ClearinghouseClient(
                config.clearinghouse_url, config.clearinghouse_user, config.clearinghouse_password
            )
            try:
                submission.remote_id = client.submit(
                    submission.report_xml, data, file_bytes, submission.idempotency_key
                )
                submission.status = "finished"
            except SubmissionError as exc:
                submission.status = "failed"
                audit.record(session, who.actor, "report.failed", f"report:{report_id}", {"error": str(exc)})
                session.commit()
                raise HTTPException(502, str(exc)) from None
            submission.updated_at = utcnow()
            audit.record(
                session,
                who.actor,
                "report.submit",
                f"report:{report_id}",
                {"remote_id": submission.remote_id},
            )
            session.commit()
            return {"status": submission.status, "remote_id": submission.remote_id}

    # ---------------------------------------------------------------- audit and transparency
    @app.get("/v1/audit/verify", tags=["audit"])
    def audit_verify(who: Annotated[Principal, need("audit")]) -> dict[str, Any]:
        result = audit.verify(store)
        return {
            "ok": result.ok,
            "events": result.events,
            "first_bad_seq": result.first_bad_seq,
            "problem": result.problem,
        }

    @app.get("/v1/transparency", tags=["audit"])
    def transparency_report(who: Annotated[Principal, need("transparency")]) -> dict[str, Any]:
        audit.log(store, who.actor, "transparency.export")
        return transparency.build(store)

    # ---------------------------------------------------------------- review UI
    def ui_user(request: Request) -> Principal | None:
        return principal(request)

    def page(name: str, who: Principal | None, **context: Any) -> HTMLResponse:
        return HTMLResponse(ENV.get_template(name).render(who=who, **context))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/queue")

    @app.get("/ui/login", include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return page("login", None, flash=request.query_params.get("flash"))

    @app.post("/ui/login", include_in_schema=False)
    def login(key: Annotated[str, Form()]) -> Response:
        who = authenticate(store, key)
        if who is None:
            return RedirectResponse("/ui/login?flash=Unknown+key", status_code=303)
        audit.log(store, who.actor, "ui.login")
        response = RedirectResponse("/ui/queue", status_code=303)
        response.set_cookie(COOKIE, key, httponly=True, samesite="strict")
        return response

    @app.post("/ui/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def ui_guard(request: Request, permission: str = "review") -> Principal | Response:
        who = ui_user(request)
        if who is None:
            return RedirectResponse("/ui/login", status_code=303)
        if not who.can(permission):
            raise HTTPException(403, f"role {who.role} cannot {permission}")
        return who

    def why(item: ReviewItem) -> str:
        matches = (item.reason or {}).get("matches", [])
        kinds = sorted({m[0] for m in matches})
        if kinds:
            return ", ".join(kinds) + " match"
        return "classifier score" if (item.reason or {}).get("scores") else "submitted"

    @app.get("/ui/queue", include_in_schema=False)
    def ui_queue(request: Request) -> Response:
        who = ui_guard(request)
        if isinstance(who, Response):
            return who
        items = review.queue(store, who)
        audit.log(store, who.actor, "review.queue_view", None, {"items": len(items)})
        return page("queue", who, items=items, why=why, flash=request.query_params.get("flash"))

    @app.get("/ui/items/{item_id}", include_in_schema=False)
    def ui_item(item_id: int, request: Request) -> Response:
        who = ui_guard(request)
        if isinstance(who, Response):
            return who
        with store.session() as session:
            item = session.get(ReviewItem, item_id)
            if item is None:
                raise HTTPException(404)
            votes = session.scalar(select(func.count()).where(ReviewVote.item_id == item_id)) or 0
            mine = session.scalar(
                select(ReviewVote).where(ReviewVote.item_id == item_id, ReviewVote.reviewer_id == who.id)
            )
            names = lists.provenance(session, [m[2] for m in (item.reason or {}).get("matches", [])])
        reasons = [
            f"{kind} match at distance {distance} - lists: "
            + ", ".join(f"{p.list_name} (category {p.category})" for p in names.get(entry, []))
            for kind, distance, entry in (item.reason or {}).get("matches", [])
        ] + [
            f"classifier {model} (version {version}): {name} {score:.2f} - a hint for ordering, not a finding"
            for model, version, name, score in (item.reason or {}).get("scores", [])
        ] or ["submitted for review"]
        can_vote, why_not = True, ""
        if item.status in ("confirmed", "rejected"):
            can_vote, why_not = False, f"Decided: {item.status}."
        elif mine is not None:
            can_vote, why_not = False, "You have voted on this item."
        elif item.status == "escalated" and not who.can("escalation"):
            can_vote, why_not = False, "Escalated: a senior reviewer decides."
        audit.log(store, who.actor, "review.view", f"review:{item_id}")
        return page(
            "item",
            who,
            item=item,
            votes=votes,
            reasons=reasons,
            can_vote=can_vote,
            why_not=why_not,
            clear=service.unblurred(who, item_id),
            choices=categories.choices(),
            flash=request.query_params.get("flash"),
        )

    @app.get("/ui/items/{item_id}/preview", include_in_schema=False)
    def ui_preview(item_id: int, request: Request, clear: int = 0) -> Response:
        who = ui_guard(request, "preview")
        if isinstance(who, Response):
            return who
        unblur = bool(clear) and service.unblurred(who, item_id)
        with store.session() as session:
            item = session.get(ReviewItem, item_id)
        if item is None:
            raise HTTPException(404)
        data = service.vault.content(item) or b""
        audit.log(store, who.actor, "review.preview", f"review:{item_id}", {"blurred": not unblur})
        return Response(
            render(data, item.path or "", blurred=not unblur),
            media_type="image/jpeg",
            headers={"Cache-Control": "no-store"},
        )

    @app.post("/ui/items/{item_id}/unblur", include_in_schema=False)
    def ui_unblur(item_id: int, request: Request) -> Response:
        who = ui_guard(request, "preview")
        if isinstance(who, Response):
            return who
        audit.log(store, who.actor, "review.unblur", f"review:{item_id}")
        return RedirectResponse(f"/ui/items/{item_id}", status_code=303)

    @app.post("/ui/items/{item_id}/vote", include_in_schema=False)
    def ui_vote(
        item_id: int,
        request: Request,
        decision: Annotated[str, Form()],
        category: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
    ) -> Response:
        who = ui_guard(request)
        if isinstance(who, Response):
            return who
        scheme, _, code = category.partition(":")
        try:
            result = review.vote(
                store,
                item_id,
                who,
                decision,
                scheme or None,
                code or None,
                note or None,
                service.on_confirmed,
            )
        except review.ReviewError as exc:
            return RedirectResponse(f"/ui/items/{item_id}?flash={exc}", status_code=303)
        return RedirectResponse(f"/ui/queue?flash=Item+{item_id}:+{result.status}", status_code=303)

    return app


def from_env() -> FastAPI:
    """App factory for multi-worker servers (`uvicorn --factory`), configured by environment."""
    import os

    config = ServiceConfig(
        required_votes=int(os.environ.get("VIGIL_VOTES", review.DEFAULT_REQUIRED_VOTES)),
        reporter_email=os.environ.get("VIGIL_REPORTER_EMAIL", ServiceConfig.reporter_email),
        clearinghouse_url=os.environ.get("VIGIL_CLEARINGHOUSE_URL") or None,
        clearinghouse_user=os.environ.get("VIGIL_CLEARINGHOUSE_USER", ""),
        clearinghouse_password=os.environ.get("VIGIL_CLEARINGHOUSE_PASSWORD", ""),
        index_dir=Path(os.environ["VIGIL_INDEX_DIR"]) if os.environ.get("VIGIL_INDEX_DIR") else None,
        hma_anonymous_role=os.environ.get("VIGIL_HMA_ANONYMOUS_ROLE") or None,
        hma_allowed_hosts=tuple(h for h in os.environ.get("VIGIL_HMA_ALLOWED_HOSTS", "").split(",") if h),
    )
    evidence = Path(os.environ.get("VIGIL_EVIDENCE_DIR", "vigil-evidence"))
    key_file = (
        Path(os.environ["VIGIL_EVIDENCE_KEY_FILE"]) if os.environ.get("VIGIL_EVIDENCE_KEY_FILE") else None
    )
    return create_app(Store(), Vault.open(evidence, key_file), config)
