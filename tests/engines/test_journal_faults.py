"""Journal mode when things go wrong: transactions that commit out of sequence order, a number
that never commits, a sync killed with SIGKILL in the middle of its apply, pruning and a store
that fell behind it."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.positions import decode
from sinc_pipeline.core.db import connect
from sinc_pipeline.sync.state import get_cursor
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows
from .journal_helpers import entries, journal_demo, sync_table

ROOT = Path(__file__).resolve().parents[2]


def _price(url: str, pid: int) -> Decimal:
    return Decimal(str(rows(url, "SELECT preco_venda FROM produto WHERE id = :i", i=pid)[0][0])).quantize(Decimal("0.01"))


def _position(st, store: str, table: str = "produtos"):
    with connect(st.store(store).url, "loja") as c:
        return decode(get_cursor(c, store, table, "receive"))


def _wait_for_horizon(url: str, xid: int, timeout: float = 20.0) -> None:
    """PostgreSQL: until every transaction up to ``xid`` has ended cluster-wide (the horizon is
    the cluster's: another session's open transaction, in any database, holds it back)."""
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout
    with eng.connect() as c:
        while time.monotonic() < deadline:
            if c.exec_driver_sql(q.horizon_sql("postgresql")).scalar() > xid:
                return
            c.rollback()
            time.sleep(0.2)
    eng.dispose()
    pytest.fail(f"o horizonte do PostgreSQL não passou de {xid} em {timeout} s")


@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_a_transaction_open_across_a_sync_arrives_on_the_next_run(make_db, tmp_path, engine):
    st = journal_demo(make_db, engine, "sqlite", tmp_path)
    o = st.origin.url
    sync_table(st, "loja_01", "produtos")
    slow = sa.create_engine(o, poolclass=sa.pool.NullPool).connect()
    try:
        _open_across_a_sync(st, slow, engine)
    finally:
        slow.close()     # a failed assertion must not leave it open (the database could not be dropped)
    assert verify_table(st, "loja_01", st.table("produtos")).passed


def _open_across_a_sync(st, slow, engine: str) -> None:
    o, l1 = st.origin.url, st.store("loja_01").url
    slow.begin()
    slow.execute(sa.text("UPDATE produtos SET preco = 11.11 WHERE id = 1"))      # takes the lower number
    xid = slow.exec_driver_sql("SELECT CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)").scalar() \
        if engine == "postgresql" else None
    execute(o, "UPDATE produtos SET preco = 22.22 WHERE id = 2")                 # a later number, committed
    seqs = [r[0] for r in rows(o, "SELECT seq FROM sinc_alteracoes WHERE tabela = 'produtos' ORDER BY seq")]
    assert len(seqs) == 1                                                     # the open one is not visible
    first = sync_table(st, "loja_01", "produtos")
    assert _price(l1, 1) != Decimal("11.11")
    if engine == "mariadb":
        assert first.updated == 1 and _price(l1, 2) == Decimal("22.22")        # read above the gap...
        assert _position(st, "loja_01").seq < seqs[0]                          # ...the position waits below it
    slow.commit()
    if engine == "postgresql":
        _wait_for_horizon(o, xid)
    second = sync_table(st, "loja_01", "produtos")
    assert _price(l1, 1) == Decimal("11.11") and _price(l1, 2) == Decimal("22.22")
    assert second.updated >= 1


def test_mariadb_gap_that_never_commits_is_skipped_after_the_wait(make_db, tmp_path, caplog):
    st = journal_demo(make_db, "mariadb", "sqlite", tmp_path, gap_wait_seconds=1)
    o, l1 = st.origin.url, st.store("loja_01").url
    sync_table(st, "loja_01", "produtos")
    with sa.create_engine(o, poolclass=sa.pool.NullPool).connect() as c:
        c.begin()
        c.execute(sa.text("UPDATE produtos SET preco = 1 WHERE id = 1"))
        c.rollback()                                                           # its number is gone for good
    execute(o, "UPDATE produtos SET preco = 3.30 WHERE id = 3")
    sync_table(st, "loja_01", "produtos")
    held = _position(st, "loja_01")
    assert held.high is not None                                               # waiting, with its clock
    assert _price(l1, 3) == Decimal("3.30")
    time.sleep(1.2)
    with caplog.at_level(logging.WARNING, logger="sinc_pipeline"):
        sync_table(st, "loja_01", "produtos")
    assert any("nunca apareceram" in m for m in caplog.messages)
    after = _position(st, "loja_01")
    assert after.high is None and after.seq > held.seq


CHILD = """
import json, os, sys, time
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.sync.unit import sync_unit
st = parse_settings(json.loads(open(sys.argv[1]).read()))
marker = sys.argv[2]
unit = [u for d in ("receive", "send") for u in st.units(d) if any(t.name == sys.argv[3] for t in u)][0]
def hook(op, table, n):
    open(marker, "w").write(f"{op} {table} {n}")
    time.sleep(120)                     # killed here, in the middle of the apply
