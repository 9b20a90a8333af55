"""Small shared core: plug-in registries and per-item errors."""
