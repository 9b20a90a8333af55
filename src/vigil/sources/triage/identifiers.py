"""Identifiers as services write them, reduced to what names one person.

Services send the same e-mail as `Jo.Doe+pics@GoogleMail.com`, ` jodoe@gmail.com` and
`JODOE@gmail.com`; accounts with stray spaces and changed case; and placeholders (`[deleted]`, `0`,
`unknown`) that name nobody and must never link two reports. Canonical forms make exact links exact;
`near` finds one-character variants, which are offered as suggestions for a person to confirm, never
linked on their own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

PLACEHOLDERS = frozenset(
    {
        "",
        "-",
        "--",
        "?",
        "0",
        "n/a",
        "na",
        "none",
        "null",
        "nil",
        "unknown",
        "anonymous",
        "deleted",
        "[deleted]",
        "[removed]",
        "removed",
        "undefined",
        "user",
        "test",
        "noreply",
        "no-reply",
    }
)
# Providers that ignore dots in the local part (and their alias domains).
DOTLESS_PROVIDERS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
_SPACES = re.compile(r"\s+")
_ZEROS = re.compile(r"^0+$")


def is_placeholder(value: str) -> bool:
    folded = _SPACES.sub("", value).casefold()
    return folded in PLACEHOLDERS or bool(_ZEROS.match(folded))


def canonical_email(value: str) -> str | None:
    """Trimmed, case-folded, without a +tag; dots dropped where the provider ignores them. None
    for a placeholder or something that is not an address."""
    text = _SPACES.sub("", value).casefold()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or is_placeholder(local):
        return None
    local = local.split("+", 1)[0]
    if domain in DOTLESS_PROVIDERS:
        domain = DOTLESS_PROVIDERS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def canonical_account(service: str, value: str) -> str | None:
    """A service-scoped account key: the same numeric id on two services is two people."""
    text = _SPACES.sub("", value).casefold()
    if is_placeholder(text):
        return None
    return f"{service.strip().casefold()}/{text}"


def canonical_phone(value: str) -> str | None:
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) >= 7 and not is_placeholder(digits) else None


def _one_typo(a: str, b: str) -> bool:
    """One character substituted, inserted or dropped, where that character is not a digit on
    both sides: user1234 and user1235 are two accounts, not a typo."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1 :] != b[i + 1 :]:
            return False
        return not (a[i].isdigit() and b[i].isdigit())
    return a[i:] == b[i + 1 :] and not b[i].isdigit()


def near(values: Iterable[str], min_length: int = 6) -> list[tuple[str, str]]:
    """Pairs of distinct identifiers one typo apart (`_one_typo`), found through their one-deletion
    neighbourhoods (symmetric delete) rather than by comparing all pairs."""
    by_key: dict[str, set[str]] = defaultdict(set)
    for value in set(values):
        if len(value) < min_length:
            continue
        by_key[value].add(value)
        for i in range(len(value)):
            by_key[value[:i] + value[i + 1 :]].add(value)
    pairs: set[tuple[str, str]] = set()
    for group in by_key.values():
        if 1 < len(group) <= 50:  # a crowded neighbourhood is a pattern (user1, user2...), not a typo
            ordered = sorted(group)
            for x, a in enumerate(ordered):
                for b in ordered[x + 1 :]:
                    if _one_typo(a, b):
                        pairs.add((a, b))
    return sorted(pairs)
