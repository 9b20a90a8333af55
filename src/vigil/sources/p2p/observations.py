"""Observation logs from P2P monitoring tools, read and checked by DuckDB; bad rows are reported, not fatal.

Which column holds what comes from a log profile (`profiles`): Vigil's own columns
(`timestamp,ip,port,client_id,infohash,file_hash,file_name`) by default, a DHT crawler's with
`--profile dht`, any other with `--columns`. Times are ISO 8601 (an offset-less time is UTC) or Unix
epoch seconds or milliseconds. Every hash is parsed by its form (`hashes`), so a value that is no
hash is refused with its reason instead of being counted as one.

Logs run to hundreds of millions of rows. DuckDB reads the CSV in parallel, streams it, and does the
checks that hold for nearly every row (hex hashes, dotted IPv4 addresses, ISO or epoch times) in its
vectorised engine; only the distinct values that fail that fast path (base32 and magnet spellings,
IPv6, junk) come back to Python once each. The result is the table `obs` in the connection, one row
per sighting with its line number and, for a bad row, `reason`.
"""

from __future__ import annotations

import csv
import ipaddress
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb

from vigil.core.errors import ItemError, VigilError
from vigil.sources.p2p.hashes import parse_file_hash, parse_infohash
from vigil.sources.p2p.profiles import FIELDS, PROFILES, LogProfile

EPOCH_MS = 10**11  # an epoch number above this is in milliseconds (year 5138 in seconds)
IPV4 = r"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


def header_of(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        return [h.strip() for h in next(csv.reader(handle), [])]


def _column(header: list[str], profile: LogProfile, field: str) -> str:
    """The SQL for one of Vigil's fields: the log's column (quoted), or '' where the log has none."""
    wanted = profile.columns.get(field, "").lower()
    for name in header:
        if name.lower() == wanted:
            return '"' + name.replace('"', '""') + '"'
    return "''"


def _checked(
    con: duckdb.DuckDBPyConnection, values: str, parse: Callable[[str], tuple[str, str]], table: str
) -> None:
    """Parse each distinct value that failed the fast path once, in Python; the answers become a
    table (raw, kind, hex, reason) to join."""
    raws = [r for (r,) in con.execute(values).fetchall()]
    kinds: list[str | None] = []
    hexes: list[str | None] = []
    reasons: list[str | None] = []
    for raw in raws:
        try:
            kind, value = parse(raw)
            kinds.append(kind)
            hexes.append(value)
            reasons.append(None)
        except ValueError as exc:
            kinds.append(None)
            hexes.append(None)
            reasons.append(str(exc))
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT unnest(?) AS raw, unnest(?) AS kind, unnest(?) AS hex, "
        "unnest(?) AS reason",
        [raws, kinds, hexes, reasons],
    )


def _checked_ips(con: duckdb.DuckDBPyConnection) -> None:
    raws = [
        r
        for (r,) in con.execute(
            f"SELECT DISTINCT ip FROM raw WHERE NOT regexp_full_match(ip, '{IPV4}')"
        ).fetchall()
    ]
    good: list[str | None] = []
    for raw in raws:
        try:
            good.append(str(ipaddress.ip_address(raw)))
        except ValueError:
            good.append(None)
    con.execute("CREATE TEMP TABLE ips AS SELECT unnest(?) AS raw, unnest(?) AS ip", [raws, good])


