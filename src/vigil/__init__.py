"""Vigil: match files against known-material hash lists, then hand results to human review."""

__version__ = "0.1.0"
