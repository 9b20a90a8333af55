"""A local stand-in for NCMEC's CyberTipline reporting API, for tests and demos (never real reports).

It is at least as strict as the real service where tests depend on it: every `/submit` body is
validated against the XSD's `report` element and every `/fileinfo` body against `fileDetails`
(through vigil.core.cybertipline, the configured cyber_tipline.xsd), a refusal carries the schema's
messages, and every answer is a schema-valid `reportResponse` / `reportDoneResponse` with NCMEC's
documented response codes. It also enforces the call order (submit, upload, fileinfo for every
uploaded file, finish; retract any time before finish), honours idempotency keys, and can fail the
next N calls with 503 (retries) or store uploads corrupted (the client's MD5 check).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, File, Form, Request, Response, UploadFile
from fastapi.security import HTTPBasic

from vigil.core import cybertipline

AUTH_REQUIRED, INVALID_REQUEST, VALIDATION_FAILED, MALFORMED_XML = 2000, 4000, 4100, 4110
NO_REPORT, NO_FILE, RETRACTED, FINISHED = 5001, 5002, 5101, 5102


@dataclass
class FakeReport:
    report_xml: str
    status: str = "open"
    files: dict[str, bytes] = field(default_factory=dict)
    file_details: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeState:
    reports: dict[str, FakeReport] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    idempotent: dict[str, bytes] = field(default_factory=dict)
    fail_next: int = 0
    corrupt_uploads: bool = False
    next_id: int = 1000
    refusals: list[str] = field(default_factory=list)  # descriptions of every refusal, for tests


def _xml(root: str, body: dict[str, Any], status: int = 200) -> Response:
    text = cybertipline.encode(body, root)  # the fake's answers are schema-valid too
    return Response(text, status_code=status, media_type="text/xml")


def _reply(code: int, description: str = "Success", status: int = 200, **extra: Any) -> Response:
    body = {"responseCode": code, "responseDescription": description[:4000], **extra}
    return _xml("reportResponse", {k: v for k, v in body.items() if v is not None}, status)


def create_fake(username: str = "esp", password: str = "secret") -> tuple[FastAPI, FakeState]:
    app = FastAPI(title="Fake clearinghouse (tests only)")
    state = FakeState()
    basic = HTTPBasic(auto_error=False)

    async def guard(request: Request, name: str) -> Response | None:
        credentials = await basic(request)
        if credentials is None or (credentials.username, credentials.password) != (username, password):
            return _reply(AUTH_REQUIRED, "Authentication required", 401)
        if state.fail_next > 0:
            state.fail_next -= 1
            state.calls.append(f"{name}:503")
            return Response("Service unavailable", status_code=503)
        key = request.headers.get("Idempotency-Key")
        if key and key in state.idempotent:
            state.calls.append(f"{name}:replay")
            return Response(state.idempotent[key], media_type="text/xml")
        return None

    def remember(request: Request, response: Response) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key and response.status_code == 200:
            state.idempotent[key] = bytes(response.body)
        return response

    def refuse(name: str, code: int, description: str) -> Response:
        state.calls.append(f"{name}:refused")
        state.refusals.append(f"{name}: {code} {description}")
        return _reply(code, description)

    def open_report(name: str, report_id: str) -> FakeReport | Response:
        report = state.reports.get(report_id)
        if report is None:
            return refuse(name, NO_REPORT, f"Report {report_id} does not exist")
        if report.status != "open":
            code = RETRACTED if report.status == "retracted" else FINISHED
            return refuse(name, code, f"Report {report_id} is already {report.status}")
        return report

    def checked(name: str, body: bytes, element: str) -> dict[str, Any] | Response:
        try:
            root = cybertipline.parse(body)
        except cybertipline.SchemaInvalid as exc:
            return refuse(name, MALFORMED_XML, str(exc))
        try:
            return cybertipline.decode(root, element)
        except cybertipline.SchemaInvalid as exc:
            return refuse(name, VALIDATION_FAILED, "; ".join(exc.problems))

    @app.post("/submit")
    async def submit(request: Request) -> Response:
        if (refused := await guard(request, "submit")) is not None:
            return refused
        body = await request.body()
        if isinstance(decoded := checked("submit", body, "report"), Response):
            return decoded
        report_id = str(state.next_id)
        state.next_id += 1
        state.reports[report_id] = FakeReport(body.decode())
        state.calls.append("submit")
        return remember(request, _reply(0, reportId=int(report_id)))

    @app.post("/upload")
    async def upload(request: Request, id: str = Form(...), file: UploadFile = File(...)) -> Response:
        if (refused := await guard(request, "upload")) is not None:
            return refused
        if isinstance(report := open_report("upload", id), Response):
            return report
        data = await file.read()
        if state.corrupt_uploads:
            data = data[:-1]
        file_id = secrets.token_hex(16)
        report.files[file_id] = data
        state.calls.append("upload")
        digest = hashlib.md5(data).hexdigest()
        return remember(request, _reply(0, reportId=int(id), fileId=file_id, hash=digest))

    @app.post("/fileinfo")
    async def fileinfo(request: Request) -> Response:
        if (refused := await guard(request, "fileinfo")) is not None:
            return refused
        body = await request.body()
        if isinstance(decoded := checked("fileinfo", body, "fileDetails"), Response):
            return decoded
        report_id = str(decoded["reportId"])
        if isinstance(report := open_report("fileinfo", report_id), Response):
            return report
        file_id = str(decoded["fileId"])
        if file_id not in report.files:
            return refuse("fileinfo", NO_FILE, f"File {file_id} was not uploaded to report {report_id}")
        report.file_details[file_id] = body.decode()
        state.calls.append("fileinfo")
        return remember(request, _reply(0, reportId=int(report_id), fileId=file_id))

    @app.post("/finish")
    async def finish(request: Request, id: str = Form(...)) -> Response:
        if (refused := await guard(request, "finish")) is not None:
            return refused
        if isinstance(report := open_report("finish", id), Response):
            return report
        undescribed = sorted(set(report.files) - set(report.file_details))
        if undescribed:
            return refuse("finish", INVALID_REQUEST, f"Files without fileinfo: {', '.join(undescribed)}")
        report.status = "finished"
        state.calls.append("finish")
        done = {"responseCode": 0, "reportId": int(id), "files": {"fileId": list(report.files)}}
        if not report.files:
            del done["files"]
        return remember(request, _xml("reportDoneResponse", done))

    @app.post("/retract")
    async def retract(request: Request, id: str = Form(...)) -> Response:
        if (refused := await guard(request, "retract")) is not None:
            return refused
        if isinstance(report := open_report("retract", id), Response):
            return report
        report.status = "retracted"
        state.calls.append("retract")
        return remember(request, _reply(0, reportId=int(id)))

    return app, state
