"""Two-way tables in journal mode: only the journaled keys are read, the sync's own writes are not
captured back (no echo), a store whose position is missing or behind the pruned horizon is
compared in full once and then goes on by the journal, a manual conflict settled by
resolver_conflitos leaves nothing behind, and missing triggers fail with the install hint."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.install import install_capture
from sinc_pipeline.core.db import get_engine
from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.health.probes import pending_changes
from sinc_pipeline.twoway.resolve import resolve_conflicts
from sinc_pipeline.twoway.sync import plan_twoway, sync_twoway

from ..helpers import execute, rows
from .test_twoway import table_rows, two_way

ONE = {"loja_01": 1}


def _top(url: str) -> int:
    return rows(url, f"SELECT COALESCE(MAX(seq), 0) FROM {q.CHANGES}")[0][0]


def _seed(o_url: str, n: int = 20) -> None:
    with get_engine(o_url).begin() as c:
        c.execute(sa.text("INSERT INTO clientes VALUES (1, :i, 'n', '0', 1, :i, 0)"), [{"i": i} for i in range(1, n + 1)])


@pytest.mark.parametrize("origin,store", [("sqlite", "sqlite"), ("postgresql", "mariadb")])
def test_reads_only_journaled_keys_and_never_echoes(make_db, origin, store):
    st, o_url, urls = two_way(make_db, origin, store, "origin_wins", "journal", ONE)
    s_url, t = urls["loja_01"], st.tables[0]
    _seed(o_url)
    first = sync_twoway(st, "loja_01", t)
    assert first.mode == "journal" and first.compared == 20 and first.inserted == 20   # no position: in full
    assert sync_twoway(st, "loja_01", t).compared == 0
    execute(o_url, "UPDATE clientes SET limite = 9 WHERE id = 3")
    execute(o_url, "UPDATE clientes SET limite = 8 WHERE id = 3")                       # one key, two entries
    execute(s_url, "UPDATE clientes SET fone = '55' WHERE id = 4")
    execute(s_url, "INSERT INTO clientes VALUES (500, 'loja', '1', 1, '99', 0)")
    execute(o_url, "DELETE FROM clientes WHERE id = 5")
    tops = {u: _top(u) for u in (o_url, s_url)}
    assert pending_changes(st, st.store("loja_01")) == 4              # saude_lojas: both journals, distinct keys
    r = sync_twoway(st, "loja_01", t)
    assert r.compared == 4 and (r.inserted, r.updated, r.deleted) == (1, 2, 1)
    assert table_rows(o_url, 1) == table_rows(s_url)
    for u in (o_url, s_url):   # what the sync wrote on each side was not captured there
        assert rows(u, f"SELECT COUNT(*) FROM {q.CHANGES} WHERE seq > :s", s=tops[u])[0][0] == 0
    again = sync_twoway(st, "loja_01", t)
    assert again.compared == 0 and again.changed == 0 and pending_changes(st, st.store("loja_01")) == 0


def test_missing_or_pruned_position_compares_in_full_once(make_db, caplog):
    st, o_url, urls = two_way(make_db, "sqlite", "sqlite", "store_wins", "journal", ONE)
    s_url, t = urls["loja_01"], st.tables[0]
    _seed(o_url)
    with caplog.at_level(logging.INFO, logger="sinc_pipeline"):
        sync_twoway(st, "loja_01", t)
    assert any("comparando a tabela inteira" in m and m.startswith("Modo journal") for m in caplog.messages)
    # a store restored with an older state: its position is gone from the origin's sinc_estado
    execute(o_url, "DELETE FROM sinc_estado WHERE loja = 'loja_01'")
    execute(s_url, "UPDATE clientes SET nome = 'restaurada' WHERE id = 7")
    r = sync_twoway(st, "loja_01", t)
    assert r.compared == 40 and r.updated == 1 and table_rows(o_url, 1) == table_rows(s_url)
    assert sync_twoway(st, "loja_01", t).compared == 0                   # then by the journal again
    # the store's entries were pruned past its position (e.g. it was away longer than max_age_hours)
    execute(s_url, "UPDATE clientes SET nome = 'longe' WHERE id = 8")
    execute(s_url, f"UPDATE {q.HORIZON} SET horizonte = (SELECT MAX(seq) FROM {q.CHANGES})")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sinc_pipeline"):
        r = sync_twoway(st, "loja_01", t)
    assert r.compared == 40 and r.updated == 1
    assert any("anterior ao horizonte" in m for m in caplog.messages)
    assert table_rows(o_url, 1) == table_rows(s_url) and sync_twoway(st, "loja_01", t).compared == 0


def test_manual_conflict_settled_then_journal_goes_on(make_db):
    st, o_url, urls = two_way(make_db, "sqlite", "sqlite", "manual", "journal", ONE)
    s_url, t = urls["loja_01"], st.tables[0]
    _seed(o_url, 3)
    sync_twoway(st, "loja_01", t)
    execute(o_url, "UPDATE clientes SET nome = 'O' WHERE id = 1")
    execute(s_url, "UPDATE clientes SET nome = 'S' WHERE id = 1")
    assert sync_twoway(st, "loja_01", t).extra["conflitos_pendentes"] == 1
    execute(s_url, "UPDATE clientes SET nome = 'S2' WHERE id = 1")      # edited again while it waits
    assert sync_twoway(st, "loja_01", t).changed == 0
    cid = rows(o_url, "SELECT id FROM conflitos_sincronizacao WHERE status = 'pendente'")[0][0]
    resolve_conflicts(st, [cid], keep="loja")
    assert table_rows(o_url, 1) == table_rows(s_url) and table_rows(s_url)[0][1] == "S2"
    full = plan_twoway(st.model_copy(update={"tables": [t.model_copy(update={"capture": None})]}), "loja_01", t)
    assert full.merge.to_store.empty and full.merge.to_origin.empty
    assert sync_twoway(st, "loja_01", t).changed == 0
    execute(o_url, "UPDATE clientes SET nome = 'depois' WHERE id = 1")
    sync_twoway(st, "loja_01", t)
    assert table_rows(s_url)[0][1] == "depois"


def test_missing_triggers_fail_with_the_install_hint(make_db):
    st, o_url, urls = two_way(make_db, "sqlite", "sqlite", "origin_wins", "journal", ONE)
    install_capture(st, remove=True)
    with pytest.raises(SchemaError, match="instalar_captura"):
        sync_twoway(st, "loja_01", st.tables[0])
    install_capture(st)
    assert {r[0] for r in rows(o_url, "SELECT name FROM sqlite_master WHERE type = 'trigger'")} == \
        {"sinc_cap_clientes_i", "sinc_cap_clientes_u", "sinc_cap_clientes_d"}
    assert len(rows(urls["loja_01"], "SELECT name FROM sqlite_master WHERE type = 'trigger'")) == 3
