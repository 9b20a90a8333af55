"""Alembic environment: runs against the engine the Store hands over (no alembic.ini needed).

SQLite rebuilds a table to alter it (batch mode). With foreign keys on, dropping the old copy of a
parent table would fire ON DELETE CASCADE on its children, so migrations run with them off and
`PRAGMA foreign_key_check` must come back empty before the transaction commits.
"""

from alembic import context
from sqlalchemy import text

from vigil.store.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    with connection.begin():
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        context.run_migrations()
        if sqlite:
            broken = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
            if broken:
                raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
