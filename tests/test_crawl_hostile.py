"""The crawler's fetch layer against hostile pages on loopback: IPv6 literals and private addresses in
`<img>`s, slow-drip bodies, redirect chains and loops, redirects out of scope or into private
networks, RFC 9309 robots rules, and bodies of the wrong type. No packet goes anywhere but loopback:
refusals are address-policy decisions taken before any connection."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select
from tests.conftest import OPERATOR, bsds_images

from vigil.core.states import CrawlUrlKind, CrawlUrlStatus
from vigil.match.matcher import Matcher
from vigil.sources.crawl.jobs import run_job, start_job
from vigil.sources.crawl.policy import CrawlPolicy
from vigil.store.db import Store
from vigil.store.models import CrawlUrl
from vigil.web.fetch import Fetched, FetchFailed, FetchLimits, TooLarge, fetch, session
from vigil.web.guard import AddressPolicy, AddressRefused, refusal

HOSTILE_IMAGES = [
    "http://[::1]:9/a.png",
    "http://[::1]/b.png",
    "http://10.0.0.5/admin.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.1.1/cgnat.png",
    "http://192.168.1.1/router.png",
    "http://[::ffff:127.0.0.1]/mapped.png",
    "http://[fe80::1]/linklocal.png",
    "http://[fd00::1]/ula.png",
    "http://0.0.0.0/zero.png",
    "http://127.0.0.1:1/closed.png",
    "http://[64:ff9b::a00:1]/nat64.png",
    "http://224.0.0.1/multicast.png",
    "http://255.255.255.255/broadcast.png",
    "http://2130706433/decimal-loopback.png",
    "http://[::]/unspecified.png",
    "http://172.16.0.1/private.png",
    "http://198.18.0.1/benchmark.png",
    "http://192.0.2.1/documentation.png",
    "http://site.test:99999/bad-port.png",
]


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    drip: ClassVar[dict[str, tuple[int, float]]] = {}
    hits: ClassVar[list[str]] = []
    hosts: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.hosts.append(self.headers.get("Host", ""))
        if self.path in self.drip:
            count, pause = self.drip[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(count))
            self.end_headers()
            for _ in range(count):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(pause)
            return
        status, headers, body = self.routes.get(self.path, (404, {"Content-Type": "text/plain"}, b"no"))
        self.send_response(status)
        for name, value in headers.items():
            if name != "Content-Length":  # sent once, below: aiohttp refuses a duplicate, as RFC 9112 allows
                self.send_header(name, value)
        self.send_header("Content-Length", headers.get("Content-Length", str(len(body))))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may hang up once it has the headers
            self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"routes": {}, "drip": {}, "hits": [], "hosts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _html(body: str, content_type: str = "text/html") -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": content_type}, body.encode()


def _redirect(to: str, status: int = 301) -> tuple[int, dict[str, str], bytes]:
    return status, {"Location": to, "Content-Type": "text/plain"}, b""


def _crawl(store: Store, address: str, seed: str = "site.test", **options: object) -> dict[str, CrawlUrl]:
    """A crawl from http://`seed`/, every host the tests name answered by the test server."""
    policy = CrawlPolicy(
        seeds=[f"http://{seed}/"],
        resolve={"site.test": address, "other.test": address, seed: address},
        delay=0,
        concurrency=4,
        **options,  # type: ignore[arg-type]
    )
    job = start_job(store, OPERATOR, "hostile", policy)
    run_job(store, OPERATOR, job, workers=0, matcher=Matcher(store))
    with store.session() as session:
        return {row.url: row for row in session.scalars(select(CrawlUrl).where(CrawlUrl.job_id == job))}


