"""Hash-sharing exchanges through Meta's python-threatexchange: fetch into lists, share back (opt-in)."""
