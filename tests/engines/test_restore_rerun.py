"""A restore can be run again: into empty tables of the right shape (even from an incremental
``latest``), and after a restore killed mid-load (issue #12)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import connect, get_engine
from sinc_pipeline.io.checksum import table_checksum
from sinc_pipeline.io.reader import read_table, select_sql
from sinc_pipeline.snapshots import INCREMENTAL, LocalStorage, chain_for, materialize_chain, snapshot_table_schema
from sinc_pipeline.snapshots.dump import dump_store
from sinc_pipeline.snapshots.restore import restore

from ..helpers import execute, small_demo, sync_all

STORE = "loja_01"


@pytest.fixture
def chain(make_db, tmp_path):
    """A SQLite store with a full snapshot and an incremental after it."""
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    sync_all(st, STORE)
    dump_store(st, STORE, "completa")
    execute(st.store(STORE).url, "UPDATE produto SET descricao = 'Pão de queijo 🧀' WHERE id = 3")
    execute(st.store(STORE).url, "DELETE FROM clientes WHERE id = 5")   # one of loja_01's (odd ids)
    inc = dump_store(st, STORE)
    assert inc.manifest.kind == INCREMENTAL
    return st, inc.manifest


def contents(url: str, storage: LocalStorage, manifest) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every snapshot table at ``url``, read through the DB-API path."""
    out = {}
    full = chain_for(storage, STORE, manifest.id)[0]          # the tables' columns (no _operacao)
    with connect(url, "teste") as conn:
        for name in manifest.tables:
            schema = snapshot_table_schema(storage, full, name)
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            data = read_table(conn, select_sql(table, {c: c for c in schema.names}, schema.names, {}), schema, 10_000)
            out[name] = table_checksum([data])
    return out


def expected(storage: LocalStorage, manifest) -> dict[str, tuple[int, str]]:
    chain = chain_for(storage, STORE, manifest.id)
    return {name: table_checksum([materialize_chain(storage, chain, name)]) for name in manifest.tables}


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_incremental_latest_into_existing_empty_tables(chain, make_db, engine):
    st, last = chain
    storage = LocalStorage(st.snapshots.root)
    target = make_db(engine)
    restore(storage, STORE, "latest", target)                  # creates the tables
    with get_engine(target).begin() as c:                      # ... which are emptied: right shape, no rows
        for name in last.tables:
            c.execute(sa.delete(sa.table(name)))
    res = restore(storage, STORE, "latest", target)            # was: "não tem a(s) coluna(s) ['_operacao']"
    assert res.created == [] and res.snapshot_id == last.id
    assert contents(target, storage, last) == expected(storage, last)


KILLER = textwrap.dedent("""
    import os, signal, sys
    import sinc_pipeline.snapshots.restore as r
    from sinc_pipeline.snapshots import LocalStorage
    real = r.bulk_insert
    def bulk_then_die(conn, name, batches):
        real(conn, name, batches)
        print("carregando", name, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)            # killed mid-load: first table sent, nothing committed
    r.bulk_insert = bulk_then_die
    r.restore(LocalStorage(sys.argv[1]), sys.argv[2], "latest", sys.argv[3])
""")


@pytest.mark.parametrize("engine", ["mariadb", "postgresql", "sqlite"])
def test_a_killed_restore_is_simply_run_again(chain, make_db, engine):
    st, last = chain
    storage = LocalStorage(st.snapshots.root)
    target = make_db(engine)
    proc = subprocess.run([sys.executable, "-c", KILLER, st.snapshots.root, STORE, target],
                          capture_output=True, text=True, timeout=180, env={**os.environ})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "carregando" in proc.stdout
    with get_engine(target).connect() as c:                    # nothing committed but (MariaDB) the DDL
        tables = [t for t in last.tables if sa.inspect(c).has_table(t)]
        assert all(c.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() == 0 for t in tables)
    res = restore(storage, STORE, "latest", target)
    assert res.snapshot_id == last.id
    assert contents(target, storage, last) == expected(storage, last)
