"""One router per area of the native API, each a thin adapter over its domain module."""
