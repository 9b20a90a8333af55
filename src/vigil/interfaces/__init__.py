"""Thin adapters over the domain layer: the `vigil` CLI, the JSON API with its review UI, HMA's API."""
