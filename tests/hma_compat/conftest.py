"""The fixtures of the HMA harness (defined in `harness`, so that tests and fixtures share one module)."""

from tests.hma_compat.harness import app, client, image_server, served

__all__ = ["app", "client", "image_server", "served"]