def test_ipv6_literals_and_twenty_hostile_images_cost_one_page_nothing_more(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    address, handler = site
    imgs = "".join(f'<img src="{src}">' for src in HOSTILE_IMAGES)
    handler.routes["/robots.txt"] = _html("User-agent: *\nAllow: /\n", "text/plain")
    handler.routes["/"] = _html(f'<html><body>{imgs}<a href="/next">next</a></body></html>')
    handler.routes["/next"] = _html("<html><body>fine</body></html>", "TEXT/HTML; charset=UTF-8")
    started = time.monotonic()
    rows = _crawl(store, address)
    assert time.monotonic() - started < 30
    assert rows["http://site.test/next"].status == "done"  # the crawl went on past the hostile page
    images = {u: r for u, r in rows.items() if r.kind == "image"}
    assert "http://[::1]:9/a.png" in images  # brackets kept: not rewritten to http://::1:9/a.png
    refused = [r for r in images.values() if "address policy" in (r.note or "")]
    assert len(refused) >= 17, {u: r.note for u, r in images.items()}
    assert all(r.status == "error" for r in images.values())
    assert handler.hits.count("/") == 1  # and nothing was asked of the site twice


def test_a_slow_drip_is_given_up_on_without_holding_the_crawl(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    address, handler = site
    handler.drip["/drip"] = (60, 0.2)  # 60 bytes, one every 0.2 s: 12 s if waited for
    handler.routes["/"] = _html('<a href="/drip">drip</a><a href="/ok">ok</a>')
    handler.routes["/ok"] = _html("fine")
    started = time.monotonic()
    rows = _crawl(store, address, obey_robots=False, deadline=2.0)
    assert time.monotonic() - started < 10
    assert rows["http://site.test/drip"].status == "error"
    assert "within 2 s" in (rows["http://site.test/drip"].note or "")
    assert rows["http://site.test/ok"].status == "done"


def _fetch_from_site(address: str, path: str, limits: FetchLimits) -> Fetched:
    """One guarded fetch of http://site.test`path`, the test server answering for site.test."""

    async def go() -> Fetched:
        async with session("vigil-test", 1) as client:
            return await fetch(
                client,
                f"http://site.test{path}",
                accept=lambda _t: True,
                addresses=AddressPolicy(),
                limits=limits,
                resolve={"site.test": address},
            )

    return asyncio.run(go())


def test_minimum_transfer_rate(site: tuple[str, type[_Handler]]) -> None:
    address, handler = site
    handler.drip["/drip"] = (20, 0.25)
    with pytest.raises(FetchFailed, match="too slow"):
        _fetch_from_site(address, "/drip", FetchLimits(deadline=20, min_rate=100, grace=0.5))


def test_a_page_with_headers_as_long_as_real_sites_send_is_read(site: tuple[str, type[_Handler]]) -> None:
    """Content-Security-Policy and Set-Cookie headers of 10-20 KB are common on large sites; the
    fetch reads them (header lines up to 64 KiB) where aiohttp's default (8 KiB) would refuse."""
    address, handler = site
    policy = "default-src 'self'; " + " ".join(f"https://cdn{n}.example.com" for n in range(900))
    handler.routes["/csp"] = (200, {"Content-Type": "text/html", "Content-Security-Policy": policy}, b"ok")
    assert len(policy) > 20_000
    assert _fetch_from_site(address, "/csp", FetchLimits()).body == b"ok"


def test_a_compressed_bomb_is_refused_without_inflating_it(site: tuple[str, type[_Handler]]) -> None:
    """256 MiB of zeros sent gzip-compressed (about 250 KB on the wire): the body limit applies to
    what the body inflates to, and it is reached without ever holding much more than the limit."""
    address, handler = site
    bomb = gzip.compress(bytes(256 << 20), compresslevel=9)
    handler.routes["/bomb.png"] = (200, {"Content-Type": "image/png", "Content-Encoding": "gzip"}, bomb)

    tracemalloc.start()
    try:
        with pytest.raises(TooLarge, match="larger than"):
            _fetch_from_site(address, "/bomb.png", FetchLimits(max_bytes=4 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < 1 << 20 and peak < 32 << 20


def _certificates(tmp_path: Path, names: list[str]) -> tuple[Path, Path, str]:
    """A throwaway CA and a server certificate it signed for `names`: (cert, key, CA in PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def issue(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        signer: ec.EllipticCurvePrivateKey,
        issuer: str,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.DNSName(name) for name in names])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("test CA", ca_key, ca_key, "test CA", True)
    leaf = issue(names[0], key, ca_key, "test CA", False)
    cert, private = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert, private, ca.public_bytes(serialization.Encoding.PEM).decode()


def test_https_goes_to_the_checked_address_under_the_site_name_and_its_certificate(
    site: tuple[str, type[_Handler]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinned or --resolve'd, the request goes to an address while TLS still names the site (SNI)
    and checks the site's certificate: a name the certificate does not carry is refused. The CA
    is the operator's own, named by SSL_CERT_FILE, as a lab or a private network would have it."""
    _, handler = site
    handler.routes["/"] = _html("secret-free page")
    cert, key, ca = _certificates(tmp_path, ["site.test", "localhost"])
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []

    def remember(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    server_tls.sni_callback = remember
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = server_tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    (tmp_path / "ca.pem").write_text(ca)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))

    async def get(url: str, resolve: dict[str, str]) -> bytes:
        async with session("vigil-test", 1) as client:  # its TLS context from tls_context()
            got = await fetch(
                client,
                url,
                accept=lambda _t: True,
                addresses=AddressPolicy.allowing(["127.0.0.0/8"]),
                resolve=resolve,
            )
            return got.body

    try:
        assert (
            asyncio.run(get("https://site.test/", {"site.test": f"127.0.0.1:{port}"})) == b"secret-free page"
        )
        assert asyncio.run(get(f"https://localhost:{port}/", {})) == b"secret-free page"  # pinned address
        with pytest.raises(FetchFailed, match="certificate"):
            asyncio.run(get("https://other.test/", {"other.test": f"127.0.0.1:{port}"}))
    finally:
        server.shutdown()
        server.server_close()
    assert names[:3] == ["site.test", "localhost", "other.test"]


def test_redirects_are_followed_rechecked_and_kept_as_evidence(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    address, handler = site
    handler.routes["/"] = _html(
        '<a href="/r1">r1</a><a href="/loop-a">loop</a><a href="/away">away</a><a href="/inside">in</a>'
        '<a href="/long0">long</a>'
    )
    handler.routes["/r1"] = _redirect("/r2", 302)
    handler.routes["/r2"] = _redirect("http://site.test/landing", 301)
    handler.routes["/landing"] = _html('<img src="pic.png">')  # relative to where the redirects ended
    handler.routes["/pic.png"] = _redirect("/img/pic.png", 307)
    handler.routes["/img/pic.png"] = (200, {"Content-Type": "image/png"}, b"not really a png")
    handler.routes["/loop-a"] = _redirect("/loop-b")
    handler.routes["/loop-b"] = _redirect("/loop-a")
    handler.routes["/away"] = _redirect("http://elsewhere.example/")  # out of scope: never resolved
    handler.routes["/inside"] = _redirect("http://10.9.8.7/")  # in no scope and a private address
    for n in range(7):
        handler.routes[f"/long{n}"] = _redirect(f"/long{n + 1}")
    rows = _crawl(store, address, obey_robots=False)
    landing = rows["http://site.test/r1"]
    assert landing.status == "done"
    assert "redirects: http://site.test/r1 -> http://site.test/r2 -> http://site.test/landing" in landing.note
    assert rows["http://site.test/pic.png"].note.startswith("redirects: ")
    assert rows["http://site.test/pic.png"].content_sha256 is not None  # fetched through its redirect
    assert "redirect loop" in rows["http://site.test/loop-a"].note
    assert "out of scope" in rows["http://site.test/away"].note
    assert "refused" in rows["http://site.test/inside"].note
    assert "more than 5 redirects" in rows["http://site.test/long0"].note
    assert not any(p.startswith("/long6") for p in handler.hits)


def test_header_bytes_that_are_not_utf8_are_read_as_latin1_and_stored(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    """A redirect to b"/caf\\xe9" (Latin-1, as old servers send) goes to /café, as browsers and
    httpx read it, and a type with a stray byte is kept as text: both reach the store whole."""
    address, handler = site
    handler.routes["/"] = _html('<a href="/old">old</a><a href="/odd">odd</a>')
    handler.routes["/old"] = _redirect("/caf\xe9")  # http.server sends str headers as Latin-1 bytes
    handler.routes["/caf%C3%A9"] = _html("moved here")
    handler.routes["/odd"] = (200, {"Content-Type": "application/x-\xff"}, b"binary")
    rows = _crawl(store, address, obey_robots=False)
    assert rows["http://site.test/old"].status == "done"
    assert "http://site.test/old -> http://site.test/café" in (rows["http://site.test/old"].note or "")
    assert "/caf%C3%A9" in handler.hits
    assert "application/x-\xff" in (rows["http://site.test/odd"].note or "")


def test_an_internationalised_host_name_goes_out_in_its_ascii_form(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    """bücher.test is asked for as xn--bcher-kva.test (Host header and TLS name), as browsers do;
    sent as UTF-8 bytes, no virtual host would know it."""
    address, handler = site
    handler.routes["/"] = _html("<p>Bücher</p>")
    rows = _crawl(store, address, seed="bücher.test", obey_robots=False)
    assert list(rows) == ["http://bücher.test/"] and rows["http://bücher.test/"].status == "done"
    assert handler.hosts == ["xn--bcher-kva.test"]


def test_a_note_or_link_that_is_not_text_cannot_fail_the_frontier_write(store: Store) -> None:
    """Lone surrogates (bytes a decoder could not read, kept as they were) in a note are stored
    escaped, and a link holding one is no URL at all: the batch they are in is written whole."""
    from vigil.sources.crawl.frontier import Frontier, Item
    from vigil.web import urls

    job = start_job(store, OPERATOR, "odd", CrawlPolicy(seeds=["http://site.test/"]))
    frontier = Frontier(store, job)
    assert urls.normalise("/caf\udce9", "http://site.test/") is None
    assert urls.normalise("http://site.test/caf\udce9") is None
    assert frontier.add(Item("http://site.test/ok", CrawlUrlKind.PAGE, 1, None))
    frontier.finish("http://site.test/ok", CrawlUrlStatus.ERROR, note="type 'x-\udcff' refused")
    frontier.flush()
    with store.session() as session:
        row = session.scalars(select(CrawlUrl).where(CrawlUrl.job_id == job)).one()
    assert row.note == "type 'x-\\udcff' refused"


def test_robots_txt_by_rfc_9309(store: Store, site: tuple[str, type[_Handler]]) -> None:
    address, handler = site
    handler.routes["/robots.txt"] = _html(
        "User-agent: *\nDisallow: /private\nAllow: /private/ok\nDisallow: /*.php$\nCrawl-delay: 0.2\n",
        "text/plain",
    )
    links = ["/private/x", "/private/ok/y", "/doc.php", "/doc.php?page=2", "/public"]
    handler.routes["/"] = _html("".join(f'<a href="{link}">x</a>' for link in links))
    for link in links:
        handler.routes[link.split("?")[0]] = _html("page")
    started = time.monotonic()
    rows = _crawl(store, address)
    skipped = {u.removeprefix("http://site.test") for u, r in rows.items() if r.note == "robots.txt"}
    assert skipped == {"/private/x", "/doc.php"}
    assert rows["http://site.test/private/ok/y"].status == "done"  # Allow beats the shorter Disallow
    assert rows["http://site.test/doc.php?page=2"].status == "done"  # `$` anchors the pattern
    assert time.monotonic() - started >= 0.2 * 3  # Crawl-delay was a floor under delay=0


def test_bodies_of_the_wrong_type_are_not_downloaded(store: Store, site: tuple[str, type[_Handler]]) -> None:
    address, handler = site
    handler.routes["/"] = _html(
        '<a href="/get-file">zip</a><a href="/archive.zip">zip</a><img src="/huge.png">'
    )
    handler.routes["/get-file"] = (200, {"Content-Type": "application/zip"}, b"PK" * 1000)
    handler.routes["/archive.zip"] = (200, {"Content-Type": "application/zip"}, b"PK" * 1000)
    handler.routes["/huge.png"] = (200, {"Content-Type": "image/png", "Content-Length": str(1 << 40)}, b"")
    rows = _crawl(store, address, obey_robots=False)
    assert "not downloaded" in rows["http://site.test/get-file"].note  # its headers said zip
    assert "not a page or media (.zip)" in rows["http://site.test/archive.zip"].note
    assert rows["http://site.test/archive.zip"].status == "skipped"
    assert "/archive.zip" not in handler.hits  # its name said so: never asked for
    assert "over" in rows["http://site.test/huge.png"].note  # declared size refused before any byte


NON_PUBLIC = [
    "::1",
    "10.0.0.5",
    "169.254.169.254",
    "100.64.1.1",
    "192.168.1.1",
    "::ffff:127.0.0.1",
    "fe80::1",
    "fd00::1",
    "0.0.0.0",
    "127.0.0.1",
    "64:ff9b::a00:1",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "172.16.0.1",
    "198.18.0.1",
    "192.0.2.1",
    "ff02::1",
]


@pytest.mark.parametrize("text", NON_PUBLIC)
def test_the_address_policy_refuses_every_non_public_address(text: str) -> None:
    address = ipaddress.ip_address(text)
    assert refusal(address) is not None
    with pytest.raises(AddressRefused):
        AddressPolicy().check(address)


def test_the_allow_list_and_public_addresses() -> None:
    assert refusal(ipaddress.ip_address("93.184.216.34")) is None
    assert refusal(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946")) is None
    lab = AddressPolicy.allowing(["127.0.0.0/8"])
    lab.check(ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(AddressRefused):
        lab.check(ipaddress.ip_address("10.0.0.1"))
    assert asyncio.run(lab.resolve("127.0.0.1", 80)) == "127.0.0.1"
    with pytest.raises(AddressRefused, match="link-local"):
        asyncio.run(AddressPolicy().resolve("169.254.169.254", 80))


def test_a_host_is_resolved_once_however_many_urls_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty images on a host that does not resolve cost one look-up (and one resolver timeout on
    a real network), not forty; the refusal is given to each."""
    asked: list[str] = []

    async def getaddrinfo(self: object, host: str, *args: object, **kwargs: object) -> list[object]:
        asked.append(host)
        await asyncio.sleep(0.05)
        raise OSError("Name or service not known")

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    policy = AddressPolicy()

    async def many() -> list[BaseException | str]:
        return await asyncio.gather(
            *(policy.resolve("dead.example", 443) for _ in range(40)), return_exceptions=True
        )

    results = asyncio.run(many())
    assert asked == ["dead.example"]
    assert all(isinstance(r, AddressRefused) and "cannot resolve dead.example" in str(r) for r in results)


def test_a_crawl_stopped_and_resumed_many_times_records_every_page_image_pair(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    """Runs of a few pages each, then resumes: pages reached before their images were fetched, pages
    reached after, and pages whose body mirrors another's all end up with their (page, known image)
    hit; the job's page budget holds across runs."""
    from tests.test_scan import designate_known

    from vigil.sources.crawl.jobs import hits

    address, handler = site
    known, other = bsds_images()[40], bsds_images()[41]
    designate_known(store, [known])
    handler.routes["/known.jpg"] = (200, {"Content-Type": "image/jpeg"}, known.read_bytes())
    handler.routes["/other.jpg"] = (200, {"Content-Type": "image/jpeg"}, other.read_bytes())
    pages = [f"/p{n}" for n in range(24)]
    links = "".join(f'<a href="{p}">x</a>' for p in pages)
    handler.routes["/"] = _html(f'{links}<img src="/known.jpg">')
    for n, page in enumerate(pages):
        shown = '<img src="/known.jpg">' if n % 2 == 0 else '<img src="/other.jpg">'
        handler.routes[page] = _html(f"{shown}{links}")
    policy = CrawlPolicy(
        seeds=["http://site.test/"],
        resolve={"site.test": address},
        delay=0,
        concurrency=2,
        obey_robots=False,
        max_pages=20,
    )
    job = start_job(store, OPERATOR, "resumed", policy)
    runs = []
    for _ in range(10):
        stats = run_job(store, OPERATOR, job, page_limit=3, workers=0, matcher=Matcher(store))
        runs.append(stats.pages)
        if not stats.left_queued or not stats.pages:
            break
    assert sum(runs) == 20  # max_pages counts across runs, not per run
    with store.session() as session:
        done_pages = {
            row.url
            for row in session.scalars(
                select(CrawlUrl).where(CrawlUrl.job_id == job, CrawlUrl.kind == "page")
            )
            if row.status == "done"
        }
    expected = {u for u in done_pages if u == "http://site.test/" or int(u.rsplit("/p", 1)[1]) % 2 == 0}
    found = {(h["page"], h["image"]) for h in hits(store, job)}
    assert found == {(page, "http://site.test/known.jpg") for page in expected}
    assert handler.hits.count("/known.jpg") == 1  # fetched once, in whichever run, for every page


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that a container may not have does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _descendants(pid: int) -> set[int]:
    """Processes below `pid`, children and their children (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    out: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        found = {child for child, parent in parents.items() if parent == current}
        out |= found
        todo.extend(found)
    return out


def _forty_pages(handler: type[_Handler], image: bytes) -> None:
    """A site of 40 pages that all link to each other, each showing its own copy of `image`: long
    enough to be stopped half way."""
    pages = [f"/p{n}" for n in range(40)]
    links = "".join(f'<a href="{p}">x</a>' for p in pages)
    handler.routes["/"] = _html(links)
    for n, page in enumerate(pages):
        handler.routes[page] = _html(f'<img src="/i{n}.jpg">{links}')
        handler.routes[f"/i{n}.jpg"] = (200, {"Content-Type": "image/jpeg"}, image)


def test_sigterm_writes_the_frontier_and_kill_leaves_no_orphans(
    store: Store, site: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    """`vigil crawl run` stopped by SIGTERM writes what it did and stops; a resume carries on; a
    crawl killed with SIGKILL takes its hashing workers with it."""
    address, handler = site
    _forty_pages(handler, bsds_images()[50].read_bytes())
    db = f"sqlite:///{tmp_path / 'crawl.db'}"
    base = [sys.executable, "-m", "vigil.interfaces.cli.main", "crawl"]
    common = ["--resolve", f"site.test={address}", "--ignore-robots", "--delay", "0.25", "--db", db]
    crawl = subprocess.Popen([*base, "run", "http://site.test/", *common], stdout=subprocess.PIPE, text=True)
    time.sleep(4)
    crawl.send_signal(signal.SIGTERM)
    output, _ = crawl.communicate(timeout=30)
    assert crawl.returncode == 0 and "stopped by a signal" in output, output
    done = Store(db)
    with done.session() as session:
        statuses = [row.status for row in session.scalars(select(CrawlUrl))]
    done.close()
    assert "done" in statuses and "queued" in statuses  # written on the way out, work left to do
    resumed = subprocess.Popen(
        [*base, "resume", "1", "--db", db, "--hashers", "2"], stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2:  # its two hashing processes
        time.sleep(0.2)
        workers = _descendants(resumed.pid)
    assert len(workers) == 2, f"the resumed crawl never started its hashing workers: {workers}"
    resumed.kill()
    resumed.wait(timeout=10)
    time.sleep(1.0)
    assert not {w for w in workers if _alive(w)}  # no orphans left behind


def test_ctrl_c_stops_the_crawl_and_its_hashers_quietly(
    store: Store, site: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops a crawl in order:
    it exits, its hashing processes end with it, and none of them prints a traceback (a hashing
    process ignores SIGINT; its parent closes its input)."""
    address, handler = site
    _forty_pages(handler, bsds_images()[51].read_bytes())
    db = f"sqlite:///{tmp_path / 'crawl.db'}"
    command = [sys.executable, "-m", "vigil.interfaces.cli.main", "crawl", "run", "http://site.test/"]
    command += ["--resolve", f"site.test={address}", "--ignore-robots", "--delay", "0.25", "--db", db]
    crawl = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 30
    workers: set[int] = set()
    while time.monotonic() < deadline and not workers:
        time.sleep(0.2)
        workers = _descendants(crawl.pid)
    time.sleep(3)
    os.killpg(crawl.pid, signal.SIGINT)
    output, errors = crawl.communicate(timeout=30)
    assert crawl.returncode in (0, 130), (output, errors)
    assert "Traceback" not in errors and "KeyboardInterrupt" not in errors, errors
    time.sleep(0.5)
    assert workers and not {w for w in workers if _alive(w)}


def test_traps_are_cut_off_and_galleries_are_not(store: Store, site: tuple[str, type[_Handler]]) -> None:
    """A session-id trap (every link a new id, every page the same) and a nesting relative link are
    cut off; a gallery of numbered pages, each its own, is crawled whole."""
    address, handler = site

    class Traps(_Handler):
        def do_GET(self) -> None:
            self.hits.append(self.path)
            path = self.path.split("?")[0]
            if path.startswith("/shop/"):  # the same page under endless session ids
                token = f"{len(self.hits):032x}"
                body = f'<a href="/shop/s{token}/list">more</a><p>Our shop</p>'
            elif path.startswith("/nest"):  # a relative link that nests the path, a new page each time
                body = f'<a href="nest/">deeper</a><p>{path}</p>'
            elif path.startswith("/gallery/"):
                n = int(path.rsplit("/", 1)[1].split(".")[0])
                nxt = f'<a href="/gallery/{n + 1}.html">next</a>' if n < 59 else ""
                body = f'<img src="/img/{n}.jpg">{nxt}<p>picture {n}</p>'
            else:
                body = (
                    '<a href="/shop/s1/list">shop</a><a href="/nest/">nest</a><a href="/gallery/0.html">g</a>'
                )
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    handler.do_GET = Traps.do_GET  # type: ignore[method-assign]
    rows = _crawl(store, address, obey_robots=False, images="scope", max_depth=200)
    shop = [u for u in rows if "/shop/" in u and rows[u].kind == "page"]
    fetched_shop = [u for u in shop if rows[u].status == "done"]
    assert 20 <= len(fetched_shop) <= 25  # cut off once the pattern kept repeating one page
    assert any("keeps repeating one page" in (rows[u].note or "") for u in shop)
    nest = [u for u in rows if "/nest" in u and rows[u].status == "done"]
    assert len(nest) <= 3 and any("repeats" in (r.note or "") for r in rows.values())
    gallery = [u for u in rows if "/gallery/" in u and rows[u].status == "done"]
    assert len(gallery) == 60  # numbered pages that differ are no trap


def test_a_host_answering_429_is_slowed_down_and_asked_again(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    address, handler = site
    handler.routes["/"] = _html('<a href="/busy">busy</a>')
    answers = iter([(429, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down")])

    class Busy(_Handler):
        def do_GET(self) -> None:
            if self.path == "/busy":
                self.routes["/busy"] = next(answers, _html("finally"))
            _Handler.do_GET(self)

    handler.do_GET = Busy.do_GET  # type: ignore[method-assign]
    started = time.monotonic()
    rows = _crawl(store, address, obey_robots=False)
    assert rows["http://site.test/busy"].status == "done" and rows["http://site.test/busy"].http_status == 200
    assert handler.hits.count("/busy") == 2
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured before asking again


def test_the_page_budget_per_host_holds(store: Store, site: tuple[str, type[_Handler]]) -> None:
    address, handler = site
    pages = [f"/p{n}" for n in range(30)]
    handler.routes["/"] = _html("".join(f'<a href="{p}">x</a>' for p in pages))
    for page in pages:
        handler.routes[page] = _html(f"<p>{page}</p>")
    rows = _crawl(store, address, obey_robots=False, per_host_pages=10)
    done = [u for u, r in rows.items() if r.kind == "page" and r.status == "done"]
    assert len(done) == 10
    assert sum("page budget" in (r.note or "") for r in rows.values()) == 21


def test_gallery_links_lazy_images_and_base_href_are_read_as_a_browser_would(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    """A thumbnail linking its full-size picture: the full picture is hashed and its hit names the
    page. Lazy-loaded `data-src` images are fetched; `<base href>` moves relative links; links inside
    comments and scripts are no links."""
    from tests.test_scan import designate_known

    from vigil.sources.crawl.jobs import hits

    address, handler = site
    full, thumb = bsds_images()[42], bsds_images()[43]
    designate_known(store, [full])
    handler.routes["/full/1.jpg"] = (200, {"Content-Type": "image/jpeg"}, full.read_bytes())
    handler.routes["/thumb/1.jpg"] = (200, {"Content-Type": "image/jpeg"}, thumb.read_bytes())
    handler.routes["/lazy.jpg"] = (200, {"Content-Type": "image/jpeg"}, thumb.read_bytes())
    handler.routes["/sub/rel"] = _html("relative to the base")
    handler.routes["/"] = _html(
        '<html><head><base href="/sub/"></head><body>'
        '<a href="/full/1.jpg"><img src="/thumb/1.jpg"></a>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/lazy.jpg">'
        '<!-- <a href="/commented">old</a> --><script>var s = \'<a href="/scripted">\';</script>'
        '<a href="rel">relative</a></body></html>'
    )
    rows = _crawl(store, address, obey_robots=False)
    assert rows["http://site.test/full/1.jpg"].kind == "image"  # fetched as media, not as a page
    assert rows["http://site.test/lazy.jpg"].content_sha256 is not None
    assert rows["http://site.test/sub/rel"].status == "done"
    assert not {"/commented", "/scripted", "/rel"} & set(handler.hits)
    assert [(h["page"], h["image"]) for h in hits(store, 1)] == [
        ("http://site.test/", "http://site.test/full/1.jpg")
    ]


def _crash_on_marker(name: str, data: bytes, mode: str) -> object:
    """A hasher that dies (as a decoder crash would) on one particular file."""
    import os

    from vigil.signals.compute import compute

    if data.startswith(b"CRASH"):
        os._exit(1)
    return compute(name, data, mode)  # type: ignore[arg-type]


def test_a_file_that_kills_its_hasher_costs_that_file_only(
    store: Store, site: tuple[str, type[_Handler]]
) -> None:
    """A hasher dies (as on a decoder crash) on one file: every file handed to that process is
    tried once more in a process of its own; the culprit dies again and is recorded as an error,
    the others (queued behind it, in the other process, or after) are hashed and matched."""
    from tests.test_scan import designate_known

    from vigil.sources.crawl.engine import Crawler
    from vigil.sources.crawl.hashers import Hashers

    address, handler = site
    known = bsds_images()[44]
    designate_known(store, [known])
    names = [f"/ok{n}.jpg" for n in range(6)]
    for n, name in enumerate(names):  # bytes after the JPEG's end: six files, one picture
        handler.routes[name] = (200, {"Content-Type": "image/jpeg"}, known.read_bytes() + bytes([n]))
    handler.routes["/boom.jpg"] = (200, {"Content-Type": "image/jpeg"}, b"CRASH" * 100)
    handler.routes["/"] = _html("".join(f'<img src="{n}">' for n in ["/boom.jpg", *names]))
    policy = CrawlPolicy(
        seeds=["http://site.test/"], resolve={"site.test": address}, delay=0, obey_robots=False
    )
    job = start_job(store, OPERATOR, "crash", policy)
    hashers = Hashers(2, function="tests.test_crawl_hostile:_crash_on_marker")
    stats = asyncio.run(Crawler(store, job, policy, Matcher(store), hashers).run())
    with store.session() as session:
        rows = {row.url: row for row in session.scalars(select(CrawlUrl).where(CrawlUrl.job_id == job))}
    boom = rows["http://site.test/boom.jpg"]
    assert boom.status == "error" and "died with this file (exit status 1)" in (boom.note or "")
    assert len({rows[f"http://site.test{n}"].content_sha256 for n in names}) == len(names)
    assert stats.hits == len(names)
    assert not hashers.workers  # every hashing process ended with the run
