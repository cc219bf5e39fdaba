"""A bad row holds back only itself (issue 8): held, recorded in sinc_erros, retried, released.

Every test: the rows the target refuses (or cannot hold) are held and recorded, everything else
of the run arrives, the run succeeds, the check warns naming the held key, and once the cause is
fixed the next run applies the row and its entry disappears."""
from __future__ import annotations

import datetime as dt
import json
import math

import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import connect, get_engine
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.sync.held_store import held_entries
from sinc_pipeline.sync.state import get_cursor
from sinc_pipeline.sync.unit import sync_unit
from sinc_pipeline.sync.verify import verify_table

from ..helpers import execute, rows

CNPJ = "11222333000181"


def settings(origin: str, store: str, tables: list[dict], second_store: str | None = None):
    stores = [{"id": "loja_01", "url": store, "filter": {"loja_id": 1}, "cnpj": CNPJ}]
    if second_store:
        stores.append({"id": "loja_02", "url": second_store, "filter": {"loja_id": 2}, "cnpj": "11222333000262"})
    return parse_settings({"origin": {"url": origin}, "stores": stores, "tables": tables})


def produtos(cursor: bool = False, report: bool = False) -> list[dict]:
    """The table; ``report``: a target charset that cannot hold every character is reported and
    the rows it refuses are held (without it, the preflight refuses the table, core/probes.py)."""
    return [{"name": "produtos", "direction": "receive", "key": ["id"], **({"cursor": "atualizado_em"} if cursor else {}),
             **({"on_unrepresentable": "report"} if report else {})}]


def one(st, direction="receive"):
    return sync_unit(st, "loja_01", st.units(direction)[0])[0]


def entries(st, direction="receive", table=None):
    return held_entries(st, "loja_01", direction, table)


def check_warns_naming(st, table_cfg, key: dict):
    """The check fails only by held rows, naming the key (severity WARN in Dagster)."""
    from dagster import AssetCheckSeverity
    from sinc_pipeline.defs.sync_assets import check_result
    a = verify_table(st, "loja_01", table_cfg)
    assert not a.passed and a.only_held and json.dumps(key) in [e["chave"] for e in a.held]
    res = check_result(table_cfg, a)
    assert not res.passed and res.severity == AssetCheckSeverity.WARN and json.dumps(key) in res.description


def many(url: str, sql: str, params: list[dict]) -> None:
    """executemany; on SQLite, timestamps bound as text, the way typed columns store them."""
    if url.startswith("sqlite"):
        params = [{k: v.isoformat(sep=" ", timespec="microseconds") if isinstance(v, dt.datetime) else v
                   for k, v in p.items()} for p in params]
    with get_engine(url).begin() as c:
        c.execute(sa.text(sql), params)


def fill(url: str, n: int, start: int = 1) -> None:
    many(url, "INSERT INTO produtos (id, nome, preco, atualizado_em) VALUES (:id, :nome, :preco, :t)",
            [{"id": i, "nome": f"produto {i}", "preco": i, "t": dt.datetime(2026, 1, 1) + dt.timedelta(minutes=i)}
             for i in range(start, start + n)])


DDL = "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, nome {nome}, preco INTEGER, atualizado_em {ts})"


def ts(engine: str) -> str:
    return "DATETIME(6)" if engine == "mariadb" else "TIMESTAMP"


