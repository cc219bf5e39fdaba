"""Engines and connections: one place that turns a URL into a SQLAlchemy engine.

Passwords never leave this module in clear: ``redact`` is what every message uses, and
connection failures are re-raised as ``DatabaseUnreachable`` naming the redacted URL.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from sinc_pipeline.core.engines import MYSQL_FAMILY
from sinc_pipeline.core.errors import DatabaseUnreachable, driver_message, hide_password

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def redact(url: str | sa.URL) -> str:
    """The URL as it may be shown to a user: password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<URL inválida>"


CONNECT_TIMEOUT_S = 10
"""How long connecting to a PostgreSQL or MariaDB server may take before the run fails naming
the database (a store whose host does not answer must not hold its run for ever). A URL's own
``?connect_timeout=N`` wins."""


def _normalize(url: str) -> sa.URL:
    u = make_url(url)
    # Pick the drivers this project installs when the URL names none.
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername in MYSQL_FAMILY:
        u = u.set(drivername=f"{u.drivername}+pymysql")
    q = dict(u.query)
    if u.get_backend_name() in MYSQL_FAMILY:
        q.setdefault("charset", "utf8mb4")
    if u.get_backend_name() in (*MYSQL_FAMILY, "postgresql"):
        q.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    return u.set(query=q)


SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite write waits for another writer before 'database is locked'."""


def get_engine(url: str) -> Engine:
    """A cached engine per URL (engines hold pools; create them once per process)."""
    with _lock:
        eng = _engines.get(url)
        if eng is None:
            u = _normalize(url)
            kwargs: dict = {"pool_pre_ping": True}
            if u.get_backend_name() == "sqlite":
                kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
            eng = sa.create_engine(u, **kwargs)
            if u.get_backend_name() == "sqlite":
                _sqlite_pragmas(eng)
            elif u.get_backend_name() in MYSQL_FAMILY and "read_timeout" not in u.query:
                _bounded_mysql_handshake(eng, int(u.query["connect_timeout"]))
            _engines[url] = eng
        return eng


def _sqlite_pragmas(eng: Engine) -> None:
    @sa.event.listens_for(eng, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        # Let SQLAlchemy's BEGIN control transactions, and let readers run beside one writer.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
        cur.close()

    @sa.event.listens_for(eng, "begin")
    def _on_begin(conn):  # pragma: no cover - trivial
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("sinc_write") else "BEGIN")


def _bounded_mysql_handshake(eng: Engine, seconds: int) -> None:
    """PyMySQL's connect_timeout covers only the TCP connect: a server that accepts and never
    sends its greeting would hang the run. Bound the handshake's reads by the same seconds, then
    let the connection's reads wait as long as a query needs (no read timeout, as by default)."""
    @sa.event.listens_for(eng, "do_connect")
    def _on_do_connect(_dialect, _record, _cargs, cparams):  # pragma: no cover - trivial
        cparams.setdefault("read_timeout", seconds)

    @sa.event.listens_for(eng, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        if hasattr(dbapi_conn, "_read_timeout"):
            dbapi_conn._read_timeout = None       # re-applied by PyMySQL before each read


def dispose_all() -> None:
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


def _unreachable(role: str, url: str, err: Exception) -> DatabaseUnreachable:
    return DatabaseUnreachable(
        f"Banco {role} inacessível", where=redact(url), cause=hide_password(driver_message(err), url),
        hint="confira se o servidor está no ar, a URL, o usuário e a rede")


@contextlib.contextmanager
def connect(url: str, role: str, *, write: bool = False, snapshot: bool = False) -> Iterator[Connection]:
    """A connection in a transaction: committed on success, rolled back on any error.

    ``snapshot`` reads see one consistent state (REPEATABLE READ on server engines; a SQLite
    read transaction is a snapshot already), so a sale is never read without its items.
    """
    eng = get_engine(url)
    try:
        conn = eng.connect()
        if snapshot and eng.dialect.name != "sqlite":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DBAPIError, OSError) as err:
        raise _unreachable(role, url, err) from None
    try:
        if write:
            conn.info["sinc_write"] = True
        with conn.begin():
            yield conn
    finally:
        conn.info.pop("sinc_write", None)
        conn.close()


def check_reachable(url: str, role: str) -> None:
    with connect(url, role) as conn:
        conn.exec_driver_sql("SELECT 1")


def dialect_name(url: str) -> str:
    return make_url(url).get_backend_name()
