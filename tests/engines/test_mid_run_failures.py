"""A database that fails in the middle of a sync (server shut down, connection killed, database
locked) gives an error naming the database (password hidden), the table and the step; nothing
is half-written and the same sync simply runs again."""
from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from sinc_pipeline.core import db
from sinc_pipeline.core.errors import DatabaseFailed
from sinc_pipeline.sync.unit import sync_unit

from ..helpers import rows, small_demo

TABLES = ("vendas", "venda_itens", "documentos_fiscais")


def _kill_others(url: str) -> None:
    """From a connection of its own, end every other session on ``url``'s database."""
    u = sa.make_url(url)
    admin = sa.create_engine(u, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        if u.get_backend_name() == "postgresql":
            c.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        else:
            ids = c.exec_driver_sql("SELECT id FROM information_schema.processlist "
                                    "WHERE db = DATABASE() AND id <> CONNECTION_ID()").scalars().all()
            for i in ids:
                c.exec_driver_sql(f"KILL {int(i)}")
    admin.dispose()


def _counts(url: str) -> dict:
    return {t: rows(url, f"SELECT COUNT(*) FROM {t} WHERE loja_id = 1")[0][0] for t in TABLES}


@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_connection_killed_mid_write_is_named_and_rerun_completes(make_db, tmp_path, engine):
    st = small_demo(make_db, engine, "sqlite", tmp_path)
    if engine == "postgresql":   # trust auth ignores the password: it is there to be hidden
        url = sa.make_url(st.origin.url).set(password="segredo").render_as_string(hide_password=False)
        st = st.model_copy(update={"origin": st.origin.model_copy(update={"url": url})})
    o_url, l1 = st.origin.url, st.store("loja_01").url
    unit = st.units("send")[0]
    before = _counts(o_url)
    killed = []

    def hook(op, table, n):
        if table == "venda_itens" and not killed:
            killed.append(table)
            _kill_others(o_url)

    with pytest.raises(DatabaseFailed) as err:
        sync_unit(st, "loja_01", unit, hook=hook)
    e = err.value
    print('MSG:', e)
    assert "banco de origem" in e.where and db.redact(o_url) in e.where and "etapa gravação" in e.where
    assert "tabela 'documentos_fiscais'" in e.where   # the write after the kill, named alone
    assert "loja loja_01" in e.where and "chave" in e.where   # ... with the store and the batch's keys
    assert e.cause and ("terminat" in e.cause.lower() or "closed" in e.cause.lower()
                        or "lost connection" in e.cause.lower() or "2013" in e.cause or "2006" in e.cause)
    assert "segredo" not in str(e) and e.hint
    assert _counts(o_url) == before                               # nothing half-written
    sync_unit(st, "loja_01", unit)                                 # simply run again
    assert _counts(o_url) == {t: rows(l1, f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}


def test_sqlite_locked_is_named_and_rerun_completes(make_db, tmp_path, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    o_url, l1 = st.origin.url, st.store("loja_01").url
    unit = st.units("send")[0]
    before = _counts(o_url)
    other = sqlite3.connect(sa.make_url(o_url).database, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")                               # another writer holds the origin
    try:
        with pytest.raises(DatabaseFailed) as err:
            sync_unit(st, "loja_01", unit)
    finally:
        other.execute("ROLLBACK")
        other.close()
    e = err.value
    print('MSG:', e)
    assert "banco de origem" in e.where and db.redact(o_url) in e.where and "etapa" in e.where
    assert "locked" in e.cause and "outro processo" in e.hint
    assert _counts(o_url) == before
    sync_unit(st, "loja_01", unit)
    assert _counts(o_url) == {t: rows(l1, f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}
