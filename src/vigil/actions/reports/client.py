"""Submit a report to the CyberTipline API: submit -> (upload -> fileinfo) per file -> finish.

Every body sent and every answer read goes through the XSD (vigil.core.cybertipline), the same as
the report writer and the fake clearinghouse. An upload's answer carries the MD5 of what the
clearinghouse stored; it must equal the file's MD5, or the report is retracted.

Every request carries the same idempotency key, so a retried submit cannot open a second report.
Transient failures (timeouts, 5xx, 429) are retried with exponential backoff; an answer with a
non-zero `responseCode` is a refusal and is not retried. If a later step fails for good, the open
report is retracted rather than left half-sent.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from vigil.actions.reports.cybertip import ReportedFile, file_details_xml
from vigil.core import cybertipline
from vigil.core.errors import Unavailable

SUCCESS = 0
RESPONSE_CODES = {  # as NCMEC's reporting API documents them
    0: "Success",
    1000: "Server error",
    2000: "Authentication required",
    3000: "Not authorized",
    4000: "Invalid request",
    4100: "Validation failed",
    4110: "Malformed XML",
    4200: "Malformed file",
    5001: "Report does not exist",
    5002: "File does not exist",
    5101: "Report already retracted",
    5102: "Report already finished",
}


class SubmissionError(Unavailable):
    """The clearinghouse refused a step or could not be reached; the message says which.

    `retracted` is true when a report had been opened and was retracted after the failure.
    """

    def __init__(self, message: str, *, retracted: bool = False) -> None:
        super().__init__(message)
        self.retracted = retracted


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    details: ReportedFile
    item_id: int = 0  # the review item it comes from


@dataclass
class Submitted:
    report_id: str
    file_ids: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # the fileDetails sent, per file


@dataclass
class ClearinghouseClient:
    base_url: str
    username: str
    password: str
    retries: int = 4
    backoff: float = 0.2
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, auth=(self.username, self.password), timeout=30, transport=self.transport
        )

    def _answer(self, path: str, response: httpx.Response) -> dict[str, Any]:
        root = "reportDoneResponse" if path == "/finish" else "reportResponse"
        try:
            body = cybertipline.decode(response.content, root)
        except cybertipline.SchemaInvalid as exc:
            raise SubmissionError(f"{path}: HTTP {response.status_code}, unreadable answer: {exc}") from None
        code = int(body.get("responseCode", -1))
        if code != SUCCESS:
            meaning = body.get("responseDescription") or RESPONSE_CODES.get(code, "unknown code")
            raise SubmissionError(f"{path}: refused with code {code}: {meaning}")
        return body

    def _post(self, client: httpx.Client, path: str, key: str, **kwargs: Any) -> dict[str, Any]:
        last: Exception | None = None
        headers = {"Idempotency-Key": f"{key}:{path}"}
        if "content" in kwargs:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        for attempt in range(self.retries + 1):
            try:
                response = client.post(path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                last = exc
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return self._answer(path, response)
                last = SubmissionError(f"{path}: HTTP {response.status_code}")
            if attempt < self.retries:
                self.sleep(self.backoff * (2**attempt))
        raise SubmissionError(f"{path}: gave up after {self.retries + 1} attempts: {last}")

    def retract(self, remote_id: str, key: str) -> None:
        """Withdraw a report the clearinghouse opened but that was never finished."""
        with self._client() as client:
            self._post(client, "/retract", key, data={"id": remote_id})

    def _send_file(self, client: httpx.Client, key: str, report_id: str, upload: Upload) -> tuple[str, str]:
        tag = f"{key}:{hashlib.sha256(upload.data).hexdigest()[:16]}"
        answer = self._post(
            client, "/upload", tag, data={"id": report_id}, files={"file": (upload.name, upload.data)}
        )
        file_id = str(answer.get("fileId") or "")
        stored = str(answer.get("hash") or "").lower()
        expected = hashlib.md5(upload.data).hexdigest()
        if stored != expected:
            raise SubmissionError(
                f"/upload: the clearinghouse stored MD5 {stored or '?'}, expected {expected}"
            )
        details = file_details_xml(report_id, file_id, upload.details)
        self._post(client, "/fileinfo", tag, content=details.encode())
        return file_id, details

    def submit(
        self,
        report_xml: str,
        uploads: list[Upload],
        key: str,
        on_opened: Callable[[str], None] | None = None,
    ) -> Submitted:
        """Send one report with its files; returns the clearinghouse's ids and what was sent.

        `on_opened` learns the report id as soon as the clearinghouse assigns it, so a caller can
        record it before the uploads (a crash then still leaves the remote id on record).
        """
        with self._client() as client:
            opened = self._post(client, "/submit", key, content=report_xml.encode())
            result = Submitted(str(opened.get("reportId") or ""))
            try:
                if on_opened is not None:
                    on_opened(result.report_id)
                for upload in uploads:
                    file_id, details = self._send_file(client, key, result.report_id, upload)
                    result.file_ids.append(file_id)
                    result.details.append(details)
                self._post(client, "/finish", key, data={"id": result.report_id})
            except (SubmissionError, cybertipline.SchemaInvalid) as failure:
                try:
                    self._post(client, "/retract", key, data={"id": result.report_id})
                except SubmissionError as retract_failure:
                    raise SubmissionError(
                        f"{failure}; retract of report {result.report_id} also failed: {retract_failure}"
                    ) from failure
                raise SubmissionError(
                    f"{failure}; report {result.report_id} was retracted", retracted=True
                ) from failure
            return result
