"""SQLite reads at ADBC speed, in a helper process (``io/sqlite_worker.py``).

The ADBC SQLite driver reads a table into Arrow about 4× faster than SQLite's JSON rendering,
but it links its own copy of the SQLite library, and two copies in one process do not share
WAL locks (measured here: a stale read right after Python's sqlite3 had committed). So the
driver is never loaded into this process: a helper process reads the file and streams Arrow
IPC back over a pipe. Helpers are kept warm for the process's later reads (``_Pool``).

What the helper sees. Each ``SqliteFastReader`` (one per database and unit, as the PostgreSQL
one) holds one helper in one read transaction, begun at its first large read: every table of
the unit read through it comes from one committed state. The sync reads the target while
holding its write transaction (BEGIN IMMEDIATE): no one else can commit, so the committed
state the helper sees is the connection's own — as long as the connection has written
nothing. That is checked on every read (``sqlite3.Connection.total_changes`` against its value
at the reader's first read of that connection): after a write, or outside a transaction, the
read stays in this process (``reader.py``, same values).

Which reads. Only large ones (``HELPER_ROWS`` or more, counted first by SQLite in this process):
key lookups and small cursor windows cost less in process than a round trip. Types are the
JSON path's (``reader._json_type`` on the wire, then the same casts): every value must be of
the storage class its canonical type expects (REAL or INTEGER for numbers, TEXT for text,
dates and times, BLOB for bytes), else the helper's read fails (the driver's type check, or
``_guarded``) and the caller reads the rows in process, which handles any value exactly (a
decimal stored as TEXT, say).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
import uuid

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, make_url

from sinc_pipeline.core.db import SQLITE_BUSY_TIMEOUT_MS

HELPER_ROWS = 20_000
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sqlite_worker.py")
SHM = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
_BAD = "json('')"      # a malformed-JSON error: the statement stops at a value of the wrong storage class


class HelperError(RuntimeError):
    """The helper could not read (its own words); the caller reads in process."""


class _Worker:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-s", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0)
        self.out = os.fdopen(self.proc.stdout.fileno(), "rb", buffering=1 << 20, closefd=False)

    def ask(self, req: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(req).encode() + b"\n")
            line = self.out.readline()
        except (BrokenPipeError, OSError) as err:
            raise HelperError(f"processo auxiliar encerrado ({err})") from None
        if not line:
            raise HelperError(f"processo auxiliar encerrado (código {self.proc.poll()})")
        head = json.loads(line)
        if not head.get("ok"):
            raise HelperError(head.get("error") or "erro desconhecido")

    def read(self, sql: str, params: list) -> pa.Table:
        """The rows, through a file in shared memory (mapped, not copied) when there is one."""
        if SHM is None:
            self.ask({"op": "read", "sql": sql, "params": params, "file": None})
            return pa.ipc.open_stream(self.out).read_all()
        path = os.path.join(SHM, f"sinc_leitura_{os.getpid()}_{uuid.uuid4().hex}.arrow")
        try:
            self.ask({"op": "read", "sql": sql, "params": params, "file": path})
            with pa.memory_map(path) as source:
                return pa.ipc.open_file(source).read_all()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)              # the mapping stays valid until the table is freed

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except Exception:  # noqa: BLE001 - a helper that does not end is killed
            self.proc.kill()
            self.proc.wait()


class _Pool:
    """Idle helpers of this process (a forked child starts its own: pipes are not shared)."""

    def __init__(self, keep: int = 4):
        self.keep, self.idle, self.pid, self.lock = keep, [], os.getpid(), threading.Lock()

    def take(self) -> _Worker:
        with self.lock:
            if self.pid != os.getpid():
                self.idle, self.pid = [], os.getpid()
            while self.idle:
                w = self.idle.pop()
                if w.alive():
                    return w
        return _Worker()

    def give(self, w: _Worker) -> None:
        with self.lock:
            if self.pid == os.getpid() and w.alive() and len(self.idle) < self.keep:
                self.idle.append(w)
                return
        if self.pid == os.getpid():
            w.stop()

    def stop_all(self) -> None:
        with self.lock:
            idle, self.idle = (self.idle, []) if self.pid == os.getpid() else ([], [])
        for w in idle:
            w.stop()


POOL = _Pool()
atexit.register(POOL.stop_all)


def sqlite_path(url: str) -> str | None:
    """The file a SQLite URL names (absolute), or None for an in-memory or URI database."""
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return os.path.abspath(db)


def affinity(col_type: sa.types.TypeEngine) -> str:
    """SQLite's column affinity for a declared type (https://sqlite.org/datatype3.html, 3.1)."""
    try:
        name = col_type.compile(dialect=sqlite.dialect()).upper()
    except Exception:  # noqa: BLE001 - a type SQLite cannot name: no affinity
        name = ""
    if "INT" in name:
        return "integer"
    if any(k in name for k in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if not name or "BLOB" in name:
        return "blob"
    return "real" if any(k in name for k in ("REAL", "FLOA", "DOUB")) else "numeric"


def _guarded(col: str, t: pa.DataType, col_type: sa.types.TypeEngine) -> str:
    """The column, made to fail the statement where the driver would convert a value silently.
    The driver infers each column's type from its first rows (promoting INTEGER to REAL, anything
    mixed with TEXT to text) and fails on a later value of another class, except that it renders
    a later number as text in a text column: that is the one case guarded here."""
    textual = pa.types.is_string(t) or pa.types.is_temporal(t)
    if textual and affinity(col_type) != "text":     # TEXT affinity stores numbers as text already
        return f"CASE WHEN typeof({col}) IN ('integer', 'real') THEN {_BAD} ELSE {col} END"
    return col


def _sentinel(t: pa.DataType) -> str:
    """A first row of the wire type (the driver infers each column's type from its first rows)."""
    if pa.types.is_decimal(t) or pa.types.is_floating(t):
        return "0.0"
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return "0"
    return "X''" if pa.types.is_binary(t) else "''"


WIRE = {"0.0": pa.float64(), "0": pa.int64(), "X''": pa.binary(), "''": pa.string()}


def helper_sql(conn: Connection, stmt: sa.Select, schema: pa.Schema) -> tuple[str, list]:
    """The statement the helper runs for ``stmt`` (its labels the names of ``schema``), and its
    parameters as SQLite binds them (SQLAlchemy's own bind processing: datetimes as ISO text)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = compiled.construct_params()
    procs = compiled._bind_processors
    params = []
    for name in compiled.positiontup or []:
        v = raw[name]
        if name in procs and v is not None:
            v = procs[name](v)
        if v is not None and not isinstance(v, int | float | str):
            raise HelperError(f"parâmetro do tipo {type(v).__name__}")
        params.append(v)
    q = conn.dialect.identifier_preparer.quote
    first = ", ".join(f"{_sentinel(f.type)} AS c{i}" for i, f in enumerate(schema))
    types = {c.name: c.type for c in stmt.selected_columns}
    cols = ", ".join(f"{_guarded('_s.' + q(f.name), f.type, types[f.name])} AS c{i}" for i, f in enumerate(schema))
    return f"SELECT {first} UNION ALL SELECT {cols} FROM ({compiled}) AS _s", params


class SqliteFastReader:
    """One SQLite database read through a helper process (see the module docstring)."""

    dialect = "sqlite"

    def __init__(self, url: str, path: str):
        self.url, self.path = url, path
        self.label = make_url(url).render_as_string(hide_password=True)
        self.worker: _Worker | None = None
        self.changes: dict[int, int] = {}
        self.lock = threading.Lock()

    def usable(self, conn: Connection) -> bool:
        """May the helper's committed state stand for what ``conn`` sees? (not after its writes)"""
        raw = conn.connection.driver_connection
        if not getattr(raw, "in_transaction", False):
            return False
        return self.changes.setdefault(id(raw), raw.total_changes) == raw.total_changes

    def read_sqlite(self, conn: Connection, stmt: sa.Select, schema: pa.Schema) -> pa.Table | None:
        """``stmt``'s rows in ``schema``, or None when the read is better done in process (small,
        or the connection has written)."""
        if not len(schema) or not self.usable(conn):
            return None
        count = conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery())).scalar()
        if count < HELPER_ROWS:
            return None
        sql, params = helper_sql(conn, stmt, schema)
        with self.lock:
            if self.worker is None:
                worker = POOL.take()
                try:
                    worker.ask({"op": "open", "path": self.path, "busy_ms": SQLITE_BUSY_TIMEOUT_MS})
                except Exception:
                    worker.stop()
                    raise
                self.worker = worker
            try:
                raw = self.worker.read(sql, params)
            except HelperError:
                raise
            except Exception:          # the pipe is in an unknown state: this helper is done
                self.worker.stop()
                self.worker = None
                raise
        raw = raw.slice(1)
        arrays = []
        for i, f in enumerate(schema):
            col = raw.column(i)
            if not (col.type.equals(WIRE[_sentinel(f.type)]) or pa.types.is_null(col.type)):
                raise HelperError(f"coluna {f.name!r} veio como {col.type}")
            if pa.types.is_string(col.type):
                col.validate(full=True)          # a BLOB read as text must still be UTF-8
            arrays.append(pc.cast(col, f.type))
        return pa.Table.from_arrays(arrays, schema=schema)

    def close(self) -> None:
        with self.lock:
            worker, self.worker = self.worker, None
        if worker is None:
            return
        try:
            worker.ask({"op": "close"})
        except Exception:  # noqa: BLE001 - a helper in doubt is not reused
            worker.stop()
            return
        POOL.give(worker)


def open_sqlite_reader(url: str) -> SqliteFastReader | None:
    """A helper-process reader for a SQLite file URL, when the ADBC SQLite driver is installed."""
    import importlib.util
    path = sqlite_path(url)
    if path is None or importlib.util.find_spec("adbc_driver_sqlite") is None:
        return None
    return SqliteFastReader(url, path)
