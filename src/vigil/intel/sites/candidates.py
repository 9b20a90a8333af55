"""Look-alike names for a known site: the same label under other suffixes (TLD hopping), and typos.

Suffixes come from tldextract's bundled Public Suffix List, offline. Typo variants cover omission,
repetition, adjacent swap, hyphen changes, common homoglyphs and a plural `s`. Candidates are names to
check (DNS, crawl), not findings.
"""

from __future__ import annotations

from functools import lru_cache

import tldextract

from vigil.web import urls

HOMOGLYPHS = {"o": "0", "0": "o", "l": "1", "1": "l", "i": "l", "e": "3", "a": "4", "s": "5", "m": "rn"}
# Suffixes often used by burner sites; the full ICANN list is available with all_suffixes().
DEFAULT_SUFFIXES = (
    "com",
    "net",
    "org",
    "info",
    "biz",
    "xyz",
    "top",
    "club",
    "online",
    "site",
    "me",
    "cc",
    "ws",
    "to",
    "io",
    "co",
    "ru",
    "su",
    "tk",
    "ml",
    "ga",
    "cf",
    "gq",
    "pw",
    "in",
    "us",
    "eu",
    "co.uk",
)


@lru_cache(maxsize=1)
def all_suffixes() -> tuple[str, ...]:
    """Every single-label ICANN suffix in the bundled list (about 1,400)."""
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tlds = extractor.tlds  # the bundled ICANN section
    return tuple(sorted(t for t in tlds if "." not in t and not t.startswith("*")))


def typos(label: str) -> set[str]:
    out = set()
    for i in range(len(label)):
        out.add(label[:i] + label[i + 1 :])  # omission
        out.add(label[:i] + label[i] + label[i:])  # repetition
        if i + 1 < len(label):
            out.add(label[:i] + label[i + 1] + label[i] + label[i + 2 :])  # swap
        if label[i] in HOMOGLYPHS:
            out.add(label[:i] + HOMOGLYPHS[label[i]] + label[i + 1 :])
        if 0 < i < len(label) and "-" not in (label[i - 1], label[i]):
            out.add(label[:i] + "-" + label[i:])
    out |= {label.replace("-", ""), label + "s", label.rstrip("s")}
    return {t for t in out if t and t != label and not t.startswith("-") and not t.endswith("-")}


def candidates(
    domain: str, suffixes: tuple[str, ...] = DEFAULT_SUFFIXES, with_typos: bool = True
) -> list[str]:
    label, suffix = urls.split_site(domain.lower())
    if not label:
        raise ValueError(f"{domain!r} has no registrable label")
    names = {f"{label}.{s}" for s in suffixes if s != suffix}
    if with_typos:
        names |= {f"{t}.{s}" for t in typos(label) for s in {suffix, *suffixes[:4]}}
    names.discard(f"{label}.{suffix}")
    return sorted(names)
