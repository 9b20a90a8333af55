"""Links, images, title and visible text from HTML, by tolerant regular expressions.

A crawler meets broken HTML more often than valid HTML; these patterns never fail on it and are fast
enough for hundreds of pages a second. They do not run JavaScript: script-built links are not found.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_IMG = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_ICON = re.compile(
    r"""<link\b[^>]*?\brel\s*=\s*["']?[^"'>]*icon[^>]*?\bhref\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HIDDEN = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_TAG_NAME = re.compile(r"<\s*([a-zA-Z][a-zA-Z0-9]*)")
_SPACE = re.compile(r"\s+")


@dataclass
class Page:
    links: list[str]
    images: list[str]
    icons: list[str]
    title: str
    text: str
    tags: list[str]  # opening tag names in document order (the DOM's shape)


def _first(groups: tuple[str, ...]) -> str:
    return html.unescape(next((g for g in groups if g), ""))


def parse(body: str, *, want_text: bool = True) -> Page:
    title_match = _TITLE.search(body)
    text = ""
    if want_text:
        text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", body)))).strip()
    return Page(
        links=[_first(m.groups()) for m in _HREF.finditer(body)],
        images=[_first(m.groups()) for m in _IMG.finditer(body)],
        icons=[html.unescape(m.group(1)) for m in _ICON.finditer(body)],
        title=_SPACE.sub(" ", html.unescape(title_match.group(1))).strip() if title_match else "",
        text=text,
        tags=[t.lower() for t in _TAG_NAME.findall(body)] if want_text else [],
    )
