"""Tables sinc_pipeline builds keep what the source declares: criar_base_loja and restaurar_base
create NOT NULL, VARCHAR(n), SMALLINT, unique and secondary indexes and foreign keys (parents
first, whatever the config's order), text keys on MariaDB in utf8mb4_nopad_bin; the next sync
writes nothing."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import get_engine
from sinc_pipeline.core.errors import DataError
from sinc_pipeline.provisioning.store_database import create_store_database
from sinc_pipeline.settings import parse_settings
from sinc_pipeline.snapshots import LocalStorage
from sinc_pipeline.snapshots.dump import dump_store
from sinc_pipeline.snapshots.restore import restore

from ..helpers import rows, sync_all

STORE = "loja_01"
DDL = [
    "CREATE TABLE categorias (id SMALLINT NOT NULL PRIMARY KEY, pai_id SMALLINT, nome VARCHAR(40) NOT NULL, "
    "CONSTRAINT uq_categorias_nome UNIQUE (nome), "
    "CONSTRAINT fk_categorias_pai FOREIGN KEY (pai_id) REFERENCES categorias (id))",
    "CREATE TABLE marcas (codigo VARCHAR(12) NOT NULL PRIMARY KEY, nome VARCHAR(60) NOT NULL)",
    "CREATE TABLE produtos (id INTEGER NOT NULL PRIMARY KEY, categoria_id SMALLINT NOT NULL, marca VARCHAR(12), "
    "ean VARCHAR(14), descricao VARCHAR(120) NOT NULL, qtd SMALLINT, "
    "CONSTRAINT uq_produtos_ean UNIQUE (ean), "
    "CONSTRAINT fk_produtos_categoria FOREIGN KEY (categoria_id) REFERENCES categorias (id), "
    "CONSTRAINT fk_produtos_marca FOREIGN KEY (marca) REFERENCES marcas (codigo))",
    "CREATE INDEX ix_produtos_descricao ON produtos (descricao)",
]
# parents after children in id order: a load in key order meets the child first
CATEGORIAS = [(1, 3, "Bebidas quentes"), (2, 3, "Bebidas frias"), (3, None, "Bebidas"), (4, None, "Padaria")]
MARCAS = [("José", "Café do José"), ("Jose", "Jose Alimentos"), ("abc", "minúsculas"), ("ABC", "MAIÚSCULAS")]


def origin_db(make_db, engine: str, orphan: bool = False) -> str:
    url = make_db(engine)
    with get_engine(url).begin() as c:
        for stmt in DDL:
            c.exec_driver_sql(stmt)
        c.execute(sa.text("INSERT INTO categorias VALUES (:i, NULL, :n)"), [{"i": i, "n": n} for i, _, n in CATEGORIAS])
        c.execute(sa.text("UPDATE categorias SET pai_id = :p WHERE id = :i"),
                  [{"i": i, "p": p} for i, p, _ in CATEGORIAS if p])
        c.execute(sa.text("INSERT INTO marcas VALUES (:c, :n)"), [{"c": c_, "n": n} for c_, n in MARCAS])
        c.execute(sa.text("INSERT INTO produtos VALUES (:i, :c, :m, :e, :d, :q)"),
                  [{"i": i, "c": 1 + i % 4, "m": MARCAS[i % 4][0] if i % 5 else None,
                    "e": f"789{i:010d}" if i % 3 else None, "d": f"Produto {i} — ç", "q": i % 300}
                   for i in range(1, 301)])
    if orphan:    # a plain sqlite3 connection does not enforce foreign keys (ours turn them on)
        import sqlite3
        raw = sqlite3.connect(sa.make_url(url).database)
        with raw:
            raw.execute("INSERT INTO produtos VALUES (999, 77, NULL, NULL, 'órfão', 1)")
        raw.close()
    return url


def settings_for(origin: str, store: str, tmp_path):
    return parse_settings({
        "origin": {"url": origin},
        "stores": [{"id": STORE, "url": store, "cnpj": "11222333000181"}],
        "tables": [  # children first: the foreign keys decide the order, not the config
            {"name": "produtos", "direction": "receive", "key": ["id"]},
            {"name": "marcas", "direction": "receive", "key": ["codigo"]},
            {"name": "categorias", "direction": "receive", "key": ["id"]},
        ],
        "chunk_size": 100,
        "snapshots": {"root": str(tmp_path / "snapshots")},
        "dagster_home": str(tmp_path / "dagster"),
    })


def assert_declared(url: str, engine: str) -> None:
    with get_engine(url).connect() as c:
        insp = sa.inspect(c)
        fks = {(fk["constrained_columns"][0], fk["referred_table"], fk["referred_columns"][0])
               for t in ("produtos", "categorias") for fk in insp.get_foreign_keys(t)}
        assert fks == {("categoria_id", "categorias", "id"), ("marca", "marcas", "codigo"),
                       ("pai_id", "categorias", "id")}
        uniques = {tuple(ix["column_names"]) for t in ("produtos", "categorias") for ix in insp.get_indexes(t)
                   if ix["unique"]}
        uniques |= {tuple(u["column_names"]) for t in ("produtos", "categorias")
                    for u in insp.get_unique_constraints(t)}
        assert {("ean",), ("nome",)} <= uniques
        assert any(ix["column_names"] == ["descricao"] and not ix["unique"] for ix in insp.get_indexes("produtos"))
        cols = {col["name"]: col for col in insp.get_columns("produtos")}
        assert not cols["descricao"]["nullable"] and not cols["categoria_id"]["nullable"]
        assert cols["marca"]["nullable"] and cols["qtd"]["nullable"]
        assert cols["descricao"]["type"].length == 120 and cols["ean"]["type"].length == 14
        if engine != "sqlite":             # SQLite integers stay INTEGER (the rowid alias)
            assert type(cols["qtd"]["type"]).__name__.upper() in ("SMALLINT", "SMALLINTEGER")
        if engine == "mariadb":
            collation = rows(url, "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE "
                                  "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'marcas' AND COLUMN_NAME = 'codigo'")
            assert collation == [("utf8mb4_nopad_bin",)]


def assert_nothing_to_do(st) -> None:
    results = sync_all(st, STORE, directions=("receive",))
    assert set(results) == {"produtos", "marcas", "categorias"}
    assert {name: (r.inserted, r.updated, r.deleted) for name, r in results.items() if r.changed} == {}


PAIRS = [("sqlite", "sqlite"), ("sqlite", "postgresql"), ("postgresql", "mariadb"), ("mariadb", "sqlite"),
         ("mariadb", "postgresql")]


@pytest.mark.parametrize("origin_engine,store_engine", PAIRS)
def test_new_store_keeps_the_declared_schema_and_the_next_sync_writes_nothing(make_db, tmp_path, origin_engine,
                                                                              store_engine):
    st = settings_for(origin_db(make_db, origin_engine), make_db(store_engine), tmp_path)
    res = create_store_database(st, STORE)
    assert res.created[-1] == "produtos" and sorted(res.created) == ["categorias", "marcas", "produtos"]
    assert res.tables == {"categorias": 4, "marcas": 4, "produtos": 300}
    assert_declared(st.store(STORE).url, store_engine)
    assert_nothing_to_do(st)


@pytest.mark.parametrize("store_engine,target_engine", [("postgresql", "mariadb"), ("mariadb", "sqlite"),
                                                        ("sqlite", "postgresql")])
def test_restore_keeps_the_declared_schema_and_the_next_sync_writes_nothing(make_db, tmp_path, store_engine,
                                                                            target_engine):
    st = settings_for(origin_db(make_db, "sqlite"), make_db(store_engine), tmp_path)
    create_store_database(st, STORE)
    dumped = dump_store(st, STORE, "completa")
    declared = dumped.manifest.tables["produtos"].declared
    assert {fk["ref_table"] for fk in declared["foreign_keys"]} == {"categorias", "marcas"}
    target = make_db(target_engine)
    res = restore(LocalStorage(st.snapshots.root), STORE, "latest", target)
    assert res.tables == {"categorias": 4, "marcas": 4, "produtos": 300}
    assert_declared(target, target_engine)
    moved = st.model_copy(update={"stores": [st.store(STORE).model_copy(update={"url": target})]})
    assert_nothing_to_do(moved)


@pytest.mark.parametrize("store_engine", ["postgresql", "mariadb", "sqlite"])
def test_a_row_without_its_parent_fails_the_new_store_naming_the_foreign_key(make_db, tmp_path, store_engine):
    st = settings_for(origin_db(make_db, "sqlite", orphan=True), make_db(store_engine), tmp_path)
    with pytest.raises(DataError) as err:
        create_store_database(st, STORE)
    msg = str(err.value)
    assert "'produtos'" in msg and "categoria_id" in msg and "categorias" in msg and "1 linha(s)" in msg
    with get_engine(st.store(STORE).url).connect() as c:    # rolled back (MariaDB keeps the empty tables)
        assert all(rows(st.store(STORE).url, f"SELECT COUNT(*) FROM {t}")[0][0] == 0
                   for t in sa.inspect(c).get_table_names())
