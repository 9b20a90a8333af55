"""Shared HTTP and URL helpers: bounded fetching and URL normalisation."""
