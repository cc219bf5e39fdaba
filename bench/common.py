"""Shared by the benchmark scripts: measuring in a forked child, and a throw-away PostgreSQL database."""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sinc_pipeline.core.db import dispose_all  # noqa: E402

PG_ADMIN = os.environ.get("SINC_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def measured(fn, *args):
    """Run fn(*args) in a forked child; return (result, seconds, peak MB of the child)."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()

    def child():
        dispose_all()
        try:
            t0 = time.perf_counter()
            out = fn(*args)
            secs = time.perf_counter() - t0
            # Close what a finished process closes (untimed, as (c) closes its connection after
            # its clock): a child leaving SQLite connections open skips the WAL checkpoint a
            # normal exit does, and the next child then pays the crash recovery of that WAL.
            dispose_all()
            q.put((out, secs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
        except BaseException as err:  # noqa: BLE001 - reported by the parent
            q.put((f"ERRO: {type(err).__name__}: {err}", float("nan"), float("nan")))

    p = ctx.Process(target=child)
    p.start()
    out = q.get()
    p.join()
    if isinstance(out[0], str) and out[0].startswith("ERRO"):
        raise SystemExit(out[0])
    return out


def best_of(n: int, fn, *args, before=None):
    """The fastest of ``n`` measured runs (``before()`` runs unmeasured ahead of each): this
    machine is shared, so single runs are noisy; both sides of every ratio are taken this way."""
    runs = []
    for _ in range(n):
        if before is not None:
            before()
        runs.append(measured(fn, *args))
    return min(runs, key=lambda r: r[1])


@contextlib.contextmanager
def _temp_database(admin_url: str, create: str, drop: str):
    """The URL of a fresh database made by ``create`` (``{name}`` filled in), dropped afterwards."""
    name = f"sinc_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(create.format(name=name))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        dispose_all()
        with admin.connect() as c:
            c.exec_driver_sql(drop.format(name=name))
        admin.dispose()


def temp_pg_database():
    """The URL of a fresh PostgreSQL database, dropped afterwards."""
    return _temp_database(PG_ADMIN, 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


MARIADB_ADMIN = os.environ.get("SINC_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/")


def temp_mariadb_database():
    """The URL of a fresh MariaDB database (utf8mb4), dropped afterwards."""
    return _temp_database(MARIADB_ADMIN, "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                          "DROP DATABASE IF EXISTS `{name}`")
