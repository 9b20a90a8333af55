"""Look-alike names for a known site: the same label under other suffixes (TLD hopping), and the
permutations squatters register.

Suffixes come from the Public Suffix List bundled with publicsuffixlist, offline. The permutations come from
dnstwist's fuzzers, used as a library (no DNS, no network): homoglyphs (as IDN, in punycode),
bit-flips, keyboard typos (insertion, replacement), omission, repetition, transposition, vowel swaps,
hyphenation, additions, plurals, subdomain-fused forms and its other fuzzers, each name labelled with
the fuzzer that made it. Candidates are names to check (DNS, crawl), not findings.
"""

from __future__ import annotations

from functools import lru_cache

import dnstwist

from vigil.web import urls

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
    return tuple(sorted(t for t in urls.icann_suffixes() if "." not in t))


def permutations(domain: str, suffixes: tuple[str, ...] = ()) -> dict[str, str]:
    """name -> the dnstwist fuzzer that produced it (`tld-swap` for `suffixes`)."""
    fuzzer = dnstwist.Fuzzer(domain, tld_dictionary=list(suffixes))
    fuzzer.generate()
    return {
        str(found["domain"]): str(found["fuzzer"])
        for found in fuzzer.domains
        if found["fuzzer"] != "*original" and found["domain"] != domain
    }


def candidates(
    domain: str, suffixes: tuple[str, ...] = DEFAULT_SUFFIXES, with_typos: bool = True
) -> list[str]:
    label, suffix = urls.split_site(domain.lower())
    if not label:
        raise ValueError(f"{domain!r} has no registrable label")
    registered = f"{label}.{suffix}"
    names = {f"{label}.{s}" for s in suffixes if s != suffix}
    if with_typos:
        names |= set(permutations(registered, suffixes))
    names.discard(registered)
    return sorted(names)
