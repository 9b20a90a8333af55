"""`python -m vigil.testing ...`."""

from vigil.testing.cli import app

app()
