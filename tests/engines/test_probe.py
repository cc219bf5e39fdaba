"""The tick's probe of an idle journal-mode store (``capture/probe.py``), through ``sync_store``
(``defs/tick.py``) on every engine: an idle store is probed and not synced (its state rows and
positions untouched, no check re-run); one new sale, one origin change in its scope, a repair
mark, a held row, a pruned horizon or a lost state (a new store) make it sync; a change in
another store's scope does not; an open transaction (PostgreSQL) or a gap (MariaDB) is not hidden."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from dagster import AssetCheckEvaluation, AssetMaterialization

from sinc_pipeline.capture import sql as q
from sinc_pipeline.capture.probe import IDLE_NOTE, probe_store
from sinc_pipeline.core.db import connect, get_engine
from sinc_pipeline.core.owned import utcnow
from sinc_pipeline.defs.tick import OK, sync_store
from sinc_pipeline.sync.held_store import errors_table
from sinc_pipeline.sync.state import mark_repair

from ..helpers import execute, rows
from .journal_helpers import PRICES, all_journal

ENGINES = ["sqlite", "postgresql", "mariadb"]
STORES = ("loja_01", "loja_02")


@pytest.fixture(params=ENGINES)
def st(request, make_db, tmp_path):
    return all_journal(make_db, request.param, tmp_path)


_runs = iter(range(1, 10_000))


def tick(st, store: str, direction: str):
    """One store of a tick, as the tick op runs it; (outcome, run id)."""
    run_id = f"probe-test-{next(_runs)}"
    out = sync_store(st, store, direction, run_id, False, threading.BoundedSemaphore(1))
    assert out.status == OK, out.error
    return out, run_id


def synced(out) -> bool:
    mats = [e for e in out.events if isinstance(e, AssetMaterialization)]
    assert mats, "every table reports something"
    idle = [m for m in mats if m.metadata.get("situacao") is not None]
    assert len(idle) in (0, len(mats))
    return not idle


def state(st, store: str, direction: str) -> list[tuple]:
    url = st.store(store).url if direction == "receive" else st.origin.url
    return rows(url, "SELECT tabela, direcao, cursor_valor, atualizado_em, run_id FROM sinc_estado "
                     "WHERE loja = :l ORDER BY tabela, direcao", l=store)


def test_an_idle_store_is_probed_and_not_synced(st):
    for d in ("send", "receive"):
        for s in STORES:
            before = state(st, s, d)
            p = probe_store(st, s, d)
            assert p.idle and p.reason == IDLE_NOTE, p.reason
            out, run_id = tick(st, s, d)
            assert not synced(out)
            assert not any(isinstance(e, AssetCheckEvaluation) for e in out.events)   # the check is not re-run
            mats = {m.asset_key.to_user_string(): m.metadata for m in out.events}
            assert len(mats) == sum(t.direction == d for t in st.tables)
            for md in mats.values():
                assert md["situacao"].value == IDLE_NOTE and md["inseridas"].value == 0 and md["cursor"].value
                assert md["loja"].value == s and md["linhas_comparadas"].value == 0
            assert state(st, s, d) == before                   # no position moved, no sinc_estado write
            assert run_id not in {r[4] for r in state(st, s, d)}


def test_one_new_sale_is_sent(st):
    l1 = st.store("loja_01").url
    execute(l1, "INSERT INTO vendas (id, cliente_id, emitida_em, total, status, atualizado_em) "
                "SELECT 9001, cliente_id, emitida_em, total, status, atualizado_em FROM vendas WHERE id = 1")
    assert not probe_store(st, "loja_01", "send").idle
    assert probe_store(st, "loja_02", "send").idle               # another store's database
    out, run_id = tick(st, "loja_01", "send")
    assert synced(out) and any(isinstance(e, AssetCheckEvaluation) for e in out.events)
    assert rows(st.origin.url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1 AND id = 9001") == [(1,)]
    assert run_id in {r[4] for r in state(st, "loja_01", "send")}
    assert probe_store(st, "loja_01", "send").idle               # and then it is idle again
    assert not synced(tick(st, "loja_02", "send")[0])


def test_an_origin_change_in_the_stores_scope_is_received_and_only_there(st):
    o = st.origin.url
    execute(o, f"UPDATE {PRICES} SET preco = 77 WHERE loja_id = 1 AND produto_id = 3")
    assert not probe_store(st, "loja_01", "receive").idle
    assert probe_store(st, "loja_02", "receive").idle            # not its scope
    out, _ = tick(st, "loja_01", "receive")
    assert synced(out)
    assert rows(st.store("loja_01").url, f"SELECT CAST(preco AS INTEGER) FROM {PRICES} WHERE produto_id = 3") == [(77,)]
    assert not synced(tick(st, "loja_02", "receive")[0])
    execute(o, "UPDATE produtos SET descricao = 'Alterado' WHERE id = 4")     # unscoped: every store
    for s in STORES:
        assert not probe_store(st, s, "receive").idle
        assert synced(tick(st, s, "receive")[0])
        assert rows(st.store(s).url, "SELECT descricao FROM produto WHERE id = 4") == [("Alterado",)]
        assert probe_store(st, s, "receive").idle


def test_repair_marks_held_rows_horizons_and_a_new_store_force_the_normal_sync(st):
    with connect(st.store("loja_01").url, "loja", write=True) as c:
        mark_repair(c, "loja_01", "produtos", "receive")
    p = probe_store(st, "loja_01", "receive")
    assert not p.idle and "reparo" in p.reason
    out, _ = tick(st, "loja_01", "receive")
    assert synced(out)
    assert next(m for m in out.events if m.asset_key.to_user_string() == "receber_produtos"
                and isinstance(m, AssetMaterialization)).metadata["linhas_comparadas"].value == 60   # in full
    assert probe_store(st, "loja_01", "receive").idle            # the mark was cleared by that sync

    t = errors_table()                                           # a held row of loja_02's send
    t.metadata.create_all(get_engine(st.origin.url))
    with get_engine(st.origin.url).begin() as c:
        c.execute(t.insert().values(loja="loja_02", direcao="send", tabela="vendas", chave='{"id": 1}',
                                    operacao="update", mensagem="teste", primeiro_em=utcnow(), ultimo_em=utcnow(),
                                    tentativas=1))
    p = probe_store(st, "loja_02", "send")
    assert not p.idle and "retida" in p.reason
    assert probe_store(st, "loja_01", "send").idle

    with connect(st.origin.url, "origem", write=True) as c:      # the origin pruned past every position
        c.execute(sa.text(f"UPDATE {q.HORIZON} SET horizonte = horizonte + 1000000000 WHERE id = 1"))
    p = probe_store(st, "loja_02", "receive")
    assert not p.idle and "horizonte" in p.reason

    with connect(st.store("loja_01").url, "loja", write=True) as c:   # a store with no state: a new store
        c.execute(sa.text("DROP TABLE sinc_estado"))
    p = probe_store(st, "loja_01", "receive")
    assert not p.idle and "loja nova" in p.reason


def test_tables_outside_journal_mode_always_sync_and_the_probe_can_be_turned_off(st):
    mixed = st.model_copy(update={"tables": [t.model_copy(update={"capture": None}) if t.name == "lojas" else t
                                             for t in st.tables]})
    assert not probe_store(mixed, "loja_01", "receive").idle
    assert synced(tick(mixed, "loja_01", "receive")[0])
    off = st.model_copy(update={"tick": st.tick.model_copy(update={"probe": False})})
    assert synced(tick(off, "loja_01", "send")[0])
    assert not synced(tick(st, "loja_01", "send")[0])


def test_a_change_committed_above_an_open_transaction_is_not_hidden(make_db, tmp_path):
    """PostgreSQL: an open transaction holds the position (horizon) at its own id, below a later
    committed change; MariaDB: the open transaction's number is a gap the position waits below.
    Either way the committed change is pending until it is applied, and the open one once it
    commits (PostgreSQL: its entry's transaction id is the position itself)."""
    for engine in [e for e in ENGINES if e != "sqlite"]:
        (tmp_path / engine).mkdir()
        st = all_journal(make_db, engine, tmp_path / engine)
        o, l1 = st.origin.url, st.store("loja_01").url
        with get_engine(o).connect() as open_conn:        # open during a sync (a forced one), then committed
            tx = open_conn.begin()
            open_conn.execute(sa.text("UPDATE produtos SET descricao = 'Aberta' WHERE id = 7"))
            assert probe_store(st, "loja_01", "receive").idle     # nothing visible yet
            tick(st.model_copy(update={"tick": st.tick.model_copy(update={"probe": False})}), "loja_01", "receive")
            tx.commit()
        p = probe_store(st, "loja_01", "receive")
        assert not p.idle, (engine, p.reason)
        tick(st, "loja_01", "receive")
        assert rows(l1, "SELECT descricao FROM produto WHERE id = 7") == [("Aberta",)]
        assert probe_store(st, "loja_01", "receive").idle
        with get_engine(o).connect() as open_conn:        # and a change committed above it meanwhile
            tx = open_conn.begin()
            open_conn.execute(sa.text("UPDATE produtos SET descricao = 'Aberta 2' WHERE id = 7"))
            execute(o, "UPDATE produtos SET descricao = 'Confirmada' WHERE id = 8")
            assert not probe_store(st, "loja_01", "receive").idle
            tick(st, "loja_01", "receive")
            if engine == "postgresql":   # the horizon waits at the open transaction: 8's entry is above it
                assert not probe_store(st, "loja_01", "receive").idle
            tx.commit()
        for _ in range(2):
            if probe_store(st, "loja_01", "receive").idle:
                break
            tick(st, "loja_01", "receive")
        assert rows(l1, "SELECT descricao FROM produto WHERE id IN (7, 8) ORDER BY id") == [("Aberta 2",),
                                                                                              ("Confirmada",)]
        assert probe_store(st, "loja_01", "receive").idle
