"""Links, images, title and visible text from HTML, with lexbor (selectolax), a C HTML5 parser.

A crawler meets broken HTML more often than valid HTML; lexbor parses it the way browsers do (a link
inside a comment or a script is no link; `<base href>` moves where relative links point) at a few
milliseconds for a large page. Media is what a browser would load or a gallery links to: `<img src>`,
lazy-loading `data-src` / `data-original`, the largest `srcset` candidate, `<video>`/`<source>`
sources and posters. JavaScript is not run: script-built links are not found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

_SPACE = re.compile(r"\s+")
_LAZY = ("data-src", "data-original", "data-lazy-src")
_TAG_NAME = re.compile(r"[a-z][a-z0-9]*\Z")


@dataclass
class Page:
    links: list[str]
    images: list[str]  # images and videos the page shows, in document order, without repeats
    icons: list[str]
    title: str
    text: str
    tags: list[str]  # opening tag names in document order (the DOM's shape)
    base: str | None = None  # the page's <base href>, where relative links resolve


def _attr(node: LexborNode, name: str) -> str:
    return (node.attributes.get(name) or "").strip()


def _largest(srcset: str) -> str:
    """The widest (or densest) candidate of a srcset; the first when none says its size."""
    best, best_size = "", -1.0
    for candidate in srcset.split(","):
        parts = candidate.split()
        if not parts:
            continue
        size = 0.0
        if len(parts) > 1 and parts[1][:-1].replace(".", "", 1).isdigit():
            size = float(parts[1][:-1])
        if size > best_size:
            best, best_size = parts[0], size
    return best


def _media(tree: LexborHTMLParser) -> list[str]:
    found: dict[str, None] = {}
    for node in tree.css("img, video, video source, picture source"):
        for name in ("src", *_LAZY, "poster"):
            value = _attr(node, name)
            if value and not value.startswith("data:"):
                found.setdefault(value)
        srcset = _attr(node, "srcset") or _attr(node, "data-srcset")
        if srcset:
            largest = _largest(srcset)
            if largest and not largest.startswith("data:"):
                found.setdefault(largest)
    return list(found)


def parse(body: str, *, want_text: bool = True) -> Page:
    tree = LexborHTMLParser(body)
    title_node = tree.css_first("title")
    base_node = tree.css_first("base[href]")
    links = [_attr(a, "href") for a in tree.css("a[href], area[href]")]
    icons = [
        _attr(link, "href") for link in tree.css("link[rel][href]") if "icon" in _attr(link, "rel").lower()
    ]
    text, tags = "", []
    if want_text:
        if tree.root is not None:
            tags = [node.tag for node in tree.root.traverse() if node.tag and _TAG_NAME.match(node.tag)]
        tree.strip_tags(["script", "style", "noscript", "template"])
        root = tree.body or tree.root
        text = _SPACE.sub(" ", root.text(separator=" ")).strip() if root is not None else ""
    return Page(
        links=[link for link in links if link],
        images=_media(tree),
        icons=[icon for icon in icons if icon],
        title=_SPACE.sub(" ", title_node.text()).strip() if title_node is not None else "",
        text=text,
        tags=tags,
        base=_attr(base_node, "href") or None if base_node is not None else None,
    )
