"""Chat messages from JSON lines or the PAN 2012 Sexual Predator Identification XML corpus.

Formats plug in through CHAT_FORMATS; a malformed line or message is reported and the rest still load.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.errors import ItemError, VigilError
from vigil.core.registry import Registry


@dataclass(frozen=True)
class Message:
    conversation: str
    author: str
    timestamp: str
    text: str


@dataclass
class Loaded:
    messages: list[Message] = field(default_factory=list)
    problems: list[ItemError] = field(default_factory=list)


CHAT_FORMATS: Registry[Callable[[Path], Loaded]] = Registry("chat format")


@CHAT_FORMATS.register("jsonl")
def load_jsonl(path: Path) -> Loaded:
    """One JSON object per line: alias (or author), timestamp (or time), text, optional conversation."""
    out = Loaded()
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                row = json.loads(line)
                author = row.get("alias", row.get("author"))
                text = row["text"]
                if not isinstance(row, dict) or not author or not isinstance(text, str):
                    raise ValueError("needs alias and text")
            except (ValueError, KeyError, AttributeError) as exc:
                out.problems.append(ItemError(where, f"malformed message: {exc}"))
                continue
            stamp = str(row.get("timestamp", row.get("time", "")))
            out.messages.append(Message(str(row.get("conversation", path.stem)), str(author), stamp, text))
    return out


@CHAT_FORMATS.register("pan2012")
def load_pan2012(path: Path) -> Loaded:
    """<conversations><conversation id><message line><author/><time/><text/></message>..."""
    out = Loaded()
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise VigilError(f"{path}: not well-formed XML ({exc})") from exc
    for conversation in root.iter("conversation"):
        conv_id = conversation.get("id", "")
        for message in conversation.iter("message"):
            author = (message.findtext("author") or "").strip()
            if not author:
                out.problems.append(
                    ItemError(f"{path.name}:{conv_id}:{message.get('line')}", "message has no author")
                )
                continue
            text = message.findtext("text") or ""
            out.messages.append(Message(conv_id, author, (message.findtext("time") or "").strip(), text))
    return out


def load_chats(path: Path, fmt: str | None = None) -> Loaded:
    name = fmt or ("pan2012" if path.suffix.lower() == ".xml" else "jsonl")
    return CHAT_FORMATS.get(name)(path)


def load_author_ids(path: Path) -> set[str]:
    """The PAN predator-id file: one author id per line."""
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}
