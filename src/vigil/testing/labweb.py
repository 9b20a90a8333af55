"""A generated lab web on 127.0.0.1 for crawler tests, benchmarks and trials (benign images only).

One process serves many host names (chosen by the Host header): in-scope sites with thousands of linked
pages, a site outside the scope, a robots.txt-protected area, and a control host that reports how often
each URL was requested. Which images appear where is decided by a seed, so tests know exactly which
known images are reachable.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
IN_SCOPE = ("www.lab-one.com", "www.lab-two.net", "www.lab-three.org")
OUTSIDE = "www.outside-lab.com"
CONTROL = "control.lab-one.com"


@dataclass
class LabWeb:
    """The plan of the lab web; `reachable_known` are the known image ids a correct crawler finds."""

    pages_per_site: int
    images: list[Path]
    known: list[int]  # image ids designated as known
    reachable_known: set[int]
    hidden_known: set[int]  # only on robots-disallowed or out-of-scope pages
    pages: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> path -> html
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # host -> path -> bytes (logos)

    def page_count(self) -> int:
        return sum(len(p) for p in self.pages.values())


def build(images: list[Path], pages_per_site: int = 700, seed: int = 0) -> LabWeb:
    rng = random.Random(seed)
    n_img = len(images)
    known = list(range(0, n_img, max(1, n_img // 18)))[:18]
    reachable, hidden = set(known[:12]), set(known[12:])
    ordinary = [i for i in range(n_img) if i not in known]
    lab = LabWeb(pages_per_site, images, known, reachable, hidden)
    placements: dict[tuple[str, int], list[int]] = {}
    for k, image_id in enumerate(sorted(reachable)):
        host = IN_SCOPE[k % len(IN_SCOPE)]
        placements.setdefault((host, rng.randrange(1, pages_per_site)), []).append(image_id)
    for host in IN_SCOPE:
        site: dict[str, str] = {}
        for i in range(pages_per_site):
            links = [f"/p/{rng.randrange(pages_per_site)}.html" for _ in range(6)] + [
                f"/p/{(i + 1) % pages_per_site}.html"
            ]
            links += [f"http://{rng.choice(IN_SCOPE)}/", f"http://{OUTSIDE}/o/{rng.randrange(50)}.html"]
            if i % 35 == 0:
                links.append(f"/private/{i % 20}.html")
            shown = [rng.choice(ordinary), *placements.get((host, i), [])]
            site["/" if i == 0 else f"/p/{i}.html"] = _page(f"{host} page {i}", links, shown)
        for j in range(20):
            site[f"/private/{j}.html"] = _page("private", ["/"], [sorted(hidden)[j % len(hidden)]])
        lab.pages[host] = site
    lab.pages[OUTSIDE] = {
        f"/o/{j}.html": _page("outside", [f"/o/{(j + 1) % 50}.html"], [sorted(hidden)[j % len(hidden)]])
        for j in range(50)
    }
    return lab


def _page(title: str, links: list[str], images: list[int]) -> str:
    body = "".join(f'<a href="{href}">link</a> ' for href in links)
    body += "".join(f'<img src="/img/{i}.jpg" alt="">' for i in images)
    return f"<!doctype html><html><head><title>{title}</title></head><body><p>{title}</p>{body}</body></html>"


WORDS = [
    "meadow",
    "river",
    "stone",
    "garden",
    "lantern",
    "harbor",
    "willow",
    "autumn",
    "cedar",
    "valley",
    "orchard",
    "pebble",
    "breeze",
    "candle",
    "maple",
    "morning",
    "evening",
    "window",
    "bridge",
    "market",
    "village",
    "island",
    "forest",
    "summer",
    "winter",
    "spring",
    "cloud",
    "thunder",
    "quiet",
    "bright",
    "golden",
    "silver",
    "copper",
    "amber",
    "velvet",
    "linen",
    "paper",
    "timber",
    "marble",
    "crystal",
    "coral",
    "ember",
    "ivory",
    "jade",
    "walk",
    "path",
    "trail",
    "road",
    "lane",
    "field",
    "hill",
    "slope",
    "ridge",
    "shore",
    "coast",
    "bay",
    "lake",
    "pond",
    "creek",
    "brook",
    "spring",
    "well",
    "bake",
    "cook",
    "paint",
    "draw",
    "sing",
    "read",
    "write",
    "build",
    "carry",
    "gather",
    "wander",
    "travel",
    "rest",
    "dream",
    "listen",
    "watch",
    "count",
    "bread",
    "apple",
    "honey",
    "pepper",
    "lemon",
    "olive",
    "cherry",
    "plum",
    "berry",
    "walnut",
    "almond",
    "barley",
    "oat",
    "wheat",
    "rice",
    "bean",
    "pea",
    "chair",
    "table",
    "shelf",
    "lamp",
    "clock",
    "mirror",
    "basket",
    "blanket",
    "pillow",
    "kettle",
    "teapot",
    "bowl",
    "spoon",
    "fork",
    "plate",
    "cup",
    "blue",
    "green",
    "red",
    "yellow",
    "purple",
    "orange",
    "white",
    "black",
    "grey",
    "brown",
    "pink",
    "violet",
    "scarlet",
    "azure",
    "indigo",
    "teal",
]
TEMPLATE_NAV = (
    '<div class="nav"><ul><li><a href="/">Home</a></li><li><a href="/gallery.html">Gallery</a></li>'
    '<li><a href="/about.html">About</a></li><li><a href="/contact.html">Contact</a></li></ul></div>'
)
TEMPLATE_FOOTER = (
    '<div class="footer"><p>Powered by PhotoPress 3.2. All rights reserved. Read our privacy '
    "policy and terms of service before using this site.</p></div>"
)
SITE_PATHS = ("/", "/gallery.html", "/about.html", "/contact.html", "/p1.html", "/p2.html")
KNOWN_SITE = "sunny-meadow.com"
REHOSTED_SITE = "sunny-meadow.xyz"
MORE_MIRRORS = ("meadow-photos.top", "sunnymeadow-archive.site")  # further copies, other names


def _sentences(rng: random.Random, n: int) -> list[str]:
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(9, 15))).capitalize() + "." for _ in range(n)
    ]


def _site_page(title: str, tagline: str, sentences: list[str]) -> str:
    paragraphs = "".join(f"<p>{s}</p>" for s in sentences)
    return (
        f"<!doctype html><html><head><title>{title}</title>"
        f'<link rel="icon" href="/logo.jpg"></head><body><div class="header">'
        f'<img src="/logo.jpg" alt="logo" class="logo"><h1>{title}</h1><p class="tagline">{tagline}</p></div>'
        f'{TEMPLATE_NAV}<div class="content">{paragraphs}</div>{TEMPLATE_FOOTER}</body></html>'
    )


def _logo(path: Path, quality: int = 85, scale: float = 1.0) -> bytes:
    import io

    from PIL import Image

    image = Image.open(path).convert("RGB")
    size = (max(32, int(128 * scale)), max(32, int(128 * scale)))
    out = io.BytesIO()
    image.resize(size).save(out, "JPEG", quality=quality)
    return out.getvalue()


def build_sites(images: list[Path], decoys: int = 50, seed: int = 0, mirrors: int = 1) -> LabWeb:
    """A known site, its re-host under another TLD with small edits (and up to two more copies under
    other names), and decoys on the same template."""
    rng = random.Random(seed)
    lab = LabWeb(0, images, [], set(), set())
    known_text = {p: _sentences(rng, 6) for p in SITE_PATHS}
    tagline = "Quiet photographs of meadows, rivers and old stone walls since 2019."
    lab.pages["www." + KNOWN_SITE] = {
        p: _site_page("Sunny Meadow", tagline, t) for p, t in known_text.items()
    }
    lab.files["www." + KNOWN_SITE] = {"/logo.jpg": _logo(images[0])}
    edited = {}
    for p, sentences in list(known_text.items())[:-1]:  # one page gone, a tenth of the words changed
        edited[p] = [
            " ".join(w if rng.random() > 0.1 else rng.choice(WORDS) for w in s.split()) for s in sentences
        ]
    lab.pages["www." + REHOSTED_SITE] = {
        p: _site_page("Sunny Meadow Mirror", tagline, t) for p, t in edited.items()
    }
    lab.files["www." + REHOSTED_SITE] = {"/logo.jpg": _logo(images[0], quality=60, scale=0.9)}
    for k, host in enumerate(MORE_MIRRORS[: max(0, mirrors - 1)]):
        copy = {  # another re-host: a page or two gone, its own edits
            p: [" ".join(w if rng.random() > 0.1 else rng.choice(WORDS) for w in s.split()) for s in text]
            for p, text in list(known_text.items())[: len(known_text) - 1 - k]
        }
        lab.pages["www." + host] = {
            p: _site_page(f"Meadow Photos {k + 2}", tagline, t) for p, t in copy.items()
        }
        lab.files["www." + host] = {"/logo.jpg": _logo(images[0], quality=50 + 10 * k, scale=0.8)}
    names = ["sunny-meadows.com", "sunny-meadow.net"]  # look-alike names with unrelated content
    while len(names) < decoys:
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}.{rng.choice(('com', 'net', 'org', 'info', 'xyz'))}"
        if name not in names and "sunny" not in name:
            names.append(name)
    shared_logo = _logo(images[1])  # the template's default logo, kept by lazy operators
    for k, name in enumerate(names):
        title = " ".join(w.capitalize() for w in name.split(".")[0].split("-"))
        lab.pages["www." + name] = {
            p: _site_page(title, " ".join(_sentences(rng, 1)), _sentences(rng, 6)) for p in SITE_PATHS
        }
        lab.files["www." + name] = {
            "/logo.jpg": shared_logo if k % 5 == 0 else _logo(images[2 + k % (len(images) - 2)])
        }
    return lab


ROBOTS = {host: "User-agent: *\nDisallow: /private/\n" for host in IN_SCOPE}


def make_app(lab: LabWeb) -> Callable[..., Awaitable[None]]:
    image_bytes = [p.read_bytes() for p in lab.images]
    hits: Counter[str] = Counter()

    async def app(scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode().split(":")[0]
        path = scope["path"]
        hits[f"{host}{path}"] += 1
        status, ctype, body = 404, b"text/plain", b"not found"
        if host == CONTROL and path == "/__stats":
            status, ctype, body = 200, b"application/json", json.dumps(hits).encode()
        elif path == "/robots.txt":
            status, ctype = 200, b"text/plain"
            body = ROBOTS.get(host, "User-agent: *\nDisallow:\n").encode()
        elif path.startswith("/img/") and host in lab.pages:
            with contextlib.suppress(ValueError, IndexError):
                status, ctype, body = 200, b"image/jpeg", image_bytes[int(path[5:].split(".")[0])]
        elif host in lab.files and path in lab.files[host]:
            status, ctype, body = 200, b"image/jpeg", lab.files[host][path]
        elif host in lab.pages and path in lab.pages[host]:
            status, ctype, body = 200, b"text/html; charset=utf-8", lab.pages[host][path].encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    """python -m vigil.testing.labweb --port N --images-file LIST [--pages-per-site N] [--seed N]"""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--images-file", type=Path, required=True)
    parser.add_argument("--pages-per-site", type=int, default=700)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sites", action="store_true", help="serve the resurfacing-site lab instead")
    args = parser.parse_args()
    images = [Path(line) for line in args.images_file.read_text().splitlines() if line]
    lab = build_sites(images, seed=args.seed) if args.sites else build(images, args.pages_per_site, args.seed)
    uvicorn.run(make_app(lab), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


class LabServer:
    """The lab web in its own process, so serving does not compete with the crawler for the GIL."""

    def __init__(
        self, images: list[Path], pages_per_site: int = 700, seed: int = 0, sites: bool = False
    ) -> None:
        self.lab = build_sites(images, seed=seed) if sites else build(images, pages_per_site, seed)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listing = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)  # noqa: SIM115
        self._listing.write("\n".join(str(p) for p in images))
        self._listing.close()
        self._args = [
            sys.executable,
            "-m",
            "vigil.testing.labweb",
            "--port",
            str(self.port),
            "--images-file",
            self._listing.name,
            "--pages-per-site",
            str(pages_per_site),
            "--seed",
            str(seed),
            *(["--sites"] if sites else []),
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def resolve(self) -> dict[str, str]:
        return {h: f"127.0.0.1:{self.port}" for h in {*self.lab.pages, *self.lab.files, *IN_SCOPE, CONTROL}}

    def seeds(self) -> list[str]:
        return [f"http://{IN_SCOPE[0]}/"]

    def request_counts(self) -> Counter[str]:
        from vigil.web.fetch import get_sync

        return Counter(json.loads(get_sync(f"http://{CONTROL}/__stats", self.resolve).body))

    def __enter__(self) -> LabServer:
        self.process = subprocess.Popen(self._args)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("lab web did not start")

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        Path(self._listing.name).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
