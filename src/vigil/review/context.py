"""What a service knows about an upload (its context), checked field by field when it comes in.

A context becomes part of a clearinghouse report: the uploader's account, e-mails, the IP capture
events with times, the country. A value that is not what it claims to be (`"<img ...>"` as an IP,
`"not-a-date"` as a time, a time without a zone, a country outside the CyberTipline code list) is
refused on intake with every problem named by its field, instead of surfacing later in a report
that a clearinghouse rejects or, worse, one that a police unit acts on.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from vigil.core import cybertipline
from vigil.core.errors import InvalidInput

ACCOUNT_FIELDS = ("id", "screen_name", "display_name", "email", "emails", "phone", "phones", "country")
FIELDS = (
    "uploader",
    "account",
    "country",
    "url",
    "urls",
    "uploaded_at",
    "ip_events",
    "device_ids",
    "file_name",
    "image_url",  # found by Vigil's crawler: where the file is, the pages that show it, the job
    "pages",
    "crawl_job",
    "keywords",
)
MAX_TEXT = 1000
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,253}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,30}$")
_NOT_XML = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")  # XML 1.0 cannot hold these


class ContextError(InvalidInput):
    """Every problem in a context, as (field, message) pairs, so the sender fixes them in one go."""

    def __init__(self, errors: list[tuple[str, str]], where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        super().__init__(prefix + "; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


class _Check:
    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def fail(self, field: str, message: str) -> None:
        self.errors.append((field, message))

    def text(self, field: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.fail(field, f"expected text, got {type(value).__name__}")
            return None
        text = str(value).strip()
        if len(text) > MAX_TEXT or _NOT_XML.search(text):
            self.fail(field, "too long, or holds control or non-characters that XML cannot carry")
            return None
        return text

    def time(self, field: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.fail(field, "expected an ISO 8601 date-time text")
            return None
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(field, f"not an ISO 8601 date-time: {value[:40]!r}")
            return None
        if parsed.tzinfo is None:
            self.fail(field, f"{value!r} has no time zone offset (add Z or +hh:mm)")
            return None
        return parsed.isoformat()

    def ip(self, field: str, value: Any) -> str | None:
        try:
            return str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            self.fail(field, f"not an IP address: {str(value)[:45]!r}")
            return None

    def email(self, field: str, value: Any) -> str | None:
        text = self.text(field, value)
        if text is None:
            return None
        local, _, domain = text.rpartition("@")
        try:
            ascii_domain = domain.encode("idna").decode()
        except UnicodeError:
            ascii_domain = ""
        if not _EMAIL.match(text) or "." not in ascii_domain or not local:
            self.fail(field, f"not an e-mail address: {text[:60]!r}")
            return None
        return f"{local}@{domain.lower()}"

    def phone(self, field: str, value: Any) -> str | None:
        text = self.text(field, value)
        if text is not None and not _PHONE.match(text):
            self.fail(field, f"not a phone number: {text[:40]!r}")
            return None
        return text

    def country(self, field: str, value: Any) -> str | None:
        text = self.text(field, value)
        if text is None:
            return None
        code = text.upper()
        known = cybertipline.countries() if cybertipline.configured() else None
        if (known is not None and code not in known) or not re.fullmatch(r"[A-Z]{2}", code):
            self.fail(field, f"{text!r} is not a country code of the CyberTipline code list (ISO 3166)")
            return None
        return code

    def url(self, field: str, value: Any) -> str | None:
        text = self.text(field, value)
        if text is None:
            return None
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
            self.fail(field, f"not an http(s) URL: {text[:80]!r}")
            return None
        return text

    def number(
        self, field: str, value: Any, most: int = 2**63 - 1, what: str = "a whole number"
    ) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            self.fail(field, f"not {what}: {value!r}")
            return None
        if int(value) > most:
            self.fail(field, f"{value} is out of range (0-{most})")
            return None
        return int(value)

    def port(self, field: str, value: Any) -> int | None:
        return self.number(field, value, 65535, "a port number")

    def event_name(self, field: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        names = {n.lower(): n for n in cybertipline.EVENT_NAMES}
        name = names.get(str(value).strip().lower())
        if name is None:
            self.fail(field, f"{value!r} is not an event name ({', '.join(cybertipline.EVENT_NAMES)})")
        return name

    def flag(self, field: str, value: Any) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.fail(field, f"expected true or false, got {value!r}")
        return None

    def many(self, field: str, value: Any, one: Callable[[str, Any], Any]) -> list[Any]:
        items = value if isinstance(value, list) else [value] if value not in (None, "") else []
        out = [one(f"{field}[{i}]", v) for i, v in enumerate(items)]
        return [v for v in out if v is not None]

    def known(self, field: str, data: Mapping[str, Any], names: tuple[str, ...]) -> None:
        for key in data:
            if key not in names:
                self.fail(f"{field}{key}", f"unknown field (known: {', '.join(names)})")


def _ip_event(check: _Check, field: str, raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        check.fail(field, "expected an object with ipAddress, dateTime, port, eventName, possibleProxy")
        return None
    check.known(f"{field}.", raw, ("ipAddress", "dateTime", "port", "eventName", "possibleProxy"))
    event = {
        "ipAddress": check.ip(f"{field}.ipAddress", raw.get("ipAddress")),
        "dateTime": check.time(f"{field}.dateTime", raw.get("dateTime")),
        "port": check.port(f"{field}.port", raw.get("port")),
        "eventName": check.event_name(f"{field}.eventName", raw.get("eventName")),
        "possibleProxy": check.flag(f"{field}.possibleProxy", raw.get("possibleProxy")),
    }
    return {k: v for k, v in event.items() if v is not None}


def _device(check: _Check, field: str, raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        check.fail(field, "expected an object with idType, idValue, eventName, dateTime")
        return None
    check.known(f"{field}.", raw, ("idType", "idValue", "eventName", "dateTime"))
    device = {
        "idType": check.text(f"{field}.idType", raw.get("idType")),
        "idValue": check.text(f"{field}.idValue", raw.get("idValue")),
        "eventName": check.event_name(f"{field}.eventName", raw.get("eventName")),
        "dateTime": check.time(f"{field}.dateTime", raw.get("dateTime")),
    }
    if not device["idType"] or not device["idValue"]:
        check.fail(field, "a device id needs idType and idValue")
        return None
    return {k: v for k, v in device.items() if v is not None}


def _account(check: _Check, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        check.fail("account", "expected an object")
        return {}
    check.known("account.", raw, ACCOUNT_FIELDS)
    account = {
        "id": check.text("account.id", raw.get("id")),
        "screen_name": check.text("account.screen_name", raw.get("screen_name")),
        "display_name": check.text("account.display_name", raw.get("display_name")),
        "emails": check.many("account.email", raw.get("email"), check.email)
        + check.many("account.emails", raw.get("emails"), check.email),
        "phones": check.many("account.phone", raw.get("phone"), check.phone)
        + check.many("account.phones", raw.get("phones"), check.phone),
        "country": check.country("account.country", raw.get("country")),
    }
    return {k: v for k, v in account.items() if v not in (None, [])}


def validate(raw: Any, where: str = "") -> dict[str, Any]:
    """The context normalised (IPs canonical, times with their offsets, countries upper case).

    Raises ContextError listing every bad field; an empty or missing context is valid.
    """
    if raw in (None, {}):
        return {}
    check = _Check()
    if not isinstance(raw, Mapping):
        raise ContextError([("context", "expected an object")], where)
    check.known("", raw, FIELDS)
    context: dict[str, Any] = {
        "uploader": check.text("uploader", raw.get("uploader")),
        "account": _account(check, raw["account"]) if raw.get("account") else None,
        "country": check.country("country", raw.get("country")),
        "urls": check.many("url", raw.get("url"), check.url) + check.many("urls", raw.get("urls"), check.url),
        "uploaded_at": check.time("uploaded_at", raw.get("uploaded_at")),
        "ip_events": check.many("ip_events", raw.get("ip_events"), lambda f, v: _ip_event(check, f, v)),
        "device_ids": check.many("device_ids", raw.get("device_ids"), lambda f, v: _device(check, f, v)),
        "file_name": check.text("file_name", raw.get("file_name")),
        "image_url": check.url("image_url", raw.get("image_url")),
        "pages": check.many("pages", raw.get("pages"), check.url),
        "crawl_job": check.number("crawl_job", raw.get("crawl_job")),
        "keywords": check.many("keywords", raw.get("keywords"), check.text),
    }
    if check.errors:
        raise ContextError(check.errors, where)
    return {k: v for k, v in context.items() if v not in (None, [], {})}


def validate_all(contexts: Any) -> dict[str, dict[str, Any]]:
    """A contexts file (item path -> context): all of it checked before any of it is used."""
    if contexts in (None, {}):
        return {}
    if not isinstance(contexts, Mapping):
        raise InvalidInput("a contexts file maps item paths to context objects")
    errors: list[tuple[str, str]] = []
    out = {}
    for path, raw in contexts.items():
        try:
            out[str(path)] = validate(raw)
        except ContextError as exc:
            errors += [(f"{path}: {field}", message) for field, message in exc.errors]
    if errors:
        raise ContextError(errors)
    return out
