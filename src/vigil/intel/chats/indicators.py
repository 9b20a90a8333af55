"""An explainable indicator model of documented grooming stages.

Stages follow the grooming literature used by trust-and-safety teams (O'Connell's stage model; the
behaviours NCMEC and the PAN 2012 task describe): age probing, isolation and risk assessment, secrecy,
moving to another platform, gifts or payment, image or camera requests, arranging a meeting. Each stage
is a set of phrase patterns; a user may add patterns (other languages, slang) from a JSON lexicon.
English patterns only, and phrase matching misses paraphrase: this engine finds what to read first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from vigil.core.errors import VigilError
from vigil.core.textfold import fold


@dataclass(frozen=True)
class Stage:
    name: str
    weight: float  # how much a fully present stage raises the risk, in [0, 1]
    patterns: tuple[re.Pattern[str], ...]


def _stage(name: str, weight: float, *patterns: str) -> Stage:
    return Stage(name, weight, tuple(re.compile(p, re.IGNORECASE) for p in patterns))


_YOU = r"(?:you|u|ya)"
STAGES: tuple[Stage, ...] = (
    _stage(
        "age_probing",
        0.2,
        rf"\bhow old (?:are|r) {_YOU}\b",
        rf"\bwhat (?:grade|year|class) (?:are|r) {_YOU} in\b",
        r"\basl\b",
        r"\bwhen(?:'?s| is) your birthday\b",
        rf"\b(?:do|r|are) {_YOU} (?:still )?(?:go(?:ing)? to|in) (?:middle |high )?school\b",
    ),
    _stage(
        "isolation",
        0.3,
        rf"\b(?:are|r) {_YOU} (?:home )?(?:alone|by yourself)\b",
        r"\bwhere (?:are|r) your (?:parents|mom|mum|dad)\b",
        r"\bwho (?:else )?(?:uses|sees|checks|reads) your (?:phone|computer|laptop|messages)\b",
        r"\b(?:your parents|they) (?:don'?t|do not|never) understand\b",
        rf"\bonly i (?:really )?understand {_YOU}\b",
        r"\bwhen (?:do|does) your (?:parents|mom|mum|dad) (?:get|come) home\b",
    ),
    _stage(
        "secrecy",
        0.35,
        r"\b(?:don'?t|do not|never) (?:tell|show|mention)(?: this)?(?: to)? (?:anyone|anybody|your|them)\b",
        r"\bour (?:little )?secret\b",
        r"\bkeep (?:this|it|that|us) (?:between us|secret|to yourself|a secret)\b",
        r"\bdelete (?:this|our|the|these) (?:chat|messages?|conversation|texts?)\b",
        r"\bno ?(?:one|body) (?:needs|has) to know\b",
    ),
    _stage(
        "platform_move",
        0.2,
        r"\b(?:add|message|text|call|find|dm) me on\b",
        r"\b(?:switch|move|go|talk|come) (?:over )?to (?:snapchat|snap|whatsapp|telegram|kik|discord|signal|skype|insta(?:gram)?)\b",
        r"\b(?:what(?:'?s| is)|give me|send me) your (?:number|phone number|snap|insta|kik|whatsapp|discord)\b",
        r"\bmore private (?:app|chat|place)\b",
    ),
    _stage(
        "gifts_payment",
        0.3,
        rf"\b(?:i'?ll|i will|i can|let me|i could) (?:buy|get|send|give|pay) {_YOU}\b",
        r"\bgift ?cards?\b",
        r"\b(?:robux|v-?bucks|steam (?:card|credit)|game credits?)\b",
        rf"\bsend {_YOU} (?:some )?(?:money|cash)\b",
    ),
    _stage(
        "image_request",
        0.35,
        r"\bsend (?:me )?(?:a |an |some |another |more )?(?:pic|pics|picture|pictures|photo|photos|selfie|selfies)\b",
        r"\b(?:turn on|switch on|open|put on) (?:your )?(?:cam|camera|webcam)\b",
        r"\b(?:video ?call|facetime) me\b",
        rf"\bcan i see (?:a picture of )?{_YOU}\b",
    ),
    _stage(
        "meeting",
        0.35,
        rf"\b(?:meet|see) (?:me|{_YOU}|each other) (?:in person|irl|in real life|somewhere|after school)\b",
        r"\bwhere do (?:you|u) live\b",
        r"\bwhat(?:'?s| is) your address\b",
        rf"\bi (?:can|could|will) (?:pick {_YOU} up|come to {_YOU})\b",
    ),
)

# A contact stating a minor age raises the risk of the other author's indicator hits; it is not itself one.
MINOR_DISCLOSURE = re.compile(
    r"\b(?:i'?m|i am|im)\s+(?:only\s+)?(1[0-7]|[5-9]|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)"
    r"(?:\s*(?:yo|y/o|years? old))?\b(?!\s*(?:min|minutes|hours|km|miles|%))",
    re.IGNORECASE,
)
# A bare age ("13", "14 yo") counts only as the answer to an age question just asked by someone else.
BARE_MINOR_AGE = re.compile(r"^\s*(?:1[0-7]|[5-9])\s*(?:yo|y/o|years?(?: old)?)?\s*[.!]?\s*$", re.IGNORECASE)
MINOR_CONTEXT_WEIGHT = 0.3


def load_lexicon(path: Path) -> tuple[Stage, ...]:
    """Stages with extra patterns from {"stage name": ["regex", ...]}; unknown names become new stages."""
    try:
        extra = json.loads(path.read_text())
        by_name = {s.name: s for s in STAGES}
        out = []
        for name, stage in by_name.items():
            added = tuple(re.compile(p, re.IGNORECASE) for p in extra.pop(name, []))
            out.append(Stage(name, stage.weight, stage.patterns + added))
        for name, patterns in extra.items():
            out.append(_stage(name, 0.3, *patterns))
        return tuple(out)
    except (OSError, ValueError, re.error, AttributeError, TypeError) as exc:
        raise VigilError(f"cannot load lexicon {path}: {exc}") from exc


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_LEET_IN_WORD = re.compile(r"(?<=[a-z])[013457@$]+(?=[a-z])")


def chat_form(text: str) -> str:
    """What phrase patterns are matched against: Unicode-folded (`vigil.core.textfold`) and with
    leetspeak undone inside words ("d0nt t3ll any0ne" reads "dont tell anyone"); punctuation and
    word boundaries stay, and a bare number ("13") stays a number."""
    folded = fold(text)
    return _LEET_IN_WORD.sub(lambda m: m.group(0).translate(_LEET), folded)


def stage_hits(text: str, stages: tuple[Stage, ...] = STAGES) -> dict[str, list[str]]:
    """The stages a message shows, with the phrases that showed them (as folded)."""
    text = chat_form(text)
    hits: dict[str, list[str]] = {}
    for stage in stages:
        found = [m.group(0) for p in stage.patterns for m in p.finditer(text)]
        if found:
            hits[stage.name] = found
    return hits
