"""One Unicode folding for every text Vigil reads for intelligence: filenames, search queries, chats.

Evasion that survives plain lower-casing uses Unicode itself: zero-width characters and soft
hyphens inside a word, Cyrillic or Greek letters that look Latin ("paypal" spelt in Cyrillic),
enclosed, fullwidth, mathematical and small-capital letters. Folding undoes these with Unicode's
own data:

1. NFKC, which maps compatibility forms (circled, fullwidth and mathematical letters, ligatures)
   to plain letters;
2. removal of format characters (category Cf: zero-width space and joiners, soft hyphen, word
   joiner, bidi controls) and of the invisible Hangul fillers;
3. UTS #39 confusables (Unicode's `confusables.txt`, through the `confusable-homoglyphs` package) and
   Unicode character names (small capitals, negative squared letters) to map look-alikes to Latin,
   applied to a word only when it mixes scripts with Latin or when every letter of it has a Latin
   look-alike: a genuine Cyrillic or Greek word keeps its letters;
4. accents removed (NFKD without combining marks) and case folded.

Each consumer then applies its own rule for digits and separators (leetspeak inside words only for
filenames, every leet digit for search warnings), so "12yo" stays a number in a filename.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # Hangul fillers, braille blank
_LATIN_NAME = re.compile(
    r"LATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL )?([A-Z])$|LATIN LETTER SMALL CAPITAL ([A-Z])$"
)
_WORD = re.compile(r"\w+")
_PARENTHESISED_RUN = re.compile(r"(?:\([^\W_]\)){2,}")  # what NFKC makes of ⒜⒝⒞: (a)(b)(c)


@lru_cache(maxsize=1)
def _lookalikes() -> dict[str, str]:
    """Non-ASCII character -> the ASCII letter (else digit) it is confusable with."""
    from confusable_homoglyphs import confusables

    letters: dict[str, str] = {}
    digits: dict[str, str] = {}
    for char, glyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for glyph in glyphs:
            target = glyph["c"]
            if len(target) == 1 and target.isascii() and target.isalpha():
                letters.setdefault(char, target.lower())
            elif len(target) == 1 and target.isascii() and target.isdigit():
                digits.setdefault(char, target)
    return {**digits, **letters}


@lru_cache(maxsize=4096)
def latin_of(char: str) -> str | None:
    """The Latin letter a non-ASCII character stands for, if it looks like or is named as one."""
    named = _LATIN_NAME.search(unicodedata.name(char, ""))
    if named:
        return (named.group(1) or named.group(2)).lower()
    return _lookalikes().get(char)


def _fold_word(word: str) -> str:
    foreign = [c for c in word if not c.isascii() and c.isalpha()]
    if not foreign:
        return word
    mapped = {c: latin_of(c) for c in set(foreign)}
    has_latin = any(c.isascii() and c.isalpha() for c in word)
    if not has_latin and not all(mapped.values()):
        return word  # a genuine word of another script: leave it be
    return "".join(mapped.get(c) or c for c in word)


def _visible_char(char: str) -> str:
    if char.isascii():
        return char
    category = unicodedata.category(char)
    if category == "Cf" or char in INVISIBLE_LETTERS:
        return ""
    if category == "So":  # letters drawn as symbols: negative circled or squared A-Z
        named = _LATIN_NAME.search(unicodedata.name(char, ""))
        if named:
            return (named.group(1) or named.group(2)).lower()
    return char


def visible(text: str) -> str:
    """NFKC text without format characters and invisible fillers, symbol letters as letters."""
    text = "".join(_visible_char(c) for c in unicodedata.normalize("NFKC", text))
    return _PARENTHESISED_RUN.sub(lambda m: m.group(0).replace("(", "").replace(")", ""), text)


def fold(text: str, *, casefold: bool = True) -> str:
    """Steps 1-4 above; separators, digits and punctuation are left as they are."""
    text = _WORD.sub(lambda m: _fold_word(m.group(0)), visible(text))
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.casefold() if casefold else text
