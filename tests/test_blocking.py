"""Blocklist exports load into a real resolver; the stop page logs nothing; search warnings normalise."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from tests.conftest import OPERATOR

from vigil.actions.blocking import blocklist, search
from vigil.store import audit
from vigil.store.db import Store

DATA = Path(__file__).parent / "data"
UNBOUND = shutil.which("unbound") or ("/usr/sbin/unbound" if Path("/usr/sbin/unbound").exists() else None)


def _approved(store: Store, *values: str, force: bool = False) -> None:
    for value in values:
        entry = blocklist.add(store, OPERATOR, value, source="test", force=force)
        blocklist.review(store, OPERATOR, entry.id, approve=True)


def test_shared_hosts_and_cdns_are_refused_unless_forced(store: Store) -> None:
    for value in (
        "blogspot.com",
        "github.io",
        "co.uk",
        "cloudfront.net",
        "akamaihd.net",
        "https://www.wp.com/",
    ):
        with pytest.raises(blocklist.BlocklistError, match="refused"):
            blocklist.add(store, OPERATOR, value)
    assert (
        blocklist.add(store, OPERATOR, "d1234.cloudfront.net").kind == "domain"
    )  # one distribution, one tenant
    tenant = blocklist.add(store, OPERATOR, "one-tenant.blogspot.com")
    assert tenant.kind == "domain" and not tenant.forced
    forced = blocklist.add(store, OPERATOR, "cloudfront.net", force=True)
    assert forced.forced
    with pytest.raises(blocklist.BlocklistError, match="not a domain"):
        blocklist.add(store, OPERATOR, "not a domain")


def test_exports_hold_only_reviewed_entries_and_serial_moves_on_change(store: Store, tmp_path: Path) -> None:
    _approved(store, "blocked-one.example", "https://files.example.net/a/b.jpg", "https://i.imgur.com/x.jpg")
    pending = blocklist.add(store, OPERATOR, "pending.example")
    rejected = blocklist.add(store, OPERATOR, "rejected.example")
    blocklist.review(store, OPERATOR, rejected.id, approve=False)
    out = tmp_path / "zone.rpz"
    assert blocklist.export(store, OPERATOR, "rpz", out) == 2
    zone = dns.zone.from_file(str(out), origin="rpz.vigil.local", relativize=False)
    owners = {str(name) for name in zone.nodes}
    assert (
        "blocked-one.example.rpz.vigil.local." in owners
        and "*.blocked-one.example.rpz.vigil.local." in owners
    )
    assert "files.example.net.rpz.vigil.local." in owners
    assert not any("imgur" in o or "pending" in o or "rejected" in o for o in owners)
    serial = zone.find_rdataset("rpz.vigil.local.", dns.rdatatype.SOA)[0].serial
    blocklist.export(store, OPERATOR, "rpz", out)
    same = dns.zone.from_file(str(out), origin="rpz.vigil.local", relativize=False)
    assert same.find_rdataset("rpz.vigil.local.", dns.rdatatype.SOA)[0].serial == serial
    blocklist.review(store, OPERATOR, pending.id, approve=True)
    blocklist.export(store, OPERATOR, "rpz", out)
    bumped = dns.zone.from_file(str(out), origin="rpz.vigil.local", relativize=False)
    assert bumped.find_rdataset("rpz.vigil.local.", dns.rdatatype.SOA)[0].serial == serial + 1
    urls = tmp_path / "urls.txt"
    assert blocklist.export(store, OPERATOR, "urls", urls) == 2
    assert "https://i.imgur.com/x.jpg" in urls.read_text()  # shared host: URL list only
    assert blocklist.export(store, OPERATOR, "domains", tmp_path / "d.txt") == 3
    assert audit.action_counts(store)["blocklist.export"] == 5


def test_a_wildcard_entry_is_exported_once_as_a_wildcard(store: Store, tmp_path: Path) -> None:
    _approved(store, "*.wild.example", "plain.example")
    out = tmp_path / "zone.rpz"
    blocklist.export(store, OPERATOR, "rpz", out)
    owners = {
        str(name) for name in dns.zone.from_file(str(out), origin="rpz.vigil.local", relativize=False).nodes
    }
    assert "*.wild.example.rpz.vigil.local." in owners
    assert not any(o.startswith("*.*.") for o in owners)
    assert "wild.example.rpz.vigil.local." not in owners  # the entry named the subdomains only
    assert {"plain.example.rpz.vigil.local.", "*.plain.example.rpz.vigil.local."} <= owners


def _free_port() -> int:
    """A port free for both UDP and TCP: unbound binds both and exits if either is taken."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
            with socket.socket() as stream:
                try:
                    stream.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _query(port: int, name: str, tries: int = 5, timeout: float = 5) -> dns.message.Message:
    """UDP can drop a datagram on a busy machine; ask again, as a stub resolver would."""
    for attempt in range(tries):
        try:
            return dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=timeout)
        except dns.exception.Timeout:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def _unbound_config(tmp_path: Path, zone_file: Path, port: int) -> Path:
    config = tmp_path / "unbound.conf"
    config.write_text(
        f"""server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    do-daemonize: no
    use-syslog: no
    logfile: ""
    verbosity: 1
    username: ""
    chroot: ""
    directory: "{tmp_path}"
    pidfile: "{tmp_path}/unbound.pid"
    module-config: "respip iterator"
    access-control: 127.0.0.0/8 allow
    local-zone: "unlisted.example." static
    local-data: "www.unlisted.example. 300 IN A 192.0.2.20"
auth-zone:
    name: "vigil.example."
    zonefile: "{tmp_path}/vigil.example.zone"
    for-downstream: yes
    for-upstream: yes
rpz:
    name: "rpz.vigil.local."
    zonefile: "{zone_file}"
"""
    )
    checked = subprocess.run(
        [str(Path(str(UNBOUND)).with_name("unbound-checkconf")), str(config)], capture_output=True
    )
    assert checked.returncode == 0, checked.stderr.decode()
    return config


