"""Resurfacing-site detection: fingerprints of known sites, look-alike candidates, ranked matches."""