sync_unit(st, "loja_01", unit, hook=hook)
"""


def _killed_mid_apply(st, tmp_path, table: str) -> str:
    cfg, marker = tmp_path / "sinc.json", tmp_path / "no_meio"
    cfg.write_text(json.dumps(st.model_dump(mode="json")))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(cfg), str(marker), table], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, child.stdout.read().decode()
        assert time.monotonic() < deadline, "the child never reached the apply"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    return marker.read_text()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_kill_9_in_the_middle_of_an_apply_then_the_rerun_completes(make_db, tmp_path, engine):
    st = journal_demo(make_db, engine, engine, tmp_path)
    o, l1 = st.origin.url, st.store("loja_01").url
    sync_table(st, "loja_01", "produtos")
    sync_table(st, "loja_01", "vendas")
    execute(o, "UPDATE produtos SET preco = preco + 1 WHERE id <= 30")
    execute(o, "DELETE FROM produtos WHERE id IN (40, 41)")
    execute(l1, "UPDATE vendas SET total = total + 1 WHERE id <= 10")
    before = _position(st, "loja_01")
    where = _killed_mid_apply(st, tmp_path, "produtos")
    assert "produto" in where
    assert _position(st, "loja_01") == before                                   # nothing of it committed
    r = sync_table(st, "loja_01", "produtos")
    assert (r.updated, r.deleted) == (30, 2)
    assert verify_table(st, "loja_01", st.table("produtos")).passed
    _killed_mid_apply(st, tmp_path, "vendas")                                  # send: the store produces
    assert sync_table(st, "loja_01", "vendas").updated == 10
    assert rows(o, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1")[0][0] == rows(l1, "SELECT COUNT(*) FROM vendas")[0][0]
    assert verify_table(st, "loja_01", st.table("vendas")).passed
    assert sync_table(st, "loja_01", "produtos").changed == 0 and sync_table(st, "loja_01", "vendas").changed == 0


def _receive(st, store: str):
    """A receive job: every journal receive table of the store (the prune bound is over all of them)."""
    out = sync_table(st, store, "produtos")
    sync_table(st, store, "precos_loja")
    return out


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_pruning_and_a_store_that_fell_behind_is_compared_in_full_then_journal(make_db, tmp_path, engine):
    st = journal_demo(make_db, engine, "sqlite", tmp_path)
    o = st.origin.url
    for s in ("loja_01", "loja_02"):                                           # new stores: full compare
        assert _receive(st, s).compared == 60
    for i in range(3):
        execute(o, "UPDATE produtos SET preco = :p WHERE id = :i", {"p": Decimal("5.55"), "i": 10 + i})
    _receive(st, "loja_01")
    assert len(entries(o, "produtos")) == 3                                    # loja_02 has not passed them
    _receive(st, "loja_02")
    assert len(entries(o, "produtos")) <= 1                                    # both passed: pruned (the head kept)
    # loja_02 falls behind: entries it has not read are pruned by age
    execute(o, "UPDATE produtos SET preco = 6.66 WHERE id = 20")
    execute(o, "UPDATE produtos SET preco = 7.77 WHERE id = 21")
    assert _receive(st, "loja_01").updated == 2
    execute(o, "UPDATE sinc_alteracoes SET criado_em = '2000-01-01 00:00:00'")
    execute(o, "UPDATE produtos SET preco = 8.88 WHERE id = 22")
    _receive(st, "loja_01")                                                    # prunes by age
    assert all(e[1] == "22" for e in entries(o, "produtos"))
    behind = _receive(st, "loja_02")
    assert behind.compared == 60 and behind.updated == 3                       # re-synced by diff
    assert _price(st.store("loja_02").url, 21) == Decimal("7.77")
    assert verify_table(st, "loja_02", st.table("produtos")).passed
    assert _receive(st, "loja_02").compared == 0                               # then journal again
    execute(o, "UPDATE produtos SET preco = 9.99 WHERE id = 23")
    assert _receive(st, "loja_02").compared == 1
