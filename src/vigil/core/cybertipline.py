"""NCMEC's CyberTipline schema: the one description of a report that both sides of Vigil speak.

The report writer (the ESP side, `vigil.actions.reports`), the fake clearinghouse used in tests and
the police-side triage reader all go through this module, and it goes through NCMEC's own
`cyber_tipline.xsd`, never a copy of its layout: documents are built as plain dicts, ordered and
type-checked by `xmlschema` against the XSD, and every refusal carries the schema's own message.

The XSD is NCMEC's to distribute, so Vigil does not ship it: point `$VIGIL_CYBERTIP_XSD` at the copy
your CyberTipline account gives you (tests use `../shared/data/ncmec/cyber_tipline.xsd`). The few
code lists Vigil needs before a schema is loaded (IP event names, industry classifications) are
constants here, and a test proves they equal the XSD's enumerations.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from vigil.core.errors import InvalidInput, Unavailable

if TYPE_CHECKING:
    import xmlschema

XSD_ENV = "VIGIL_CYBERTIP_XSD"
EVENT_NAMES = ("Login", "Registration", "Purchase", "Upload", "Other", "Unknown")  # ipCaptureType
CLASSIFICATIONS = ("A1", "A2", "B1", "B2")  # fileClassification: industryClassification
INCIDENT_CSAM = "Child Pornography (possession, manufacture, and distribution)"
ROOTS = ("report", "fileDetails", "reportResponse", "reportDoneResponse")


class SchemaUnavailable(Unavailable):
    """No CyberTipline XSD is configured, or it cannot be read."""

    status = 503


class SchemaInvalid(InvalidInput):
    """A document the XSD refuses; `problems` holds each of the schema's messages with its path."""

    def __init__(self, element: str, problems: list[str]) -> None:
        super().__init__(f"{element} does not validate against the CyberTipline XSD: " + "; ".join(problems))
        self.element = element
        self.problems = problems
        self.errors = [(where, reason) for where, _, reason in (p.partition(": ") for p in problems)]


def xsd_path() -> Path:
    value = os.environ.get(XSD_ENV)
    if not value:
        raise SchemaUnavailable(
            f"the CyberTipline schema is not configured: set {XSD_ENV} to NCMEC's cyber_tipline.xsd"
        )
    path = Path(value)
    if not path.is_file():
        raise SchemaUnavailable(f"{XSD_ENV} names {path}, which is not a file")
    return path


def configured() -> bool:
    try:
        xsd_path()
    except SchemaUnavailable:
        return False
    return True


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> xmlschema.XMLSchema:
    import xmlschema

    try:
        return xmlschema.XMLSchema(path)
    except (xmlschema.XMLSchemaException, OSError, ET.ParseError) as exc:
        raise SchemaUnavailable(f"{path} is not a usable XSD: {exc}") from None


def schema() -> xmlschema.XMLSchema:
    """The configured XSD, parsed once per file version (about 0.3 s)."""
    path = xsd_path()
    return _load(str(path), path.stat().st_mtime)


def _problems(errors: Iterator[Any]) -> list[str]:
    out = []
    for error in errors:
        where = error.path or "/"
        out.append(f"{where}: {error.reason or error.message}")
    return out


def parse(data: bytes | str) -> ET.Element:
    """Parse untrusted XML: no DTDs, entities or remote references (billion laughs, XXE)."""
    import xmlschema

    try:
        resource = xmlschema.XMLResource(data.encode() if isinstance(data, str) else data, defuse="always")
    except (xmlschema.XMLResourceError, ET.ParseError, ValueError) as exc:
        raise SchemaInvalid("document", [f"not well-formed XML: {exc}"]) from None
    root = resource.root
    assert isinstance(root, ET.Element)
    return root


def problems(document: bytes | str | ET.Element, element: str) -> list[str]:
    """The XSD's complaints about a document whose root should be `element`; [] when it is valid."""
    try:
        root = document if isinstance(document, ET.Element) else parse(document)
    except SchemaInvalid as exc:
        return exc.problems
    if root.tag != element:
        return [f"/: root element is <{root.tag}>, expected <{element}>"]
    return _problems(schema().iter_errors(root))


def validate(document: bytes | str | ET.Element, element: str) -> None:
    found = problems(document, element)
    if found:
        raise SchemaInvalid(element, found)


def encode(data: Mapping[str, Any], element: str) -> str:
    """Serialise a dict (xmlschema's default convention: `@attr`, `$` text, lists for repeats).

    The schema puts children in its order; the result is then validated as text, so what is
    returned is exactly what a validator at NCMEC would see.
    """
    if element not in ROOTS:
        raise InvalidInput(f"{element} is not a CyberTipline root element ({', '.join(ROOTS)})")
    result = schema().encode(dict(data), path=element, unordered=True, validation="lax")
    encoded, errors = result if isinstance(result, tuple) else (result, [])
    if errors or not isinstance(encoded, ET.Element):
        raise SchemaInvalid(element, _problems(iter(errors)) or ["could not encode"])
    text = ET.tostring(encoded, encoding="unicode")
    validate(text, element)
    return text


def decode(document: bytes | str | ET.Element, element: str) -> dict[str, Any]:
    """Validate and turn a document into xmlschema's dict form (every element and attribute kept)."""
    root = document if isinstance(document, ET.Element) else parse(document)
    validate(root, element)
    decoded = schema().decode(root, validation="skip")
    assert isinstance(decoded, dict)
    return decoded


def enumeration(type_name: str) -> tuple[str, ...]:
    """A code list from the XSD (`country`, `ipCaptureType`, `fileClassification`, `incidentType`...)."""
    simple = schema().types.get(type_name)
    values = getattr(simple, "enumeration", None)
    if not values:
        raise InvalidInput(f"the CyberTipline XSD has no code list named {type_name!r}")
    return tuple(str(v) for v in values)


def countries() -> frozenset[str]:
    return frozenset(enumeration("country"))
