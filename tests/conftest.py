"""Real databases in temporary places: SQLite files, PostgreSQL and MariaDB databases.

``make_db("postgresql")`` returns the URL of a fresh, empty database that is dropped after the
test. Outside CI a server that is down skips the tests that need it; with CI=true it fails.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import dispose_all

PG_ADMIN = os.environ.get("SINC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIA_ADMIN = os.environ.get("SINC_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/")
ENGINES = ["sqlite", "postgresql", "mariadb"]
SERVERS = {  # engine -> (admin URL, create, drop)
    "postgresql": (PG_ADMIN, 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
    "mariadb": (MARIA_ADMIN, "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                "DROP DATABASE IF EXISTS `{name}`"),
}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(name: str, err: Exception):
    msg = f"{name} indisponível para os testes: {err}"
    if IN_CI:
        pytest.fail(msg + " (CI=true: banco ausente é falha, não skip)")
    pytest.skip(msg)


class DbFactory:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.cleanup: list = []

    def __call__(self, engine: str, name: str | None = None) -> str:
        name = name or f"sinc_t_{uuid.uuid4().hex[:10]}"
        if engine == "sqlite":
            return f"sqlite:///{self.tmp_path / (name + '.db')}"
        if engine not in SERVERS:
            raise ValueError(engine)
        admin_url, create, drop = SERVERS[engine]
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:
                c.exec_driver_sql(create.format(name=name))
        except sa.exc.OperationalError as err:
            _unavailable(engine, err)
        self.cleanup.append((admin, drop.format(name=name)))
        return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def close(self):
        dispose_all()
        for admin, sql in self.cleanup:
            try:
                with admin.connect() as c:
                    c.exec_driver_sql(sql)
            finally:
                admin.dispose()


@pytest.fixture
def make_db(tmp_path):
    f = DbFactory(tmp_path)
    yield f
    f.close()


@pytest.fixture(autouse=True)
def _no_leaked_dagster_state_storage():
    """An instance opened in a test (``instance_for_test``) registers its definitions-state storage
    in a context variable that can outlive the instance; a later test building Definitions would
    then open the deleted instance's database. Reset it after every test."""
    yield
    try:
        from dagster._core.storage.defs_state.base import _current_storage
    except ImportError:   # a Dagster without it has nothing to leak
        return
    _current_storage.set(None)
