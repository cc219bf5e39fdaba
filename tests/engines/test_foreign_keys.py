"""Foreign keys enforced on both sides, a self-reference, composite keys: random histories synced
with the default config (no groups) in many config orders; after every run the sides are equal."""
from __future__ import annotations

import itertools
import random

import pytest
import yaml
from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.main import main
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.snapshots import LocalStorage
from sinc_pipeline.snapshots.dump import dump_store
from sinc_pipeline.snapshots.restore import restore
from sinc_pipeline.sync.direction import sync_direction

from ..fkshop import TABLES, History, Names, create_schema, settings_for, table_rows
from ..helpers import rows

PAIRS = [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("mariadb", "mariadb"), ("postgresql", "mariadb"),
         ("mariadb", "sqlite")]
ROUNDS = 6


def orders(seed: int) -> list[list[str]]:
    """Config orders: the dependency order, its reverse (children first), and a sample of the rest."""
    perms = list(itertools.permutations(TABLES))
    random.Random(seed).shuffle(perms)
    return [TABLES, TABLES[::-1], *map(list, perms[:ROUNDS - 2])]


def _equal(st, direction: str, store_url: str) -> None:
    names = Names(renamed=True)
    for t in TABLES:
        origin = table_rows(st.origin.url, t, names, store_side=False, loja=1 if direction == "send" else None)
        store = table_rows(store_url, t, names, store_side=True)
        assert origin == store, (t, len(origin), len(store))


@pytest.mark.parametrize("origin,store", PAIRS, ids=[f"{o}-{s}" for o, s in PAIRS])
def test_receive_random_history_in_any_config_order(make_db, tmp_path, origin, store):
    o_url, s_url = make_db(origin), make_db(store)
    create_schema(o_url)
    create_schema(s_url, renamed=True)
    history = History(o_url, Names(renamed=False), seed=hash((origin, store)) % 1000)
    changed = 0
    for order in orders(seed=3):
        history.step()
        st = settings_for(o_url, s_url, tmp_path, order, "receive", renamed=True)
        results, errors = sync_direction(st, "loja_01", "receive")
        assert not errors
        changed += sum(r.deleted for r in results)
        _equal(st, "receive", s_url)
    assert changed > 0
    assert all(r.changed == 0 for r in sync_direction(st, "loja_01", "receive")[0])


@pytest.mark.parametrize("origin,store", PAIRS, ids=[f"{o}-{s}" for o, s in PAIRS])
def test_send_random_history_in_any_config_order(make_db, tmp_path, origin, store):
    o_url, s_url = make_db(origin), make_db(store)
    create_schema(o_url, scoped=True)
    create_schema(s_url, renamed=True)
    History(o_url, Names(renamed=False), seed=1, loja=2).step()          # another store's rows at the origin
    theirs = {t: table_rows(o_url, t, Names(False), store_side=False, loja=2) for t in TABLES}
    history = History(s_url, Names(renamed=True), seed=hash((store, origin)) % 1000)
    for order in orders(seed=5):
        history.step()
        st = settings_for(o_url, s_url, tmp_path, order, "send", renamed=True)
        results, errors = sync_direction(st, "loja_01", "send")
        assert not errors
        _equal(st, "send", s_url)
    assert theirs == {t: table_rows(o_url, t, Names(False), store_side=False, loja=2) for t in TABLES}


