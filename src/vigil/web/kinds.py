"""What a link most likely leads to, from its path's extension, before anything is fetched.

Galleries link thumbnails to full-size pictures and videos (`<a href="full.jpg"><img src="t.jpg">`):
those links are media to hash, not pages. Documentation and file hosts link source files, notebooks,
archives and office documents by the thousand: those are never a page or a picture, and asking for
each (even headers only) halves a crawl's speed. Anything else, extension-less and `.php` included,
is a page candidate whose Content-Type decides.
"""

from __future__ import annotations

import enum
import posixpath
from urllib.parse import unquote, urlsplit


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MEDIA = _words(
    "jpg jpeg jpe jfif png gif webp bmp tif tiff heic heif avif svg "
    "mp4 m4v mov webm mkv avi wmv flv 3gp mpg mpeg"
)
NOT_PAGES = _words(
    "txt rst md py pyc ipynb r jl c h cpp java js mjs css map json csv tsv yaml yml toml ini "
    "pdf epub djvu doc docx xls xlsx ppt pptx odt ods odp rtf "
    "zip gz tgz bz2 xz zst 7z rar tar jar whl egg deb rpm apk exe msi dmg iso bin img "
    "woff woff2 ttf otf eot mp3 wav ogg oga flac m4a aac opus mid midi"
)


class LinkKind(enum.Enum):
    PAGE = "page"
    MEDIA = "media"
    OTHER = "other"  # neither page nor media by its extension: recorded, not fetched


def extension(url: str) -> str:
    name = posixpath.basename(unquote(urlsplit(url).path))
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def link_kind(url: str) -> LinkKind:
    ext = extension(url)
    if ext in MEDIA:
        return LinkKind.MEDIA
    if ext in NOT_PAGES:
        return LinkKind.OTHER
    return LinkKind.PAGE