@pytest.mark.parametrize("origin_engine", ["sqlite", "postgresql"])
def test_emoji_into_utf8mb3_is_held_the_rest_arrives_then_fixed(make_db, origin_engine):
    origin, store = make_db(origin_engine), make_db("mariadb")
    execute(origin, DDL.format(nome="VARCHAR(100)", ts=ts(origin_engine)))
    execute(store, DDL.format(nome="VARCHAR(100) CHARACTER SET utf8mb3", ts="DATETIME(6)"))
    fill(origin, 300)
    st = settings(origin, store, produtos(report=True))
    assert one(st).inserted == 300
    # many changes, one of them an emoji the store's utf8mb3 column cannot hold
    execute(origin, "UPDATE produtos SET preco = preco + 1000 WHERE id <= 40")
    execute(origin, "UPDATE produtos SET nome = :n WHERE id = 77", {"n": "Pão de forma 🍞 integral"})
    execute(origin, "DELETE FROM produtos WHERE id > 290")
    fill(origin, 25, start=1000)
    r = one(st)
    assert (r.inserted, r.updated, r.deleted, r.held) == (25, 40, 10, 1)
    assert rows(store, "SELECT COUNT(*), SUM(preco) FROM produtos") == rows(origin, "SELECT COUNT(*), SUM(preco) FROM produtos")
    assert rows(store, "SELECT nome FROM produtos WHERE id = 77") == [("produto 77",)]
    [e] = entries(st)
    assert (e["loja"], e["tabela"], e["chave"], e["coluna"], e["tentativas"]) == ("loja_01", "produtos", '{"id": 77}',
                                                                                  "nome", 1)
    assert "🍞" in e["valor"] and "Incorrect string value" in e["mensagem"] and "\n" not in e["mensagem"]
    check_warns_naming(st, st.tables[0], {"id": 77})
    # retried on every run: still held, one more attempt, first seen kept
    again = one(st)
    assert (again.changed, again.held) == (0, 1)
    [e2] = entries(st)
    assert e2["tentativas"] == 2 and e2["primeiro_em"] == e["primeiro_em"] and e2["ultimo_em"] >= e["ultimo_em"]
    # the cause fixed at the store: applied by the next run, and the entry leaves by itself
    execute(store, "ALTER TABLE produtos CONVERT TO CHARACTER SET utf8mb4")
    fixed = one(st)
    assert (fixed.updated, fixed.held) == (1, 0)
    assert rows(store, "SELECT nome FROM produtos WHERE id = 77") == [("Pão de forma 🍞 integral",)]
    assert entries(st) == []
    assert verify_table(st, "loja_01", st.tables[0]).passed


@pytest.mark.parametrize("store_engine", ["postgresql", "sqlite"])
def test_a_column_too_short_at_the_store_holds_only_its_rows(make_db, store_engine):
    """PostgreSQL: VARCHAR(10), known before writing; SQLite enforces no length: a CHECK refuses
    the row while writing."""
    origin, store = make_db("sqlite"), make_db(store_engine)
    execute(origin, DDL.format(nome="VARCHAR(100)", ts="TIMESTAMP"))
    nome = "VARCHAR(10)" + (" CHECK (length(nome) <= 10)" if store_engine == "sqlite" else "")
    execute(store, DDL.format(nome=nome, ts="TIMESTAMP"))
    fill(origin, 60)
    execute(origin, "UPDATE produtos SET nome = 'um nome longo demais' WHERE id IN (8, 41)")
    st = settings(origin, store, produtos())
    r = one(st)
    assert (r.inserted, r.held) == (58, 2)
    got = entries(st)
    assert [e["chave"] for e in got] == ['{"id": 8}', '{"id": 41}']
    assert all(e["coluna"] == "nome" and e["valor"] == "um nome longo demais" for e in got)
    assert ("VARCHAR(10)" if store_engine == "postgresql" else "CHECK constraint failed") in got[0]["mensagem"]
    check_warns_naming(st, st.tables[0], {"id": 41})
    execute(origin, "UPDATE produtos SET nome = 'curto' WHERE id = 8")
    r = one(st)
    assert (r.inserted, r.held) == (1, 1) and [e["chave"] for e in entries(st)] == ['{"id": 41}']
    execute(origin, "UPDATE produtos SET nome = 'curto 2' WHERE id = 41")
    assert one(st).inserted == 1 and entries(st) == []
    assert verify_table(st, "loja_01", st.tables[0]).passed


FIXES = {"postgresql": ("VARCHAR(10)", "um nome longo demais", "ALTER TABLE produtos ALTER COLUMN nome TYPE VARCHAR(100)"),
         "mariadb": ("VARCHAR(100) CHARACTER SET utf8mb3", "café ☕🍞", "ALTER TABLE produtos CONVERT TO CHARACTER SET utf8mb4")}


