"""The shape of the code as the build enforces it: a light CLI, migrations that match the models,
states the database itself refuses to get wrong, and one error hierarchy."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import vigil
from vigil.core.errors import VigilError
from vigil.store.db import Store
from vigil.store.models import Base

HEAVY = ("sklearn", "dask", "distributed", "faiss", "av", "cv2", "numpy", "sqlalchemy", "alembic", "fastapi")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = f"import sys, vigil.interfaces.cli.main; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_migrations_produce_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize(
    ("table", "insert"),
    [
        (
            "scans",
            "INSERT INTO scans (root, status, options, started_at) VALUES ('/x', 'finished', '{}', :t)",
        ),
        (
            "hash_lists",
            "INSERT INTO hash_lists (name, purpose, created_at, matching_enabled_ratio)"
            " VALUES ('x', 'maybe', :t, 1)",
        ),
        (
            "api_keys",
            "INSERT INTO api_keys (name, role, key_hash, created_at) VALUES ('x', 'operator', 'h', :t)",
        ),
    ],
)
def test_the_database_refuses_unknown_states(store: Store, table: str, insert: str) -> None:
    with pytest.raises(IntegrityError, match=f"ck_{table}_"), store.engine.begin() as conn:
        conn.execute(text(insert), {"t": "2026-01-01 00:00:00+00"})


def test_every_exception_class_in_the_package_is_a_vigil_error() -> None:
    import importlib
    import pkgutil

    strays = []
    for module in pkgutil.walk_packages(vigil.__path__, "vigil."):
        if module.name.startswith(("vigil.testing", "vigil.store.migrations")) or module.name.endswith(
            "__main__"
        ):
            continue
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.name
                and not issubclass(value, VigilError)
            ):
                strays.append(f"{module.name}.{name}")
    assert strays == []
