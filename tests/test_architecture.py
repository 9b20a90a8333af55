"""The shape of the code as the build enforces it: a light CLI, migrations that match the models,
states the database itself refuses to get wrong, and one error hierarchy."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import vigil
from vigil.core.errors import VigilError
from vigil.interfaces.api.app import create_app
from vigil.review.evidence import Vault
from vigil.store.db import Store
from vigil.store.models import Base

HEAVY = ("sklearn", "dask", "distributed", "faiss", "av", "cv2", "numpy", "sqlalchemy", "alembic", "fastapi")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    probe = f"import sys, vigil.interfaces.cli.main; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_a_command_builds_only_its_own_group() -> None:
    """`vigil crawl run` imports the crawl commands' module, not the sixteen other groups'."""
    probe = (
        "import sys; from typer.testing import CliRunner; from vigil.interfaces.cli.main import app; "
        "result = CliRunner().invoke(app, ['crawl', 'run', '--help']); "
        "assert result.exit_code == 0 and 'Usage: root crawl run' in result.output, result.output; "
        "print(sorted(m for m in sys.modules if m.startswith('vigil.interfaces.cli.')))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == str(
        ["vigil.interfaces.cli.common", "vigil.interfaces.cli.crawl", "vigil.interfaces.cli.main"]
    )


def test_the_store_loads_cryptography_only_where_a_value_is_sealed_or_opened() -> None:
    """Every process imports the models, and most (a crawl, a scan, the matcher) never seal
    anything: cryptography costs each of them 6 MiB."""
    probe = (
        "import sys, vigil.store.models, vigil.match.matcher, vigil.sources.crawl.jobs; "
        "print('cryptography' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_a_crawls_own_process_loads_no_image_decoder() -> None:
    """A crawl hands its pictures to hashing processes (`vigil.signals.worker`); its own process
    names decoding modes and errors only, and Pillow alone would cost it 2.3 MiB."""
    probe = (
        "import sys, vigil.sources.crawl.jobs, vigil.sources.crawl.engine, vigil.interfaces.cli.crawl; "
        "print(sorted(m for m in ('PIL', 'cv2', 'imagecodecs', 'av') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_migrations_produce_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_quick_head_check_agrees_with_alembic(store: Store) -> None:
    """`Store` skips Alembic when the schema is at the newest migration file's revision: that
    revision must be Alembic's head, and a store one migration behind must be migrated."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from vigil.store.db import alembic_config, head_revision

    assert ScriptDirectory.from_config(alembic_config(store.engine)).get_heads() == [head_revision()]
    assert store.at_head()
    command.downgrade(alembic_config(store.engine), "-1")
    assert not store.at_head()
    assert Store(store.url).at_head()  # opening it again migrates it


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


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every endpoint route, looking inside included routers (FastAPI wraps them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def test_every_route_says_what_it_does(tmp_path: Path) -> None:
    app = create_app(
        Store(f"sqlite:///{tmp_path / 'v.db'}"), Vault.open(tmp_path / "vault", tmp_path / "keys" / "k.key")
    )
    routes = list(_routes(app.routes))
    assert len(routes) > 40
    undocumented = [f"{sorted(r.methods)} {r.path}" for r in routes if not (r.endpoint.__doc__ or "").strip()]
    assert undocumented == []
