"""Submit a report to a CyberTipline-style API: submit -> upload -> fileinfo -> finish.

Every request carries the same idempotency key, so a retried submit cannot open a second report.
Transient failures (timeouts, 5xx, 429) are retried with exponential backoff. If a later step
fails for good, the open report is retracted rather than left half-sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import httpx

from vigil.actions.reports.cybertip import ReportInput, file_details_xml
from vigil.core.errors import Unavailable


class SubmissionError(Unavailable):
    """The clearinghouse refused a step or could not be reached; the message says which."""


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

    def _post(self, client: httpx.Client, path: str, key: str, **kwargs: object) -> ET.Element:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                response = client.post(path, headers={"Idempotency-Key": f"{key}:{path}"}, **kwargs)  # type: ignore[arg-type]
            except httpx.TransportError as exc:
                last = exc
            else:
                if response.status_code < 500 and response.status_code != 429:
                    body = ET.fromstring(response.text)
                    if response.status_code >= 400 or body.findtext("responseCode") != "0":
                        raise SubmissionError(
                            f"{path}: {body.findtext('responseDescription') or response.text}"
                        )
                    return body
                last = SubmissionError(f"{path}: HTTP {response.status_code}")
            if attempt < self.retries:
                self.sleep(self.backoff * (2**attempt))
        raise SubmissionError(f"{path}: gave up after {self.retries + 1} attempts: {last}")

    def submit(self, report_xml: str, data: ReportInput, file_bytes: bytes | None, key: str) -> str:
        """Send one report with its file; returns the clearinghouse's report id."""
        with self._client() as client:
            opened = self._post(client, "/submit", key, content=report_xml.encode())
            report_id = opened.findtext("reportId") or ""
            try:
                if file_bytes is not None:
                    upload = {"file": (data.file_name or "file", file_bytes)}
                    uploaded = self._post(client, "/upload", key, data={"id": report_id}, files=upload)
                    file_id = uploaded.findtext("fileId") or ""
                    details = file_details_xml(report_id, file_id, data)
                    self._post(client, "/fileinfo", key, content=details.encode())
                self._post(client, "/finish", key, data={"id": report_id})
            except SubmissionError as failure:
                try:
                    self._post(client, "/retract", key, data={"id": report_id})
                except SubmissionError as retract_failure:
                    raise SubmissionError(f"{failure}; retract also failed: {retract_failure}") from failure
                raise
            return report_id
