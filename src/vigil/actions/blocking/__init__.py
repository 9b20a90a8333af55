"""Deterrence and blocking: reviewed blocklists (RPZ, domain and URL lists), stop page, search warnings."""
