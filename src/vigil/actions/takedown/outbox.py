"""Notice transports (registry): e-mail (an outbox folder, or SMTP when configured) and HTTP POST."""

from __future__ import annotations

import json
import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import httpx

from vigil.core.registry import Registry


@dataclass(frozen=True)
class Notice:
    reference: str
    to: str
    subject: str
    body: str
    sender: str


@dataclass(frozen=True)
class OutboxConfig:
    folder: Path = Path("vigil-outbox")  # e-mails are written here as .eml unless SMTP is set
    smtp_host: str | None = None
    smtp_port: int = 25
    sender: str = "takedown@localhost"

    @classmethod
    def from_env(cls, folder: Path | None = None) -> OutboxConfig:
        return cls(
            folder or Path(os.environ.get("VIGIL_OUTBOX", "vigil-outbox")),
            os.environ.get("VIGIL_SMTP_HOST") or None,
            int(os.environ.get("VIGIL_SMTP_PORT", "25")),
            os.environ.get("VIGIL_NOTICE_SENDER", "takedown@localhost"),
        )


TRANSPORTS: Registry[Callable[[Notice, OutboxConfig], str]] = Registry("notice transport")


@TRANSPORTS.register("email")
def send_email(notice: Notice, config: OutboxConfig) -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = notice.sender, notice.to, notice.subject
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid("vigil")
    message["X-Vigil-Reference"] = notice.reference
    message.set_content(notice.body)
    if config.smtp_host:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=30) as smtp:
            smtp.send_message(message)
        return f"smtp {config.smtp_host}"
    config.folder.mkdir(parents=True, exist_ok=True)
    path = config.folder / f"{notice.reference}-{message['Message-ID'].strip('<>').split('@')[0]}.eml"
    path.write_bytes(bytes(message))
    return str(path)


@TRANSPORTS.register("http")
def send_http(notice: Notice, config: OutboxConfig) -> str:
    payload = {
        "reference": notice.reference,
        "subject": notice.subject,
        "body": notice.body,
        "from": notice.sender,
    }
    response = httpx.post(
        notice.to, content=json.dumps(payload), timeout=30, headers={"Content-Type": "application/json"}
    )
    response.raise_for_status()
    return f"HTTP {response.status_code}"