def _start_unbound(
    tmp_path: Path, zone_file: Path
) -> tuple[subprocess.Popen[bytes], int, dns.message.Message]:
    """Start unbound on a free port and wait for its first answer.

    A port found free can be taken before unbound binds it (an outgoing connection of another
    process); unbound then exits with a bind error, and a fresh port is tried. Any other failure
    fails the test with unbound's own log, which a plain timeout would hide.
    """
    log_path = tmp_path / "unbound.log"
    for _ in range(3):
        port = _free_port()
        config = _unbound_config(tmp_path, zone_file, port)
        with log_path.open("wb") as log:
            server = subprocess.Popen([str(UNBOUND), "-d", "-c", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline:
            try:
                return server, port, _query(port, "ok.vigil.example.", tries=1, timeout=0.5)
            except (OSError, dns.exception.Timeout):
                time.sleep(0.1)
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
            break
        if "bind" not in log_path.read_text(errors="replace"):
            break
    raise AssertionError(f"unbound did not answer on port {port}:\n{log_path.read_text(errors='replace')}")


@pytest.mark.skipif(UNBOUND is None, reason="Debian unbound not installed (.ci/run installs it)")
@pytest.mark.parametrize("action", ["nxdomain", "cname"])
def test_zone_loads_into_unbound_and_blocks(store: Store, tmp_path: Path, action: str) -> None:
    _approved(store, "blocked.example", "https://www.bad-files.example/path/x.jpg")
    zone_file = tmp_path / "vigil.rpz"
    options = blocklist.RpzOptions(zone="rpz.vigil.local", action=action, stop_host="stop.vigil.example")
    blocklist.export(store, OPERATOR, "rpz", zone_file, options)
    (tmp_path / "vigil.example.zone").write_text(
        "$ORIGIN vigil.example.\n$TTL 300\n"
        "@ IN SOA ns.vigil.example. hostmaster.vigil.example. 1 3600 600 86400 300\n"
        "@ IN NS ns.vigil.example.\nns IN A 192.0.2.1\nok IN A 192.0.2.10\nstop IN A 192.0.2.99\n"
    )
    server, port, normal = _start_unbound(tmp_path, zone_file)
    try:
        assert normal.rcode() == dns.rcode.NOERROR and "192.0.2.10" in normal.to_text()
        assert "192.0.2.20" in _query(port, "www.unlisted.example.").to_text()
        for name in ("blocked.example.", "deep.sub.blocked.example.", "www.bad-files.example."):
            answer = _query(port, name)
            if action == "nxdomain":
                assert answer.rcode() == dns.rcode.NXDOMAIN, name
            else:
                assert answer.rcode() == dns.rcode.NOERROR, name
                text = answer.to_text()
                assert "CNAME stop.vigil.example." in text and "192.0.2.99" in text, text
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_stop_page_serves_notice_and_logs_nothing_personal(tmp_path: Path) -> None:
    port = _free_port_tcp()
    marker = uuid.uuid4().hex
    agent = f"VigilPrivacyProbe/{marker}"
    out, err = (tmp_path / "stdout.txt").open("wb"), (tmp_path / "stderr.txt").open("wb")
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONWARNINGS="always")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vigil.interfaces.cli.main",
            "stop-page",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--language",
            "en",
        ],
        stdout=out,
        stderr=err,
        cwd=tmp_path,
        env=env,
    )
    try:
        _wait_tcp(port)
        pages = {}
        for language, path in (("en", f"/some/path?q={marker}"), ("nb-NO,nb;q=0.9", "/")):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                headers={
                    "User-Agent": agent,
                    "Accept-Language": language,
                    "X-Forwarded-For": "203.0.113.77",
                    "Host": "blocked.example",
                    "Cookie": f"id={marker}",
                },
            )
            try:
                urllib.request.urlopen(request, timeout=5)
            except urllib.error.HTTPError as reply:
                assert reply.code == 451
                assert "Set-Cookie" not in reply.headers
                pages[language] = reply.read().decode()
        bad = socket.create_connection(("127.0.0.1", port))
        bad.sendall(f"GARBAGE {marker} HTTP/9\r\n\r\n".encode())
        bad.recv(1024)
        bad.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        out.close()
        err.close()
    assert "stopitnow.org" in pages["en"] and "blocked" in pages["en"]
    assert "detfinnesjelp.no" in pages["nb-NO,nb;q=0.9"] and "blokkert" in pages["nb-NO,nb;q=0.9"]
    written = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert set(written) == {"stdout.txt", "stderr.txt"}  # no log files created
    everything = b"".join(written.values())
    for secret in (b"127.0.0.1 -", agent.encode(), marker.encode(), b"203.0.113.77", b"blocked.example"):
        assert secret not in everything, secret


