"""Undo the usual filename and query obfuscations before n-grams are taken.

Uploaders defeat keyword lists with separators ("s.e.c.r.e.t"), leetspeak ("s3cr3t"), stretched letters
("seeecret"), accents and Unicode tricks (zero-width characters, look-alike letters, enclosed letters:
`vigil.core.textfold`); a model trained on clean text must see the same surface form. A letter-spaced
run ends where its separator changes ("s.e.c.r.e.t g.a.r.d.e.n" is two words, not one).
"""

from __future__ import annotations

import re

from vigil.core.textfold import fold

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_CHARS = "0134578@$!"
# A leet character counts as a letter only between letters ("h3llo"), so "12yo" or "2019" keep their digits.
_LEET_IN_WORD = re.compile(rf"(?<=[a-z])[{re.escape(_LEET_CHARS)}]+(?=[a-z])")
_SPACED_LETTERS = re.compile(r"(?<![a-z0-9])[a-z0-9]([ ._\-+*~])(?:[a-z0-9]\1)+[a-z0-9](?![a-z0-9])")
_SEPARATORS = re.compile(r"[\s._\-+*~=|/\\,;:()\[\]{}'\"#%&^`<>?!$@]+")
_STRETCHED = re.compile(r"([a-z])\1{2,}")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def normalize(text: str) -> str:
    """Lowercase, Unicode-folded, de-leeted, single-spaced text with stretched letters cut to two."""
    text = _CAMEL.sub(" ", fold(text, casefold=False)).casefold()
    text = _SPACED_LETTERS.sub(lambda m: re.sub(r"[ ._\-+*~]", "", m.group(0)), text)
    text = _LEET_IN_WORD.sub(lambda m: m.group(0).translate(_LEET), text)
    text = _SEPARATORS.sub(" ", text)
    text = _STRETCHED.sub(r"\1\1", text)
    return text.strip()
