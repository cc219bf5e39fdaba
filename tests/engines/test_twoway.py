"""Two-way tables (direction: both): random histories edited at the origin and at two stores at
the same time, synced in random orders, in diff and in journal mode; after each round both sides
agree, every conflict is recorded once, no row is lost, an idle round writes nothing, a preview
writes nothing, and a crash between the steps converges on the rerun."""
from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from sinc_pipeline.capture.install import install_capture
from sinc_pipeline.core.db import get_engine
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.twoway.sync import plan_twoway, sync_twoway

PAIRS = [("sqlite", "sqlite"), ("postgresql", "sqlite"), ("mariadb", "postgresql")]
RULES = ["origin_wins", "store_wins", {"newest_wins": "alterado"}, "manual"]
STORES = {"loja_01": 1, "loja_02": 2}


def create(url: str, store: bool) -> None:
    meta = sa.MetaData()
    cols = [] if store else [sa.Column("loja_id", sa.Integer, primary_key=True, autoincrement=False)]
    sa.Table("clientes", meta, *cols, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("nome", sa.String(40)), sa.Column("fone", sa.String(20)), sa.Column("limite", sa.Integer),
             sa.Column("cpf", sa.String(14)), sa.Column("alterado", sa.Integer))
    with get_engine(url).begin() as c:
        meta.create_all(c)


def settings(o_url, stores, rule, capture=None):
    table = {"name": "clientes", "direction": "both", "key": ["loja_id", "id"], "scoped": True, "conflicts": rule,
             "origin_columns": ["limite"], "store_columns": ["fone"], "natural_key": ["cpf"]}
    if capture:
        table["capture"] = capture
    return parse_settings({
        "origin": {"url": o_url},
        "stores": [{"id": s, "url": u, "filter": {"loja_id": STORES[s]}, "cnpj": "11222333000181"}
                   for s, u in stores.items()],
        "tables": [table]})


def table_rows(url, loja=None):
    q = "SELECT id, nome, fone, limite, cpf, alterado FROM clientes" + ("" if loja is None else
                                                                       f" WHERE loja_id = {loja}")
    with get_engine(url).connect() as c:
        return sorted(tuple(r) for r in c.exec_driver_sql(q + " ORDER BY id"))


# journal bookkeeping: the consumers' positions (PostgreSQL's is a transaction horizon, which moves
# with every transaction of the database) and the entries every consumer has passed, pruned
BOOKKEEPING = {"sinc_estado", "sinc_captura_posicoes", "sinc_captura_horizonte", "sinc_alteracoes"}


def checksum(url, skip=()):
    """Every table's rows at one database (the 'writes nothing' proof), but ``skip``."""
    eng = get_engine(url)
    with eng.connect() as c:
        names = [n for n in sa.inspect(c).get_table_names() if n not in skip]
        return {n: sorted(map(repr, c.exec_driver_sql(f'SELECT * FROM {eng.dialect.identifier_preparer.quote(n)}')))
                for n in names}


class Editor:
    """Random edits of one side's rows of one store."""

    def __init__(self, url, loja, seed, origin):
        self.url, self.loja, self.rnd, self.origin = url, loja, random.Random(seed), origin
        self.clock = 0
        self.inserted, self.deleted = set(), set()     # ids this editor inserted / deleted

    def step(self, new_ids):
        with get_engine(self.url).begin() as c:
            where = f" WHERE loja_id = {self.loja}" if self.origin else ""
            ids = [r[0] for r in c.exec_driver_sql("SELECT id FROM clientes" + where)]
            for _ in range(self.rnd.randint(1, 5)):
                self.clock += 1
                op = self.rnd.random()
                if ids and op < 0.15:
                    i = self.rnd.choice(ids)
                    c.execute(sa.text("DELETE FROM clientes WHERE id = :i" + where.replace("WHERE", "AND")),
                              {"i": i})
                    ids.remove(i)
                    self.deleted.add(i)
                elif ids and op < 0.7:
                    i = self.rnd.choice(ids)
                    col = self.rnd.choice(["nome", "fone", "limite"])
                    val = self.rnd.randint(1, 3) if col == "limite" else self.rnd.choice(["a", "b", "c"])
                    c.execute(sa.text(f"UPDATE clientes SET {col} = :v, alterado = :t WHERE id = :i"
                                      + where.replace("WHERE", "AND")), {"v": val, "t": self.clock, "i": i})
                else:
                    i = next(new_ids)
                    self.inserted.add(i)
                    row = {"i": i, "n": "novo", "f": "0", "l": 1, "cpf": str(self.rnd.randint(1, 40)), "t": self.clock}
                    if self.origin:
                        c.execute(sa.text("INSERT INTO clientes VALUES (:lj, :i, :n, :f, :l, :cpf, :t)"),
                                  {**row, "lj": self.loja})
                    else:
                        c.execute(sa.text("INSERT INTO clientes VALUES (:i, :n, :f, :l, :cpf, :t)"), row)