def _free_port_tcp() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_tcp(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("stop page did not start")


STANDIN = search.TermList.load(DATA / "standin_terms.tsv")


@pytest.mark.parametrize(
    "query",
    [
        "P1N3@PPLE",
        "p i n e a p p l e",
        "p.i.n.e.a.p.p.l.e",
        "pïñéåpple",
        "pineappppple",
        "r3d_p4nd4 pics",
        "big APE",
        "Red  Panda",
        "pin\u200beapple",  # zero-width space
        "pine\u00adapple",  # soft hyphen
        "\u0440in\u0435\u0430ppl\u0435",  # Cyrillic er, ie, a
        "\u24df\u24d8\u24dd\u24d4\u24d0\u24df\u24df\u24db\u24d4",  # circled letters
        "\uff30\uff29\uff2e\uff25\uff21\uff30\uff30\uff2c\uff25",  # fullwidth
    ],
)
def test_search_warning_sees_through_evasions(query: str) -> None:
    result = search.check(query, STANDIN, "no")
    assert result.warn and result.helpline["url"].endswith("detfinnesjelp.no/")
    assert "pineapple" not in (result.message or "")  # the term is never echoed


def test_search_warning_false_positive_rate_on_benign_queries() -> None:
    queries = (DATA / "benign_queries.txt").read_text().splitlines()
    rate, flagged = search.false_positive_rate(queries, STANDIN)
    naive = sum(any(t.text in q.lower() for t in STANDIN.terms) for q in queries) / len(queries)
    assert len(queries) > 500 and naive > 0.2  # the set really contains the stand-in letters inside words
    assert rate == 0.0, flagged


def test_term_list_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="line 2"):
        search.TermList.from_lines(["a\tok", "no tab here"])
