"""Category schemes used by hotlines and industry, kept separate and mapped, never merged.

Each scheme is registered with its labels. `MAPPINGS` gives, for a category in one scheme, the
categories of other schemes it is compatible with. Reviewers record one scheme's category and
see the mapped ones as hints; a report uses the scheme its recipient asks for.
"""

from __future__ import annotations

from vigil.core.registry import Registry

SCHEMES: Registry[dict[str, str]] = Registry("category scheme")
SCHEMES.add(
    "projectvic",
    {
        "0": "Non-pertinent",
        "1": "Child abuse material",
        "2": "Child exploitive (not abuse material) / age difficult",
        "3": "Animation, drawing or computer-generated",
        "4": "Comparison / other",
    },
)
SCHEMES.add("caid", {"A": "Category A (most severe)", "B": "Category B", "C": "Category C"})
SCHEMES.add(
    "ncmec",
    {
        "A1": "Prepubescent, category 1",
        "A2": "Prepubescent, category 2",
        "B1": "Pubescent, category 1",
        "B2": "Pubescent, category 2",
    },
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
    labels = SCHEMES.get(scheme)
    if category not in labels:
        raise ValueError(f"{category!r} is not a {scheme} category ({', '.join(labels)})")
    return scheme.lower(), category


def mapped(scheme: str, category: str) -> dict[str, tuple[str, ...]]:
    return MAPPINGS.get((scheme.lower(), category), {})


def choices() -> list[tuple[str, str, str]]:
    """(scheme, code, label) for every category, for forms."""
    return [(scheme, code, label) for scheme, labels in SCHEMES for code, label in labels.items()]