@pytest.mark.parametrize("store_engine", list(FIXES))
def test_a_held_row_of_a_cursor_table_is_read_again_until_it_lands(make_db, store_engine):
    column, bad, fix = FIXES[store_engine]
    origin, store = make_db("sqlite"), make_db(store_engine)
    execute(origin, DDL.format(nome="VARCHAR(100)", ts="TIMESTAMP"))
    execute(store, DDL.format(nome=column, ts=ts(store_engine)))
    fill(origin, 50)
    st = settings(origin, store, produtos(cursor=True, report=True))
    assert one(st).inserted == 50
    t1, t2 = dt.datetime(2026, 3, 1), dt.datetime(2026, 3, 2)
    execute(origin, "UPDATE produtos SET nome = :n, atualizado_em = :t WHERE id = 5", {"n": bad, "t": t1})
    execute(origin, "UPDATE produtos SET preco = 555, atualizado_em = :t WHERE id = 6", {"t": t2})
    r = one(st)
    assert (r.updated, r.held) == (1, 1)

    def cursor():
        with connect(store, "loja") as c:
            return get_cursor(c, "loja_01", "produtos", "receive")

    assert cursor() == t1                       # kept at the held row, not at t2
    # nothing changed at the origin: the held row is still read again, and again held
    again = one(st)
    assert again.compared >= 2 and again.held == 1 and again.changed == 0
    assert entries(st)[0]["tentativas"] == 2 and cursor() == t1
    # a later change arrives meanwhile
    execute(origin, "UPDATE produtos SET preco = 777, atualizado_em = :t WHERE id = 7", {"t": dt.datetime(2026, 3, 3)})
    r = one(st)
    assert (r.updated, r.held) == (1, 1) and cursor() == t1
    # fixed at the store, nothing touched at the origin: the row lands because it was read again
    execute(store, fix)
    r = one(st)
    assert (r.updated, r.held) == (1, 0) and entries(st) == []
    assert rows(store, "SELECT nome FROM produtos WHERE id = 5") == [(bad,)]
    assert cursor() == dt.datetime(2026, 3, 3)
    assert verify_table(st, "loja_01", st.tables[0]).passed


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_one_bad_row_among_1000_costs_about_log2_statements(make_db, engine):
    origin, store = make_db("sqlite"), make_db(engine)
    execute(origin, DDL.format(nome="VARCHAR(100)", ts="TIMESTAMP"))
    execute(store, DDL.format(nome="VARCHAR(100)", ts=ts(engine)).replace("preco INTEGER", "preco INTEGER CHECK (preco >= 0)"))
    fill(origin, 1000)
    execute(origin, "UPDATE produtos SET preco = -1 WHERE id = 613")
    st = settings(origin, store, produtos())
    statements = []
    listener = lambda conn, cur, stmt, params, ctx, many: statements.append(stmt)  # noqa: E731
    sa.event.listen(get_engine(store), "before_cursor_execute", listener)
    try:
        r = one(st)
        writes = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO PRODUTOS")]
        assert (r.inserted, r.held) == (999, 1)
        assert len(writes) <= 2 + 2 * math.ceil(math.log2(1000)) + 1, len(writes)
        assert [e["chave"] for e in entries(st)] == ['{"id": 613}']
        # the normal path (the row fixed): one executemany, no per-row statement
        execute(origin, "UPDATE produtos SET preco = 613 WHERE id = 613")
        fill(origin, 1000, start=5000)
        statements.clear()
        r = one(st)
        writes = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO PRODUTOS")]
        assert (r.inserted, r.held) == (1001, 0) and len(writes) == 1 and entries(st) == []
    finally:
        sa.event.remove(get_engine(store), "before_cursor_execute", listener)
    assert rows(store, "SELECT COUNT(*) FROM produtos") == [(2000,)]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_a_refused_item_holds_its_whole_sale(make_db, engine):
    """A send group (sale + items) linked by a foreign key at the origin; the origin has a CHECK
    the store does not: the refused item holds its sale and the sale's other items."""
    origin, store = make_db(engine), make_db("sqlite")
    execute(origin, "CREATE TABLE vendas (loja_id INTEGER NOT NULL, id INTEGER NOT NULL, total INTEGER, "
                    "PRIMARY KEY (loja_id, id))")
    execute(origin, "CREATE TABLE venda_itens (loja_id INTEGER NOT NULL, venda_id INTEGER NOT NULL, item INTEGER NOT NULL, "
                    "quantidade INTEGER CHECK (quantidade > 0), PRIMARY KEY (loja_id, venda_id, item), "
                    "FOREIGN KEY (loja_id, venda_id) REFERENCES vendas (loja_id, id))")
    execute(store, "CREATE TABLE vendas (id INTEGER NOT NULL PRIMARY KEY, total INTEGER)")
    execute(store, "CREATE TABLE venda_itens (venda_id INTEGER NOT NULL, item INTEGER NOT NULL, quantidade INTEGER, "
                   "PRIMARY KEY (venda_id, item))")
    many(store, "INSERT INTO vendas VALUES (:id, :t)", [{"id": i, "t": 10 * i} for i in range(1, 6)])
    many(store, "INSERT INTO venda_itens VALUES (:v, :i, :q)",
            [{"v": v, "i": i, "q": -1 if (v, i) == (3, 2) else i} for v in range(1, 6) for i in range(1, 4)])
    common = {"direction": "send", "scoped": True, "group": "venda"}
    st = settings(origin, store, [{"name": "vendas", "key": ["loja_id", "id"], **common},
                                  {"name": "venda_itens", "key": ["loja_id", "venda_id", "item"], **common}])
    unit = st.units("send")[0]
    vendas, itens = sync_unit(st, "loja_01", unit)
    assert (vendas.inserted, vendas.held, itens.inserted, itens.held) == (4, 1, 12, 3)
    assert rows(origin, "SELECT id FROM vendas ORDER BY id") == [(1,), (2,), (4,), (5,)]
    assert rows(origin, "SELECT COUNT(*) FROM venda_itens WHERE venda_id = 3") == [(0,)]
    got = {(e["tabela"], e["chave"]): e for e in held_entries(st, "loja_01", "send")}
    assert set(got) == {("vendas", '{"id": 3}')} | {("venda_itens", f'{{"item": {i}, "venda_id": 3}}') for i in (1, 2, 3)}
    refused = got[("venda_itens", '{"item": 2, "venda_id": 3}')]["mensagem"]
    assert "retida junto" not in refused and "retida junto com a linha recusada" in got[("vendas", '{"id": 3}')]["mensagem"]
    check_warns_naming(st, unit[0], {"id": 3})
    execute(store, "UPDATE venda_itens SET quantidade = 2 WHERE venda_id = 3 AND item = 2")
    vendas, itens = sync_unit(st, "loja_01", unit)
    assert (vendas.inserted, itens.inserted, vendas.held, itens.held) == (1, 3, 0, 0)
    assert held_entries(st, "loja_01", "send") == []
    assert all(verify_table(st, "loja_01", t).passed for t in unit)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_a_key_of_another_store_holds_just_that_row_and_names_the_key(make_db, engine):
    """Issue 8 item 6: the origin's key is the id alone; loja_02 already holds id 7 there."""
    origin, store = make_db(engine), make_db("sqlite")
    execute(origin, "CREATE TABLE movimentos (id INTEGER NOT NULL PRIMARY KEY, loja_id INTEGER NOT NULL, valor INTEGER)")
    execute(store, "CREATE TABLE movimentos (id INTEGER NOT NULL PRIMARY KEY, valor INTEGER)")
    execute(origin, "INSERT INTO movimentos VALUES (7, 2, 70)")
    execute(store, "INSERT INTO movimentos VALUES (1, 10), (2, 20), (7, 99), (8, 80)")
    st = settings(origin, store, [{"name": "movimentos", "direction": "send", "key": ["id"], "scoped": True}],
                  second_store=make_db("sqlite"))
    r = one(st, "send")
    assert (r.inserted, r.held) == (3, 1)
    assert rows(origin, "SELECT id, loja_id, valor FROM movimentos ORDER BY id") == [
        (1, 1, 10), (2, 1, 20), (7, 2, 70), (8, 1, 80)]           # loja_02's row untouched
    [e] = held_entries(st, "loja_01", "send")
    assert e["chave"] == '{"id": 7}' and e["mensagem"]
    assert held_entries(st, "loja_02", "send") == []
    assert one(st, "send").held == 1                              # the store is not blocked: it just waits