def _conflicts(o_url):
    with get_engine(o_url).connect() as c:
        return [tuple(r) for r in c.exec_driver_sql(
            "SELECT loja, chave, assinatura, status, tipo FROM conflitos_sincronizacao")]


def two_way(make_db, origin, store, rule, capture=None, stores=STORES):
    """An origin and ``stores`` with the ``clientes`` table, their settings (capture installed)."""
    o_url = make_db(origin)
    create(o_url, store=False)
    urls = {s: make_db(store) for s in stores}
    for u in urls.values():
        create(u, store=True)
    st = settings(o_url, urls, rule, capture)
    if capture:
        install_capture(st)
    return st, o_url, urls


CAPTURES = [None, "journal"]


@pytest.mark.parametrize("capture", CAPTURES, ids=["diff", "journal"])
@pytest.mark.parametrize("rule", RULES, ids=[str(r) for r in RULES])
@pytest.mark.parametrize("origin,store", PAIRS, ids=[f"{o}-{s}" for o, s in PAIRS])
def test_random_concurrent_histories_converge(make_db, origin, store, rule, capture):
    st, o_url, stores = two_way(make_db, origin, store, rule, capture)
    rnd = random.Random(11)
    editors = [Editor(o_url, STORES[s], rnd.random(), True) for s in STORES] + \
              [Editor(u, STORES[s], rnd.random(), False) for s, u in stores.items()]
    counters = {n: iter(range(n * 1000, n * 1000 + 999)) for n in range(len(editors))}
    skip = BOOKKEEPING if capture else ()
    diff_st = settings(o_url, stores, rule)
    for round_ in range(6):
        order = [(n, None) for n in range(len(editors))] + [(None, s) for s in STORES]
        rnd.shuffle(order)     # edits and syncs interleaved: a store may sync before another side's edit
        for n, s in order:
            if n is not None:
                editors[n].step(counters[n])
                continue
            before = {u: checksum(u) for u in [o_url, *stores.values()]}
            preview = sync_twoway(st, s, st.tables[0], simulate=True)
            assert before == {u: checksum(u) for u in [o_url, *stores.values()]}   # preview wrote nothing
            r = sync_twoway(st, s, st.tables[0])
            assert (r.inserted, r.updated, r.deleted) == (preview.inserted, preview.updated, preview.deleted)
            assert r.mode == (capture or "diff")
        for s in STORES:       # the full round: every store synced after the last edit
            sync_twoway(st, s, st.tables[0])
        recorded = _conflicts(o_url)
        assert len(recorded) == len({c[:3] for c in recorded})   # once each
        waiting = {(s, int(c[1])) for s in STORES for c in recorded if c[0] == s and c[3] == "pendente"
                   and c[4] != "chave_natural"}
        for s, u in stores.items():
            o_rows = [r for r in table_rows(o_url, STORES[s]) if (s, r[0]) not in waiting]
            s_rows = [r for r in table_rows(u) if (s, r[0]) not in waiting]
            if rule != "manual":
                assert o_rows == s_rows, (round_, s)
            else:
                assert {r[0] for r in o_rows} ^ {r[0] for r in s_rows} <= {k for _, k in waiting}
            kept = set().union(*(e.inserted for e in editors if e.loja == STORES[s])) - \
                set().union(*(e.deleted for e in editors if e.loja == STORES[s]))
            present = {r[0] for r in table_rows(o_url, STORES[s])} | {r[0] for r in table_rows(u)}
            assert kept <= present, (round_, s, kept - present)              # no row lost
            if capture:     # the journal missed nothing: a full comparison finds nothing to do either
                full = plan_twoway(diff_st, s, diff_st.tables[0]).merge
                assert full.to_store.empty and full.to_origin.empty and not full.conflicts, (round_, s)
        idle = {u: checksum(u, skip) for u in [o_url, *stores.values()]}
        for s in STORES:
            r = sync_twoway(st, s, st.tables[0])
            assert r.changed == 0 and r.extra["conflitos_novos"] == 0, (round_, s, r)
            if capture:
                assert r.compared == 0, (round_, s, r)          # journal: an idle sync reads no row
        assert idle == {u: checksum(u, skip) for u in [o_url, *stores.values()]}
    assert {c[4] for c in recorded} >= {"atualização", "exclusão"}     # the history reached both kinds


class Crash(Exception):
    pass


