"""Category schemes used by hotlines and industry, kept separate and mapped, never merged.

Each scheme is registered with its labels and the codes that mean "illegal material" in that
scheme: only those can confirm an item (Project VIC 0, "non-pertinent", confirms nothing). `MAPPINGS`
gives, for a category in one scheme, the categories of other schemes it is compatible with.
Reviewers record one scheme's category and see the mapped ones as hints; a report uses the scheme
its recipient asks for, and only where the mapping is unambiguous (`industry_classification`).
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.core.errors import InvalidInput
from vigil.core.registry import Registry


@dataclass(frozen=True)
class Scheme:
    labels: dict[str, str]
    illegal: frozenset[str]  # codes that mean the material is illegal: the ones that may confirm


SCHEMES: Registry[Scheme] = Registry("category scheme")
SCHEMES.add(
    "projectvic",
    Scheme(
        {
            "0": "Non-pertinent",
            "1": "Child abuse material",
            "2": "Child exploitive (not abuse material) / age difficult",
            "3": "Animation, drawing or computer-generated",
            "4": "Comparison / other",
        },
        frozenset({"1"}),
    ),
)
SCHEMES.add(
    "caid",
    Scheme({"A": "Category A (most severe)", "B": "Category B", "C": "Category C"}, frozenset("ABC")),
)
SCHEMES.add(
    "ncmec",
    Scheme(
        {
            "A1": "Prepubescent, category 1",
            "A2": "Prepubescent, category 2",
            "B1": "Pubescent, category 1",
            "B2": "Pubescent, category 2",
        },
        frozenset({"A1", "A2", "B1", "B2"}),
    ),
)

MAPPINGS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("projectvic", "1"): {"caid": ("A", "B", "C"), "ncmec": ("A1", "A2", "B1", "B2")},
    ("caid", "A"): {"projectvic": ("1",), "ncmec": ("A1", "B1")},
    ("caid", "B"): {"projectvic": ("1",), "ncmec": ("A1", "A2", "B1", "B2")},
    ("caid", "C"): {"projectvic": ("1",), "ncmec": ("A2", "B2")},
    ("ncmec", "A1"): {"projectvic": ("1",), "caid": ("A", "B")},
    ("ncmec", "A2"): {"projectvic": ("1",), "caid": ("B", "C")},
    ("ncmec", "B1"): {"projectvic": ("1",), "caid": ("A", "B")},
    ("ncmec", "B2"): {"projectvic": ("1",), "caid": ("B", "C")},
}


def validate(scheme: str, category: str) -> tuple[str, str]:
    labels = SCHEMES.get(scheme).labels
    if category not in labels:
        raise InvalidInput(f"{category!r} is not a {scheme} category ({', '.join(labels)})")
    return scheme.lower(), category


def confirmable(scheme: str, category: str) -> tuple[str, str]:
    """The category, if it means "illegal" in its scheme; a confirmation needs one of those."""
    scheme, category = validate(scheme, category)
    known = SCHEMES.get(scheme)
    if category not in known.illegal:
        raise InvalidInput(
            f"{scheme} {category} ({known.labels[category]}) does not mean illegal material, so it "
            f"cannot confirm an item; confirm with {', '.join(sorted(known.illegal))} or reject"
        )
    return scheme, category


def can_confirm(scheme: str, category: str) -> bool:
    """Whether this category may confirm an item (forms offer only these for a confirmation)."""
    try:
        confirmable(scheme, category)
    except (KeyError, InvalidInput):
        return False
    return True


def mapped(scheme: str, category: str) -> dict[str, tuple[str, ...]]:
    return MAPPINGS.get((scheme.lower(), category), {})


def industry_classification(scheme: str | None, category: str | None) -> tuple[str | None, str]:
    """NCMEC's industry classification (A1/A2/B1/B2) for a reviewer's category, and why (not).

    Given only where the category names exactly one: an NCMEC category, or a mapping to one code.
    """
    if not scheme or not category:
        return None, "no category recorded"
    if scheme == "ncmec":
        return category, f"reviewers recorded ncmec {category}"
    options = mapped(scheme, category).get("ncmec", ())
    if len(options) == 1:
        return options[0], f"{scheme} {category} maps only to ncmec {options[0]}"
    return None, (
        f"{scheme} {category} maps to ncmec {', '.join(options) or 'nothing'}; "
        "record an ncmec category to include industryClassification"
    )


def choices() -> list[tuple[str, str, str]]:
    """(scheme, code, label) for every category, for forms."""
    return [(scheme, code, label) for scheme, known in SCHEMES for code, label in known.labels.items()]