def test_groups_contradicting_foreign_keys_are_refused_before_anything_is_written(make_db, tmp_path, capsys):
    o_url, s_url = make_db("sqlite"), make_db("sqlite")
    create_schema(o_url)
    create_schema(s_url, renamed=True)
    History(o_url, Names(False), seed=11).step()
    groups = {"categorias": {"group": "arvore"}, "produtos": {"group": "catalogo"}}
    st = settings_for(o_url, s_url, tmp_path, TABLES, "receive", renamed=True, **groups)
    with pytest.raises(SchemaError) as err:
        sync_direction(st, "loja_01", "receive")
    text = str(err.value)
    assert "'arvore'" in text and "'catalogo'" in text and "fk_prod_cat" in text
    assert "produtos(categoria_id) → categorias(id)" in text and "loja_01" in text
    assert rows(s_url, "SELECT COUNT(*) FROM categorias") == [(0,)]
    # the Dagster job fails with the same message, and nothing is written either
    with DagsterInstance.ephemeral() as instance:
        res = run_job(build_defs(st), "receber_dados", "loja_01", {}, instance)
    assert not res.success and "fk_prod_cat" in res.error and "'arvore'" in res.error
    assert rows(s_url, "SELECT COUNT(*) FROM produto") == [(0,)]
    # and `check --databases` says so, connecting to the databases (plain `check` cannot know)
    cfg = tmp_path / "sinc.yaml"
    cfg.write_text(yaml.safe_dump(st.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    assert main(["check", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["check", str(cfg), "--databases"]) == 1
    out = capsys.readouterr()
    assert "[ERRO] loja loja_01, tabela 'produtos'" in out.out
    assert "fk_prod_cat" in out.out and "'arvore'" in out.out and "'catalogo'" in out.out
    # one group holding both is fine
    st = settings_for(o_url, s_url, tmp_path, TABLES, "receive", renamed=True,
                      categorias={"group": "g"}, produtos={"group": "g"})
    sync_direction(st, "loja_01", "receive")
    _equal(st, "receive", s_url)
    create_schema(st.store("loja_02").url, renamed=True)            # check --databases looks at every store
    cfg.write_text(yaml.safe_dump(st.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    assert main(["check", str(cfg), "--databases"]) == 0
    assert "fk_prod_cat" not in capsys.readouterr().out


def test_a_cycle_through_a_not_null_column_is_named(make_db, tmp_path):
    o_url, s_url = make_db("sqlite"), make_db("sqlite")
    create_schema(o_url)
    create_schema(s_url, renamed=True)
    with __import__("sinc_pipeline.core.db", fromlist=["get_engine"]).get_engine(s_url).begin() as c:
        c.exec_driver_sql("DROP TABLE categorias")
        c.exec_driver_sql("CREATE TABLE categorias (id INTEGER PRIMARY KEY, nome VARCHAR(40) NOT NULL, pai_id INTEGER "
                          "NOT NULL, CONSTRAINT fk_cat_pai FOREIGN KEY (pai_id) REFERENCES categorias (id))")
    h = History(o_url, Names(False), seed=2)
    h._ins("categorias", id=1, nome="a", pai_id=None)
    h._ins("categorias", id=2, nome="b", pai_id=1)
    h._sql("UPDATE categorias SET pai_id = 2 WHERE id = 1")
    st = settings_for(o_url, s_url, tmp_path, ["categorias"], "receive", renamed=True)
    with pytest.raises(Exception) as err:
        sync_direction(st, "loja_01", "receive")
    assert "Ciclo" in str(err.value) and "fk_cat_pai" in str(err.value) and "pai_id" in str(err.value)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_reparenting_to_new_rows_and_cycles_of_new_rows(make_db, tmp_path, engine):
    """Rows moved to parents inserted in the same run while their old parent is deleted (nullable
    self-reference and NOT NULL product → category, whose new parent has a new parent too), and a
    cycle among new rows (A → B → A, C → C): nothing is violated on the way, the sides end equal."""
    o_url, s_url = make_db(engine), make_db(engine)
    create_schema(o_url)
    create_schema(s_url, renamed=True)
    h = History(o_url, Names(False), seed=0)
    for cid, parent in [(1, None), (2, 1), (3, None)]:
        h._ins("categorias", id=cid, nome=f"c{cid}", pai_id=parent)
    h._ins("produtos", id=10, nome="p10", categoria_id=3)
    h._ins("precos", produto_id=10, tabela=1, valor=5)
    st = settings_for(o_url, s_url, tmp_path, TABLES[::-1], "receive", renamed=True)
    sync_direction(st, "loja_01", "receive")
    _equal(st, "receive", s_url)
    h._ins("categorias", id=4, nome="c4", pai_id=None)                 # 2 moves from 1 to the new 4; 1 goes
    h._sql("UPDATE categorias SET pai_id = 4 WHERE id = 2")
    h._sql("DELETE FROM categorias WHERE id = 1")
    h._ins("categorias", id=5, nome="c5", pai_id=None)                 # product 10 moves from 3 to the new 6
    h._ins("categorias", id=6, nome="c6", pai_id=5)                    # (under the new 5); 3 goes
    h._sql("UPDATE produtos SET categoria_id = 6 WHERE id = 10")
    h._sql("DELETE FROM categorias WHERE id = 3")
    h._ins("categorias", id=7, nome="a", pai_id=None)                  # a cycle of new rows, and a self-loop
    h._ins("categorias", id=8, nome="b", pai_id=7)
    h._sql("UPDATE categorias SET pai_id = 8 WHERE id = 7")
    h._ins("categorias", id=9, nome="c", pai_id=None)
    h._sql("UPDATE categorias SET pai_id = 9 WHERE id = 9")
    res = {r.table: r for r in sync_direction(st, "loja_01", "receive")[0]}
    _equal(st, "receive", s_url)
    assert (res["categorias"].inserted, res["categorias"].updated, res["categorias"].deleted) == (6, 1, 2)
    assert res["produtos"].updated == 1
    # the cycle is left as it is; deleting it goes through NULL too
    h._sql("UPDATE categorias SET pai_id = NULL WHERE id IN (7, 8, 9)")
    h._sql("DELETE FROM categorias WHERE id IN (7, 8, 9)")
    assert rows(s_url, "SELECT pai_id FROM categorias WHERE id IN (7, 8, 9) ORDER BY id") == [(8,), (7,), (9,)]
    sync_direction(st, "loja_01", "receive")
    _equal(st, "receive", s_url)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_restore_into_a_database_with_foreign_keys(make_db, tmp_path, engine):
    """A snapshot of a store with foreign keys (tables listed children-first, categories whose
    children have smaller ids) restores into an empty database with the same constraints, and
    again over it (``replace``: emptied children-first, loaded parents-first)."""
    o_url, s_url, target = make_db("sqlite"), make_db("sqlite"), make_db(engine)
    create_schema(o_url)
    create_schema(s_url, renamed=True)
    create_schema(target, renamed=True)
    h = History(o_url, Names(False), seed=4)
    for _ in range(3):
        h.step()
    top = max(h._ids("categorias"))
    h._ins("categorias", id=1, nome="filha de id menor", pai_id=top)  # a child whose id is below its parent's
    st = settings_for(o_url, s_url, tmp_path, TABLES[::-1], "receive", renamed=True)
    sync_direction(st, "loja_01", "receive")
    dump_store(st, "loja_01")
    storage = LocalStorage(st.snapshots.root)
    for replace in (False, True):
        restore(storage, "loja_01", "latest", target, replace=replace)
        names = Names(renamed=True)
        for t in TABLES:
            assert table_rows(target, t, names, store_side=True) == table_rows(s_url, t, names, store_side=True), t
