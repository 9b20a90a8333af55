"""Prioritisation only: classifiers, text and chat risk, payment indicators, site resemblance.

Nothing here decides anything. The import contract lets only `sources` and `review` (and the
interfaces that expose these tools) import this package, so "classifiers only order review" is a
rule the build checks.
"""
