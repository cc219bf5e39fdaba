"""Keeps tests/pure pure: a test here that opens a database (even SQLite) fails.

Every test of this folder runs with the ways into a database replaced by a refusal: SQLAlchemy
engines (``Engine.__init__``, so any ``create_engine`` however imported), ``sqlite3.connect``,
psycopg, PyMySQL and ADBC PostgreSQL connections. The refusal raises ``pytest.fail`` (a
BaseException, so an ``except Exception`` in the code under test cannot hide it), and the
attempt is recorded and reported again at teardown in case something swallowed it anyway.
Compiling SQL text (``sa.Table``, dialects) stays allowed: it touches no database.
That the modules these tests use do not import Dagster is checked by ``test_purity.py``.
"""
from __future__ import annotations

import sqlite3
import sys

import pytest
import sqlalchemy as sa
import sqlalchemy.engine.base

FORBIDDEN = "tests/pure must not touch a database (move the test to tests/engines/)"


def _targets():
    """(owner, attribute, label) of every entry point into a database that is blocked."""
    yield sqlalchemy.engine.base.Engine, "__init__", "a SQLAlchemy engine"
    yield sqlite3, "connect", "sqlite3.connect"
    try:
        import psycopg
        yield psycopg, "connect", "psycopg.connect"
        yield psycopg.Connection, "connect", "psycopg.Connection.connect"
    except ImportError:  # pragma: no cover - a dependency of the project
        pass
    try:
        import pymysql.connections
        yield pymysql.connections.Connection, "__init__", "a PyMySQL connection"
    except ImportError:  # pragma: no cover
        pass
    try:
        import adbc_driver_postgresql.dbapi
        yield adbc_driver_postgresql.dbapi, "connect", "ADBC PostgreSQL connect"
    except ImportError:  # pragma: no cover
        pass


def _aliases(original):
    """Module globals of sinc_pipeline and tests that hold ``original`` under some name
    (``from sqlite3 import connect`` would otherwise bypass the patch on the module)."""
    for name, mod in list(sys.modules.items()):
        if mod is None or not (name.startswith("sinc_pipeline") or name.startswith("tests")):
            continue
        for attr, value in list(vars(mod).items()):
            if value is original:
                yield mod, attr


@pytest.fixture(autouse=True)
def no_database(monkeypatch):
    attempts: list[str] = []

    def refusal(label):
        def refuse(*args, **kwargs):
            attempts.append(label)
            pytest.fail(f"{FORBIDDEN}: attempted {label}", pytrace=True)
        return refuse

    for owner, attr, label in _targets():
        original = getattr(owner, attr)
        if isinstance(owner, type) and isinstance(vars(owner).get(attr), classmethod):
            monkeypatch.setattr(owner, attr, classmethod(refusal(label)))
        else:
            monkeypatch.setattr(owner, attr, refusal(label))
        if callable(original) and not isinstance(owner, type):
            for mod, name in _aliases(original):
                monkeypatch.setattr(mod, name, refusal(label))
    monkeypatch.setattr(sa, "create_engine", refusal("sqlalchemy.create_engine"))
    yield attempts      # test_purity.py checks the guard itself, then clears what it recorded
    if attempts:
        pytest.fail(f"{FORBIDDEN}: {', '.join(sorted(set(attempts)))}", pytrace=False)
