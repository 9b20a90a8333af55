"""HMA's /m endpoints: raw lookup, lookup (by signal, URL or upload), compare, index status."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request

from vigil.actions.exchanges.signals import SIGNALS
from vigil.core.actor import Permission
from vigil.interfaces.api.service import Service, get_service
from vigil.interfaces.hma import common
from vigil.interfaces.hma.common import HmaError, hash_form, hash_url, validated, who
from vigil.lists import banks
from vigil.lists import domain as lists
from vigil.match.tiers import Tier
from vigil.signals.types import hash_type

router = APIRouter(tags=["hma"])


def _enabled(disable_until_ts: int) -> bool:
    return disable_until_ts == 1 or (disable_until_ts > 1 and disable_until_ts <= time.time())


def lookup(
    service: Service, signal: str, value: str, wanted: set[str] | None, seed: str | None, bypass: bool
) -> dict[str, list[dict[str, Any]]]:
    """Bank -> matching contents for one signal; a bank's enabled ratio is HMA's per-lookup coin flip."""
    shared = common.signal_type(signal)
    value = validated(shared, value)
    found = service.matchers.current.match_hashes([(shared.hash_type, value)])
    # HMA has no tiers and its clients act on what a lookup returns: weak matches stay out of it
    distance = {m.entry_id: int(m.distance) for m in found if m.tier != Tier.WEAK}
    coin = 0.0 if bypass else random.Random(seed).random()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for hit in banks.hits(service.store, list(distance)):
        if (wanted is not None and hit.bank not in wanted) or hit.enabled_ratio < coin:
            continue
        if not _enabled(hit.disable_until_ts):
            continue
        out[hit.bank].append({"bank_content_id": hit.content_id, "distance": str(distance[hit.entry_id])})
    return dict(out)


def _banks(value: str | None) -> set[str] | None:
    return set(value.split(",")) if value else None


@router.get("/m/raw_lookup")
def raw_lookup(
    request: Request, signal: str, signal_type: str, banks: str | None = None, include_distance: bool = False
) -> dict[str, Any]:
    """Content ids matching a signal (with distances on request), across the chosen banks."""
    who(request, Permission.MATCH)
    found = lookup(get_service(request), signal_type, signal, _banks(banks), None, True)
    matches = [m for ms in found.values() for m in ms]
    if include_distance:
        return {"matches": matches}
    return {"matches": sorted({m["bank_content_id"] for m in matches})}


@router.get("/m/lookup")
def lookup_get(
    request: Request,
    url: str | None = None,
    content_type: str | None = None,
    signal: str | None = None,
    signal_type: str | None = None,
    banks: str | None = None,
    seed: str | None = None,
    bypass_coinflip: bool = False,
) -> dict[str, Any]:
    """Matches per bank for a signal, or for the content at an allowed URL."""
    who(request, Permission.MATCH)
    service = get_service(request)
    if url:
        hashes = hash_url(service, url, content_type)
        result = {
            st: lookup(service, st, v, _banks(banks), seed, bypass_coinflip) if v else {}
            for st, v in hashes.items()
        }
        return result.get(signal_type, {}) if signal_type else result
    if not signal or not signal_type:
        raise HmaError(400, "Either url or both signal and signal_type are required")
    return lookup(service, signal_type, signal, _banks(banks), seed, bypass_coinflip)


@router.post("/m/lookup")
async def lookup_post(
    request: Request, banks: str | None = None, seed: str | None = None, bypass_coinflip: bool = False
) -> dict[str, Any]:
    """Matches per signal type and bank for an uploaded file."""
    who(request, Permission.MATCH)
    service = get_service(request)
    hashes = await hash_form(request)
    return {
        st: lookup(service, st, v, _banks(banks), seed, bypass_coinflip) if v else {}  # too flat: no hash
        for st, v in hashes.items()
    }


@router.post("/m/compare")
async def compare(request: Request) -> dict[str, Any]:
    """Compare pairs of signals per type: [match within the radius?, {distance}]."""
    who(request, Permission.MATCH)
    body = await request.json()
    if not isinstance(body, dict):
        raise HmaError(400, "Request input was not a dict")
    radius = get_service(request).matchers.current.config.radius
    out: dict[str, Any] = {}
    for name, pair in body.items():
        if not isinstance(pair, list):
            raise HmaError(400, f"Comparison hashes for {name} was not a list")
        if len(pair) != 2:
            raise HmaError(400, "Comparison hash list length must be exactly 2")
        shared = common.signal_type(name)
        left, right = (validated(shared, str(h)) for h in pair)
        kind = hash_type(shared.hash_type)
        d = kind.distance(left, right)
        out[name] = [d <= (radius if kind.compare == "hamming" else kind.threshold), {"distance": d}]
    return out


@router.get("/m/index/status")
def index_status(request: Request, signal_type: str | None = None) -> dict[str, Any]:
    """Per signal type: whether an index is present, when the index now serving was built, and its
    size. `built_to` is the real build time (HMA's field); a Vigil extra, `stale`, says whether the
    lists changed since (the service then rebuilds on its next match)."""
    who(request, Permission.MATCH)
    names = [signal_type] if signal_type else SIGNALS.names()
    service = get_service(request)
    state = service.matchers.status()
    out = {}
    for name in names:
        size = lists.count_known(service.store, common.signal_type(name).hash_type)
        out[name] = {
            "present": True,
            "built_to": int(state.built_at.timestamp()),
            "size": size,
            "stale": state.stale,
        }
    return out
