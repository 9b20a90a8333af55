"""Scan reports from the store: JSON for machines, a plain HTML summary (never thumbnails) for people."""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from vigil.core.clock import aware, utcnow
from vigil.core.errors import NotFound
from vigil.core.states import ItemStatus, ListPurpose, ScanStatus
from vigil.store.db import Store
from vigil.store.models import Scan
from vigil.store.repo import lists
from vigil.store.repo import scans as repo

STALE = timedelta(seconds=90)  # a running scan without a heartbeat this long is shown as interrupted


def effective_status(scan: Scan) -> ScanStatus:
    """A `running` scan whose heartbeat stopped (its process was killed) is `interrupted`."""
    if scan.status == ScanStatus.RUNNING and utcnow() - aware(scan.heartbeat_at or scan.started_at) > STALE:
        return ScanStatus.INTERRUPTED
    return scan.status


def build(store: Store, scan_id: int) -> dict[str, Any]:
    with store.session() as session:
        scan = repo.scan(session, scan_id)
        if scan is None:
            raise NotFound(f"no scan {scan_id}")
        items = repo.items(session, scan_id)
        rows = repo.matches_with_values(session, scan_id)
        sources = lists.provenance(session, {m.entry_id for m, _ in rows})
    by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for match, value in rows:
        by_item[match.item_id].append(
            {
                "hash_type": match.hash_type,
                "value": value,
                "distance": match.distance,
                "variant": match.variant,
                "tier": match.tier,
                "detail": match.detail,
                "lists": [
                    {
                        "list": p.list_name,
                        "category": p.category,
                        "origin": p.origin,
                        "added_at": p.added_at.isoformat(),
                    }
                    for p in sources.get(match.entry_id, [])
                    if p.purpose == ListPurpose.KNOWN
                    and p.list_name in (match.detail or {}).get("weak_on", [p.list_name])
                ],
            }
        )
    matched = [
        {
            "path": item.path,
            "md5": item.md5,
            "sha1": item.sha1,
            "sha256": item.sha256,
            "pdq": item.pdq,
            "pdq_quality": item.pdq_quality,
            "media_type": item.media_type,
            "frames": item.frames,
            "duration": item.duration,
            "matches": sorted(by_item[item.id], key=lambda m: (m["distance"], m["hash_type"])),
        }
        for item in items
        if by_item.get(item.id)
    ]
    statuses = Counter(item.status for item in items)
    return {
        "scan": {
            "id": scan.id,
            "root": scan.root,
            "status": effective_status(scan).value,
            "options": scan.options,
            "started_at": scan.started_at.isoformat(),
            "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
        },
        "totals": {
            "items": len(items),
            "images": sum(1 for i in items if i.media_type == "image"),
            "videos": sum(1 for i in items if i.media_type == "video"),
            "matched": len(matched),
            **{status.value: statuses.get(status, 0) for status in ItemStatus},
        },
        "matches": matched,
        "errors": [{"path": i.path, "reason": i.error} for i in items if i.status == ItemStatus.ERROR],
        "skipped": [{"path": i.path, "reason": i.error} for i in items if i.status == ItemStatus.SKIPPED],
    }


def write(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"scan-{report['scan']['id']}"
    json_path, html_path = folder / f"{stem}.json", folder / f"{stem}.html"
    json_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _where(detail: dict[str, Any] | None) -> str:
    """Where a match lies, e.g. `query 0:12-0:31 of known 1:02-1:21 (96% / 21%)` for a video, `region
    tl07 of the known picture` for a region hash, with the false-match estimate when there is one."""
    if not detail:
        return ""
    parts = []
    if "video_timestamps" in detail:
        stamps = detail["video_timestamps"]
        parts.append(f"frames at {_clock(stamps[0])}-{_clock(stamps[-1])}" if stamps else "")
    if "query_ranges" in detail:
        query = ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in detail["query_ranges"])
        known = ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in detail.get("known_ranges", []))
        parts.append(
            f"query {query} of known {known} ({detail['query_percent']}% / {detail['known_percent']}%)"
        )
    if "known_region" in detail:
        parts.append(f"region {detail['known_region']} of the known picture")
    if "verified" in detail:
        verified = detail["verified"]
        parts.append(f"keypoints {verified['result']} ({verified['inliers']} consistent)")
    if "false_match" in detail:
        parts.append(f"estimated false-match probability {detail['false_match']:.1e}")
    return "; ".join(p for p in parts if p)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(float(seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def render_html(report: dict[str, Any]) -> str:
    scan, totals = report["scan"], report["totals"]
    total_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in totals.items())
    match_rows = []
    for item in report["matches"]:
        for m in item["matches"]:
            where = _where(m.get("detail"))
            lists_text = "; ".join(
                f"{entry['list']}" + (f" (category {entry['category']})" if entry["category"] else "")
                for entry in m["lists"]
            )
            match_rows.append(
                f"<tr><td class=path>{_e(item['path'])}</td><td>{_e(m['hash_type'])}</td>"
                f"<td>{_e(m.get('tier') or '-')}</td><td>{_e(m['distance'])}</td>"
                f"<td>{_e(m['variant'] or '')}</td><td>{_e(where)}</td>"
                f"<td>{_e(lists_text)}</td></tr>"
            )
    error_rows = "".join(
        f"<tr><td class=path>{_e(e['path'])}</td><td>{_e(e['reason'])}</td></tr>" for e in report["errors"]
    )
    skipped_rows = "".join(
        f"<tr><td class=path>{_e(e['path'])}</td><td>{_e(e['reason'])}</td></tr>" for e in report["skipped"]
    )
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><title>Vigil scan {_e(scan["id"])}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
table{{border-collapse:collapse;margin:1rem 0}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}}
.path{{font-family:monospace;word-break:break-all}}
.note{{color:#555}}
</style></head><body>
<h1>Vigil scan {_e(scan["id"])}</h1>
<p>Root <code>{_e(scan["root"])}</code>, status <b>{_e(scan["status"])}</b>, started {_e(scan["started_at"])},
finished {_e(scan["finished_at"] or "-")}. Options: <code>{_e(json.dumps(scan["options"]))}</code></p>
<p class=note>This summary holds no images. Matches are leads for human review, not findings.</p>
<h2>Totals</h2><table>{total_rows}</table>
<h2>Matches ({len(report["matches"])} items)</h2>
<table><tr><th>Item</th><th>Hash</th><th>Tier</th><th>Distance</th><th>Variant</th><th>Where</th><th>Lists</th></tr>{"".join(match_rows)}</table>
<h2>Items not fully processed ({len(report["errors"])})</h2>
<table><tr><th>Item</th><th>Reason</th></tr>{error_rows}</table>
<h2>Not read by design ({len(report["skipped"])}: links, special files)</h2>
<table><tr><th>Item</th><th>Reason</th></tr>{skipped_rows}</table>
</body></html>
"""
