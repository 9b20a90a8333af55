"""A local stand-in for a CyberTipline-style API, for tests and demos (never for real reports).

It enforces the call order (submit, then upload, then fileinfo for every uploaded file, then
finish; retract any time before finish), checks required fields and element order, honours
idempotency keys, and can be told to fail the next N calls with 503 to exercise retries.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from xml.etree import ElementTree as ET

from fastapi import FastAPI, File, Form, Request, Response, UploadFile
from fastapi.security import HTTPBasic

from vigil.actions.reports.cybertip import structure_problems


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
    idempotent: dict[str, str] = field(default_factory=dict)
    fail_next: int = 0
    next_id: int = 1000


def _reply(code: int, description: str = "Success", status: int = 200, **extra: str) -> Response:
    root = ET.Element("reportResponse")
    ET.SubElement(root, "responseCode").text = str(code)
    ET.SubElement(root, "responseDescription").text = description
    for key, value in extra.items():
        ET.SubElement(root, key).text = value
    return Response(ET.tostring(root, encoding="unicode"), status_code=status, media_type="application/xml")


def create_fake(username: str = "esp", password: str = "secret") -> tuple[FastAPI, FakeState]:
    app = FastAPI(title="Fake clearinghouse (tests only)")
    state = FakeState()
    basic = HTTPBasic()

    async def guard(request: Request, name: str) -> Response | None:
        credentials = await basic(request)
        if credentials is None or (credentials.username, credentials.password) != (username, password):
            return _reply(1, "Unauthorized", 401)
        if state.fail_next > 0:
            state.fail_next -= 1
            state.calls.append(f"{name}:503")
            return _reply(2, "Service unavailable", 503)
        key = request.headers.get("Idempotency-Key")
        if key and key in state.idempotent:
            state.calls.append(f"{name}:replay")
            return Response(state.idempotent[key], media_type="application/xml")
        return None

    def remember(request: Request, response: Response) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key and response.status_code == 200:
            state.idempotent[key] = bytes(response.body).decode()
        return response

    def open_report(report_id: str) -> FakeReport | Response:
        report = state.reports.get(report_id)
        if report is None:
            return _reply(3, f"unknown report {report_id}", 404)
        if report.status != "open":
            return _reply(4, f"report {report_id} is {report.status}", 409)
        return report

    @app.post("/submit")
    async def submit(request: Request) -> Response:
        if (refused := await guard(request, "submit")) is not None:
            return refused
        body = (await request.body()).decode()
        problems = structure_problems(body, "report")
        if problems:
            state.calls.append("submit:invalid")
            return _reply(5, "; ".join(problems), 400)
        report_id = str(state.next_id)
        state.next_id += 1
        state.reports[report_id] = FakeReport(body)
        state.calls.append("submit")
        return remember(request, _reply(0, reportId=report_id))

    @app.post("/upload")
    async def upload(request: Request, id: str = Form(...), file: UploadFile = File(...)) -> Response:
        if (refused := await guard(request, "upload")) is not None:
            return refused
        report = open_report(id)
        if isinstance(report, Response):
            return report
        file_id = secrets.token_hex(8)
        report.files[file_id] = await file.read()
        state.calls.append("upload")
        return remember(request, _reply(0, reportId=id, fileId=file_id))

    @app.post("/fileinfo")
    async def fileinfo(request: Request) -> Response:
        if (refused := await guard(request, "fileinfo")) is not None:
            return refused
        body = (await request.body()).decode()
        problems = structure_problems(body, "fileDetails")
        if problems:
            return _reply(5, "; ".join(problems), 400)
        root = ET.fromstring(body)
        report = open_report(root.findtext("reportId") or "")
        if isinstance(report, Response):
            return report
        file_id = root.findtext("fileId") or ""
        if file_id not in report.files:
            return _reply(6, f"file {file_id} was not uploaded to this report", 409)
        report.file_details[file_id] = body
        state.calls.append("fileinfo")
        return remember(request, _reply(0, reportId=root.findtext("reportId") or ""))

    @app.post("/finish")
    async def finish(request: Request, id: str = Form(...)) -> Response:
        if (refused := await guard(request, "finish")) is not None:
            return refused
        report = open_report(id)
        if isinstance(report, Response):
            return report
        undescribed = set(report.files) - set(report.file_details)
        if undescribed:
            return _reply(7, f"files without fileinfo: {sorted(undescribed)}", 409)
        report.status = "finished"
        state.calls.append("finish")
        return remember(request, _reply(0, reportId=id, files=str(len(report.files))))

    @app.post("/retract")
    async def retract(request: Request, id: str = Form(...)) -> Response:
        if (refused := await guard(request, "retract")) is not None:
            return refused
        report = open_report(id)
        if isinstance(report, Response):
            return report
        report.status = "retracted"
        state.calls.append("retract")
        return remember(request, _reply(0, reportId=id))

    return app, state