def load(
    path: Path, profile: LogProfile | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """Read the log into the table `obs` (see the module docstring); returns the connection."""
    profile = profile or PROFILES.get("vigil")
    header = header_of(path)
    col = {f: _column(header, profile, f) for f in FIELDS}
    if col["time"] == "''" or col["ip"] == "''" or col["infohash"] == col["file_hash"] == "''":
        wanted = ", ".join(f"{f}={c}" for f, c in profile.columns.items())
        raise VigilError(
            f"{path}: needs timestamp, ip and infohash or file_hash columns; profile {profile.name} "
            f"expects {wanted}, the log has {header} (choose --profile or map with --columns)"
        )
    con = con or duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # an offset-less time in the log is UTC, whatever the machine's zone
    con.execute(
        "CREATE TEMP TABLE raw AS SELECT "
        f"trim(coalesce({col['time']}, '')) AS time, trim(coalesce({col['ip']}, '')) AS ip, "
        f"trim(coalesce({col['port']}, '')) AS port, "
        f"lower(trim(coalesce({col['client_id']}, ''))) AS client, "
        f"trim(coalesce({col['infohash']}, '')) AS info, trim(coalesce({col['file_hash']}, '')) AS file, "
        f"coalesce({col['file_name']}, '') AS name, lower(trim(coalesce({col['event']}, ''))) AS event "
        "FROM read_csv(?, header = true, all_varchar = true, null_padding = true, quote = '\"')",
        [str(path)],
    )
    _checked(
        con,
        "SELECT DISTINCT info FROM raw WHERE info <> '' "
        "AND NOT regexp_full_match(lower(info), '[0-9a-f]{40}')",
        parse_infohash,
        "info_slow",
    )
    declared = profile.file_hash_type
    _checked(
        con,
        "SELECT DISTINCT file FROM raw WHERE file <> '' "
        "AND NOT regexp_full_match(lower(file), '[0-9a-f]{40}')",
        lambda raw: parse_file_hash(raw, declared),
        "file_slow",
    )
    _checked_ips(con)
    events = list(profile.events.items())
    con.execute(
        "CREATE TEMP TABLE grades AS SELECT unnest(?) AS event, unnest(?) AS grade",
        [[e.lower() for e, _ in events], [g.value for _, g in events]],
    )
    con.execute(
        f"""
        CREATE TEMP TABLE obs AS
        WITH cleaned AS (  -- each test once per row; rowid is the row's place in the file
            SELECT rowid + 2 AS line, *, lower(info) AS info_low, lower(file) AS file_low,
                regexp_full_match(time, '[0-9]+(\\.[0-9]+)?') AS epoch,
                regexp_full_match(lower(info), '[0-9a-f]{{40}}') AS info_fast,
                regexp_full_match(lower(file), '[0-9a-f]{{40}}') AS file_fast,
                regexp_full_match(ip, '{IPV4}') AS ipv4
            FROM raw
        ), typed AS (
            SELECT r.line, r.client, r.name,
                CASE WHEN r.epoch THEN to_timestamp(CAST(r.time AS DOUBLE)
                        / CASE WHEN CAST(r.time AS DOUBLE) > {EPOCH_MS} THEN 1000 ELSE 1 END)
                     ELSE TRY_CAST(replace(r.time, 'Z', '+00:00') AS TIMESTAMPTZ) END AS t,
                CASE WHEN r.ipv4 THEN r.ip ELSE i.ip END AS ip,
                CASE WHEN r.port = '' THEN 0 ELSE TRY_CAST(r.port AS INTEGER) END AS port,
                CASE WHEN r.info = '' THEN NULL WHEN r.info_fast THEN 'btih' ELSE s.kind END AS info_kind,
                CASE WHEN r.info = '' THEN NULL WHEN r.info_fast THEN r.info_low ELSE s.hex END AS info_hex,
                CASE WHEN r.file = '' THEN NULL WHEN r.file_fast THEN 'sha1' ELSE f.kind END AS file_kind,
                CASE WHEN r.file = '' THEN NULL WHEN r.file_fast THEN r.file_low ELSE f.hex END AS file_hex,
                coalesce(g.grade, ?) AS grade,
                r.time AS raw_time, r.ip AS raw_ip, r.port AS raw_port, s.reason AS info_reason,
                f.reason AS file_reason, r.info = '' AND r.file = '' AS no_hash
            FROM cleaned r
            LEFT JOIN info_slow s ON s.raw = r.info AND NOT r.info_fast
            LEFT JOIN file_slow f ON f.raw = r.file AND NOT r.file_fast
            LEFT JOIN ips i ON i.raw = r.ip AND NOT r.ipv4
            LEFT JOIN grades g ON g.event = r.event
        )
        SELECT line, t, ip, port, client, name, grade, info_kind, info_hex, file_kind, file_hex,
            coalesce(info_hex, file_hex) AS file_key,
            CASE WHEN t IS NULL THEN 'not a time (ISO 8601 or Unix epoch): ' || left(raw_time, 40)
                 WHEN ip IS NULL THEN 'not an IP address: ' || left(raw_ip, 45)
                 WHEN port IS NULL THEN 'port is not a number: ' || left(raw_port, 20)
                 WHEN no_hash THEN 'no infohash or file hash'
                 ELSE coalesce(info_reason, file_reason) END AS reason
        FROM typed
        """,
        [profile.default_grade.value],
    )
    return con


def problems(con: duckdb.DuckDBPyConnection, path: Path) -> list[ItemError]:
    """Every refused row with its line and reason, in file order."""
    rows = con.execute("SELECT line, reason FROM obs WHERE reason IS NOT NULL ORDER BY line").fetchall()
    return [ItemError(f"{path.name}:{line}", reason) for line, reason in rows]


def rows(con: duckdb.DuckDBPyConnection) -> Iterable[tuple[Any, ...]]:
    """The accepted sightings, in file order (for small logs and tests)."""
    return con.execute(
        "SELECT t, ip, port, client, info_hex, file_hex, name, grade FROM obs "
        "WHERE reason IS NULL ORDER BY line"
    ).fetchall()
