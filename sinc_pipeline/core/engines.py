"""The database engines sinc_pipeline supports, in one place: names, offline dialects, detection.

Every other module asks here: the config's URL check, the restore target check, the DDL and
the ``*_sql`` twins (compiled for an engine without connecting to one), the snapshot manifest's
``source_engine``.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection

ENGINES = ("sqlite", "postgresql", "mysql", "mariadb")   # SQLAlchemy backend names
MYSQL_FAMILY = ("mysql", "mariadb")
SUPPORTED_HINT = "use sqlite, postgresql ou mysql/mariadb"


def is_supported(backend: str) -> bool:
    return backend in ENGINES


def dialect(name: str) -> sa.engine.Dialect:
    """An offline dialect of a supported engine (to compile SQL without a connection)."""
    if name == "sqlite":
        return sqlite.dialect()
    if name == "postgresql":
        return postgresql.dialect()
    if name == "mysql":
        return mysql.dialect()
    if name == "mariadb":
        return mysql.dialect(is_mariadb=True)
    raise ValueError(f"banco {name!r} não suportado; {SUPPORTED_HINT}")


def family(name: str) -> str:
    """``mysql`` for MySQL and MariaDB, else the name itself (for per-engine type rules)."""
    return "mysql" if name in MYSQL_FAMILY else name


def engine_of(conn: Connection) -> str:
    """sqlite, postgresql, mariadb or mysql: the engine actually connected to."""
    return "mariadb" if getattr(conn.dialect, "is_mariadb", False) else conn.dialect.name
