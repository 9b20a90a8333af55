"""The native HTTP service: JSON API under /v1 (one router per area) and the server-rendered review UI."""
