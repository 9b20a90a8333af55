"""The HTTP service: JSON API (OpenAPI at /docs) and the server-rendered review UI."""