@pytest.mark.parametrize("capture", CAPTURES, ids=["diff", "journal"])
@pytest.mark.parametrize("step", ["conflitos", "loja"])
def test_crash_between_steps_converges_without_duplicates(make_db, step, capture):
    st, o_url, urls = two_way(make_db, "sqlite", "sqlite", "store_wins", capture, {"loja_01": 1})
    s_url = urls["loja_01"]
    with get_engine(o_url).begin() as c:
        c.exec_driver_sql("INSERT INTO clientes VALUES (1, 1, 'a', '1', 1, '1', 0), (1, 2, 'b', '1', 1, '2', 0)")
    sync_twoway(st, "loja_01", st.tables[0])
    with get_engine(o_url).begin() as c:
        c.exec_driver_sql("UPDATE clientes SET nome = 'O', alterado = 1 WHERE id = 1")
        c.exec_driver_sql("INSERT INTO clientes VALUES (1, 3, 'c', '1', 1, '3', 0)")
    with get_engine(s_url).begin() as c:
        c.exec_driver_sql("UPDATE clientes SET nome = 'S', alterado = 2 WHERE id = 1")
        c.exec_driver_sql("INSERT INTO clientes VALUES (4, 'd', '1', 1, '4', 0)")

    def hook(at):
        if at == step:
            raise Crash

    with pytest.raises(Crash):
        sync_twoway(st, "loja_01", st.tables[0], hook=hook)
    sync_twoway(st, "loja_01", st.tables[0])
    assert table_rows(o_url, 1) == table_rows(s_url)
    assert [r[0] for r in table_rows(s_url)] == [1, 2, 3, 4] and table_rows(s_url)[0][1] == "S"
    assert len(_conflicts(o_url)) == 1
    again = sync_twoway(st, "loja_01", st.tables[0])
    assert again.changed == 0 and (capture is None or again.compared == 0)


@pytest.mark.parametrize("keep", ["origem", "loja", "valor"])
def test_manual_conflict_waits_then_resolver_conflitos_settles_it(make_db, keep):
    from sinc_pipeline.twoway.resolve import resolve_conflicts
    o_url, s_url = make_db("sqlite"), make_db("sqlite")
    create(o_url, store=False)
    create(s_url, store=True)
    st = settings(o_url, {"loja_01": s_url}, "manual")
    st = st.model_copy(update={"stores": st.stores[:1]})
    with get_engine(o_url).begin() as c:
        c.exec_driver_sql("INSERT INTO clientes VALUES (1, 1, 'a', '1', 1, '1', 0), (1, 2, 'b', '1', 1, '2', 0)")
    sync_twoway(st, "loja_01", st.tables[0])
    with get_engine(o_url).begin() as c:
        c.exec_driver_sql("UPDATE clientes SET nome = 'O' WHERE id = 1")
    with get_engine(s_url).begin() as c:
        c.exec_driver_sql("UPDATE clientes SET nome = 'S' WHERE id = 1")
        c.exec_driver_sql("UPDATE clientes SET nome = 'outra' WHERE id = 2")
    r = sync_twoway(st, "loja_01", st.tables[0])
    assert r.extra["conflitos_pendentes"] == 1
    assert table_rows(o_url, 1)[1][1] == "outra" and table_rows(o_url, 1)[0][1] == "O"   # not blocked
    assert table_rows(s_url)[0][1] == "S"
    assert sync_twoway(st, "loja_01", st.tables[0]).changed == 0          # waits, nothing re-sent
    (cid,), = [(c[0],) for c in get_engine(o_url).connect().exec_driver_sql(
        "SELECT id FROM conflitos_sincronizacao WHERE status = 'pendente'")]
    if keep == "valor":
        resolve_conflicts(st, [cid], value={"nome": "M"})
    else:
        resolve_conflicts(st, [cid], keep=keep)
    want = {"origem": "O", "loja": "S", "valor": "M"}[keep]
    assert table_rows(o_url, 1) == table_rows(s_url) and table_rows(s_url)[0][1] == want
    assert sync_twoway(st, "loja_01", st.tables[0]).changed == 0
    with get_engine(s_url).begin() as c:
        c.exec_driver_sql("UPDATE clientes SET nome = 'depois' WHERE id = 1")
    sync_twoway(st, "loja_01", st.tables[0])
    assert table_rows(o_url, 1)[0][1] == "depois"


def test_natural_key_duplicate_is_reported_not_refused(make_db):
    o_url, a_url, b_url = make_db("sqlite"), make_db("sqlite"), make_db("sqlite")
    create(o_url, store=False)
    for u in (a_url, b_url):
        create(u, store=True)
    st = settings(o_url, {"loja_01": a_url, "loja_02": b_url}, "origin_wins")
    with get_engine(a_url).begin() as c:
        c.exec_driver_sql("INSERT INTO clientes VALUES (1, 'Ana', '1', 1, '123', 0)")
    with get_engine(b_url).begin() as c:
        c.exec_driver_sql("INSERT INTO clientes VALUES (7, 'Ana S.', '2', 1, '123', 0)")
    sync_twoway(st, "loja_01", st.tables[0])
    r = sync_twoway(st, "loja_02", st.tables[0])
    assert r.extra["conflitos_pendentes"] == 1 and table_rows(o_url, 2) == table_rows(b_url)
    assert [c[4] for c in _conflicts(o_url)] == ["chave_natural"]
    assert sync_twoway(st, "loja_02", st.tables[0]).changed == 0 and len(_conflicts(o_url)) == 1
