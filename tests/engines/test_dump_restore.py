"""Gerar Base de Dados + Restaurar Base on real databases: full and incremental snapshots of a
store, restored value for value into SQLite, PostgreSQL and MariaDB; broken chains and occupied
targets refused before anything is written; the tables it creates per engine."""
from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import connect, get_engine
from sinc_pipeline.io.ddl import create_table
from sinc_pipeline.snapshots.dump import dump_store
from sinc_pipeline.snapshots.source import table_sources
from sinc_pipeline.io.reader import read_table, select_sql
from sinc_pipeline.snapshots.restore import RestoreError, restore
from sinc_pipeline.snapshots import COMPLETA, INCREMENTAL, LocalStorage, SnapshotError, list_snapshots
from sinc_pipeline.sync.state import get_cursor
from sinc_pipeline.core.types import arrow_type

from ..helpers import execute, rows, small_demo, sync_all
from ..pure.test_dump_restore import SCHEMA

STORE = "loja_01"
TS = dt.datetime(2026, 11, 28, 10, 15, 0, 123456)
EMOJI = "Pão de Açúcar 🎉 “aspas” | barra"


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def store_url(settings) -> str:
    return settings.store(STORE).url


def read_all(conn, name: str, schema: pa.Schema) -> pa.Table:
    """A whole table through the plain DB-API path (not the readers the dump and restore use)."""
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    return read_table(conn, select_sql(table, {c: c for c in schema.names}, schema.names, {}), schema, 10_000)


def source_state(settings) -> dict[str, pa.Table]:
    """Every configured table of the store, in canonical types, sorted by key."""
    store = settings.store(STORE)
    with connect(store.url, "teste", snapshot=True) as conn:
        return {s.name: read_all(conn, s.name, s.schema).sort_by([(k, "ascending") for k in s.key])
                for s in table_sources(settings, store, conn)}


def target_state(url: str, like: dict[str, pa.Table], keys: dict[str, list[str]]) -> dict[str, pa.Table]:
    with connect(url, "teste") as conn:
        return {name: read_all(conn, name, t.schema).sort_by([(k, "ascending") for k in keys[name]])
                for name, t in like.items()}


def keys_of(manifest) -> dict[str, list[str]]:
    return {name: entry.key for name, entry in manifest.tables.items()}


def assert_same(got: dict[str, pa.Table], want: dict[str, pa.Table]) -> None:
    assert set(got) == set(want)
    for name in want:
        assert got[name].num_rows == want[name].num_rows, name
        assert got[name].equals(want[name]), (name, got[name].to_pylist()[:3], want[name].to_pylist()[:3])


def storage_of(settings) -> LocalStorage:
    return LocalStorage(settings.snapshots.root)


def tables_in(url: str) -> list[str]:
    with get_engine(url).connect() as c:
        return sa.inspect(c).get_table_names()


@pytest.fixture
def demo(make_db, tmp_path):
    """A SQLite store after one sync, with the values that must survive a round trip, and
    ``chunk_size`` at its minimum so tables are read in several key ranges."""
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path, products=300, customers=20, sales_per_store=24)
    st = st.model_copy(update={"chunk_size": 100})
    sync_all(st, STORE)
    url = store_url(st)
    execute(url, "INSERT INTO produto (id, ean, ncm, descricao, unidade, preco_venda, ativo, atualizado_em) "
                 "VALUES (9001, NULL, '12345678', :d, 'UN', :p, 0, :t)", {"d": EMOJI, "p": Decimal("19.90"), "t": TS})
    execute(url, "INSERT INTO venda_itens (venda_id, item, produto_id, quantidade, preco_unitario, total, "
                 "atualizado_em) VALUES (1, 99, 9001, :q, :p, :tot, :t)",
            {"q": Decimal("0.001"), "p": Decimal("19.90"), "tot": Decimal("0.02"), "t": TS})
    execute(url, "INSERT INTO clientes (id, nome, cpf_cnpj, email, limite_credito, atualizado_em) "
                 "VALUES (9001, 'Conceição São João', NULL, NULL, :l, :t)", {"l": Decimal("0.01"), "t": TS})
    return st


def change_round_1(url: str) -> None:
    execute(url, "UPDATE produto SET preco_venda = :p, ativo = 1 WHERE id = 9001", {"p": Decimal("20.00")})
    execute(url, "DELETE FROM clientes WHERE id = 3")
    execute(url, "DELETE FROM produto WHERE id IN (1, 2)")              # the first key range's edge
    execute(url, "INSERT INTO produto (id, ean, ncm, descricao, unidade, preco_venda, ativo, atualizado_em) "
                 "VALUES (9500, '7890000000001', '87654321', 'Guaraná Antártica 2L', 'UN', :p, 1, :t)",
            {"p": Decimal("1234567.89"), "t": TS + dt.timedelta(hours=1)})
    execute(url, "UPDATE venda_itens SET quantidade = :q WHERE venda_id = 1 AND item = 99", {"q": Decimal("0.002")})


def change_round_2(url: str) -> None:
    execute(url, "DELETE FROM produto WHERE id = 9500")                  # the last key range's edge
    execute(url, "INSERT INTO clientes (id, nome, cpf_cnpj, email, limite_credito, atualizado_em) "
                 "VALUES (3, 'Estêvão Guimarães', '12345678909', 'estevao@exemplo.com.br', :l, :t)",
            {"l": Decimal("1500.00"), "t": TS})
    execute(url, "UPDATE lojas SET nome = 'Mercado Central — Praça da Sé' WHERE id = 1")
    execute(url, "UPDATE clientes SET email = NULL WHERE id = 5")


@pytest.fixture
def chain(demo):
    """full, incremental, incremental; with the source's state at each."""
    url = store_url(demo)
    full = dump_store(demo, STORE, "completa")
    at_full = source_state(demo)
    change_round_1(url)
    inc1 = dump_store(demo, STORE)
    at_inc1 = source_state(demo)
    change_round_2(url)
    inc2 = dump_store(demo, STORE)
    at_inc2 = source_state(demo)
    return demo, [(full, at_full), (inc1, at_inc1), (inc2, at_inc2)]


# ------------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------------
def test_chain_kinds_and_incremental_contents(chain):
    _, snaps = chain
    (full, _), (inc1, _), (inc2, _) = snaps
    assert [s.manifest.kind for s, _ in snaps] == [COMPLETA, INCREMENTAL, INCREMENTAL]
    assert inc1.manifest.parent_id == full.manifest.id and inc2.manifest.parent_id == inc1.manifest.id
    t1 = inc1.manifest.tables
    # produto: 9001 updated, 9500 inserted, 1 and 2 deleted; clientes: 3 deleted; one item updated
    assert (t1["produto"].rows, t1["clientes"].rows, t1["venda_itens"].rows, t1["lojas"].rows) == (4, 1, 1, 0)
    ops = inc1.previews["produto"]
    assert set(ops.column_names) >= {"id", "_operacao"}
    t2 = inc2.manifest.tables
    assert (t2["produto"].rows, t2["clientes"].rows, t2["lojas"].rows, t2["vendas"].rows) == (1, 2, 1, 0)
    # the manifest's cursors are the store's sinc_estado rows and the origin's send rows
    cur = full.manifest.cursors
    assert {(r["tabela"], r["direcao"]) for r in cur["loja"]} == {("produtos", "receive")}
    assert {(r["tabela"], r["direcao"]) for r in cur["origem"]} == {
        ("vendas", "send"), ("venda_itens", "send"), ("documentos_fiscais", "send")}


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_restore_latest_equals_source_value_for_value(chain, make_db, engine):
    demo, snaps = chain
    last, want = snaps[-1]
    target = make_db(engine)
    res = restore(storage_of(demo), STORE, "latest", target)
    assert res.snapshot_id == last.manifest.id and len(res.chain) == 3
    assert sorted(res.created) == sorted(want)
    assert_same(target_state(target, want, keys_of(last.manifest)), want)
    # spot checks straight from the target's driver
    prod = rows(target, "SELECT preco_venda, ativo, descricao, ean, atualizado_em FROM produto WHERE id = 9001")[0]
    assert Decimal(str(prod[0])) == Decimal("20.00") and bool(prod[1]) is True
    assert prod[2] == EMOJI and prod[3] is None
    assert str(prod[4]).replace("T", " ").startswith("2026-11-28 10:15:00.123456")
    qty = rows(target, "SELECT quantidade FROM venda_itens WHERE venda_id = 1 AND item = 99")[0][0]
    assert Decimal(str(qty)) == Decimal("0.002")
    assert rows(target, "SELECT COUNT(*) FROM produto WHERE id IN (1, 2, 9500)")[0][0] == 0
    if engine == "postgresql":       # exact types on a typed engine
        assert prod[0] == Decimal("20.00") and isinstance(prod[4], dt.datetime) and prod[4].microsecond == 123456
    # the restored store keeps its sync position
    with connect(store_url(demo), "teste") as src, connect(target, "teste") as tgt:
        assert get_cursor(tgt, STORE, "produtos", "receive") == get_cursor(src, STORE, "produtos", "receive")
        assert get_cursor(tgt, STORE, "produtos", "receive") is not None


@pytest.mark.parametrize("index", [0, 1])
def test_restore_an_earlier_snapshot_by_id(chain, make_db, index):
    demo, snaps = chain
    snap, want = snaps[index]
    target = make_db("postgresql" if index else "sqlite")
    res = restore(storage_of(demo), STORE, snap.manifest.id, target)
    assert res.chain[-1] == snap.manifest.id and len(res.chain) == index + 1
    assert_same(target_state(target, want, keys_of(snap.manifest)), want)
    if index == 0:
        price = rows(target, "SELECT preco_venda FROM produto WHERE id = 9001")[0][0]
        assert Decimal(str(price)) == Decimal("19.90")
        assert rows(target, "SELECT COUNT(*) FROM produto WHERE id = 9500")[0][0] == 0


@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_store_on_a_server_engine_dumps_and_migrates_to_sqlite(make_db, tmp_path, engine):
    st = small_demo(make_db, "sqlite", engine, tmp_path, products=250, customers=20, sales_per_store=24)
    st = st.model_copy(update={"chunk_size": 100})
    sync_all(st, STORE)
    full = dump_store(st, STORE)
    execute(store_url(st), "UPDATE produto SET preco_venda = :p WHERE id = 7", {"p": Decimal("0.01")})
    execute(store_url(st), "DELETE FROM clientes WHERE id = 5")     # loja_01's customers are the odd ids
    inc = dump_store(st, STORE)
    assert full.manifest.kind == COMPLETA and full.manifest.source_engine == engine
    assert inc.manifest.tables["produto"].rows == 1 and inc.manifest.tables["clientes"].rows == 1
    want = source_state(st)
    target = make_db("sqlite")
    restore(storage_of(st), STORE, "latest", target)
    assert_same(target_state(target, want, keys_of(inc.manifest)), want)


def test_nothing_changed_gives_a_small_empty_incremental(demo):
    full = dump_store(demo, STORE)
    again = dump_store(demo, STORE)
    assert full.manifest.kind == COMPLETA and again.manifest.kind == INCREMENTAL
    assert all(t.rows == 0 for t in again.manifest.tables.values())
    assert all(t.bytes < 4096 for t in again.manifest.tables.values())
    full_bytes = sum(t.bytes for t in full.manifest.tables.values())
    assert sum(t.bytes for t in again.manifest.tables.values()) < full_bytes / 2
    assert again.previews == {}


# ------------------------------------------------------------------------------------------------
# Refusals
# ------------------------------------------------------------------------------------------------
def _break_missing(storage, snaps):
    m = snaps[1][0].manifest
    path = storage.root / STORE / m.id / "produto.parquet"
    path.unlink()
    return path


def _break_altered(storage, snaps):
    m = snaps[1][0].manifest
    path = storage.root / STORE / m.id / "clientes.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _break_foreign(storage, snaps):
    m0, m2 = snaps[0][0].manifest, snaps[2][0].manifest
    path = storage.root / STORE / m2.id / "lojas.parquet"
    shutil.copy(storage.root / STORE / m0.id / "lojas.parquet", path)
    return path


@pytest.mark.parametrize("breaker", [_break_missing, _break_altered, _break_foreign])
def test_broken_chain_refused_naming_the_file_before_anything_is_written(chain, make_db, breaker):
    demo, snaps = chain
    storage = storage_of(demo)
    path = breaker(storage, snaps)
    target = make_db("sqlite")
    with pytest.raises(SnapshotError) as err:
        restore(storage, STORE, "latest", target)
    assert str(path) in str(err.value) and "nada foi aplicado" in str(err.value)
    assert tables_in(target) == []


def test_occupied_target_refused_unless_replace(chain, make_db):
    demo, snaps = chain
    last, want = snaps[-1]
    target = make_db("postgresql")
    restore(storage_of(demo), STORE, "latest", target)
    execute(target, "INSERT INTO lojas (id, nome, cnpj, cidade, uf) VALUES (77, 'Intrusa', '1', 'X', 'SP')")
    execute(target, "UPDATE produto SET preco_venda = 0 WHERE id = 9001")
    execute(target, "INSERT INTO sinc_estado (loja, tabela, direcao, cursor_valor, cursor_tipo) "
                    "VALUES ('loja_01', 'clientes', 'receive', '2099-01-01T00:00:00', 'datetime')")
    with pytest.raises(RestoreError) as err:
        restore(storage_of(demo), STORE, "latest", target)
    msg = str(err.value)
    assert "não está vazio" in msg and "'lojas' (3 linhas)" in msg and "substituir" in msg
    assert "postgres@127.0.0.1" in msg
    assert rows(target, "SELECT COUNT(*) FROM lojas")[0][0] == 3              # untouched
    res = restore(storage_of(demo), STORE, "latest", target, replace=True)
    assert sorted(res.replaced) == sorted(want) and res.created == []
    assert_same(target_state(target, want, keys_of(last.manifest)), want)
    # the target's cursor rows of this store are the snapshot's: a stale one is gone
    assert rows(target, "SELECT tabela, direcao FROM sinc_estado WHERE loja = 'loja_01'") == [("produtos", "receive")]


def test_replace_recreates_a_table_whose_columns_differ(chain, make_db):
    demo, snaps = chain
    last, want = snaps[-1]
    target = make_db("sqlite")
    execute(target, "CREATE TABLE produto (id INTEGER PRIMARY KEY, outra TEXT)")
    with pytest.raises(RestoreError, match=r"'produto'.*preco_venda"):
        restore(storage_of(demo), STORE, "latest", target)
    assert tables_in(target) == ["produto"]
    restore(storage_of(demo), STORE, "latest", target, replace=True)
    assert_same(target_state(target, want, keys_of(last.manifest)), want)


def test_restore_fails_loudly_when_the_target_changes_values(chain, make_db, monkeypatch):
    demo, _ = chain
    target = make_db("sqlite")
    import sinc_pipeline.snapshots.restore as restore_mod
    real = restore_mod.bulk_insert

    def lossy(conn, table, batches, columns=None):   # a target that silently drops a row
        batches = list(batches)
        if table == "clientes":
            batches[0] = batches[0].slice(1)
        return real(conn, table, batches, columns)

    monkeypatch.setattr(restore_mod, "bulk_insert", lossy)
    with pytest.raises(RestoreError, match="Conferência da restauração falhou na tabela 'clientes'"):
        restore(storage_of(demo), STORE, "latest", target)
    assert not any(rows(target, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables_in(target))


# ------------------------------------------------------------------------------------------------
# Modes and retention
# ------------------------------------------------------------------------------------------------
def test_explicit_incremental_without_a_full_snapshot_is_refused(demo):
    with pytest.raises(SnapshotError, match="modo=completa"):
        dump_store(demo, STORE, "incremental")
    with pytest.raises(SnapshotError, match="modo = 'parcial' inválido"):
        dump_store(demo, STORE, "parcial")
    assert list_snapshots(storage_of(demo), STORE) == []


def test_schema_change_makes_the_default_a_full_snapshot(demo):
    dump_store(demo, STORE)
    execute(store_url(demo), "ALTER TABLE clientes ADD COLUMN apelido TEXT")
    with pytest.raises(SnapshotError, match=r"'clientes' mudou.*apelido.*modo=completa"):
        dump_store(demo, STORE, "incremental")
    auto = dump_store(demo, STORE)
    assert auto.manifest.kind == COMPLETA and "clientes" in auto.notes[0]
    assert [c.name for c in auto.manifest.tables["clientes"].columns][-1] == "apelido"


def test_damaged_chain_makes_the_default_a_full_snapshot(demo):
    full = dump_store(demo, STORE)
    (storage_of(demo).root / STORE / full.manifest.id / "vendas.parquet").unlink()
    with pytest.raises(SnapshotError, match="vendas.parquet"):
        dump_store(demo, STORE, "incremental")
    auto = dump_store(demo, STORE)
    assert auto.manifest.kind == COMPLETA and "vendas.parquet" in auto.notes[0]


def test_retention_after_a_new_full_snapshot(demo):
    st = demo.model_copy(update={"snapshots": demo.snapshots.model_copy(update={"keep_full": 2})})
    first = dump_store(st, STORE, "completa")
    inc = dump_store(st, STORE)
    second = dump_store(st, STORE, "completa")
    assert first.deleted == [] and second.deleted == []
    third = dump_store(st, STORE, "completa")
    assert sorted(third.deleted) == sorted([first.manifest.id, inc.manifest.id])
    assert [m.id for m in list_snapshots(storage_of(st), STORE)] == [second.manifest.id, third.manifest.id]


# ------------------------------------------------------------------------------------------------
# DDL (the CREATE TABLE text per engine is checked without a database in pure/test_dump_restore.py)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_created_tables_reflect_back_to_the_same_canonical_types(make_db, engine):
    url = make_db(engine)
    with connect(url, "teste", write=True) as conn:
        create_table(conn, "produto", SCHEMA, ["id", "codigo"])
    with connect(url, "teste") as conn:
        table = sa.Table("produto", sa.MetaData(), autoload_with=conn)
        got = pa.schema([(c.name, arrow_type(c.type)) for c in table.c])
        pk = [c.name for c in table.primary_key.columns]
    assert got == SCHEMA
    assert pk == ["id", "codigo"]


# ------------------------------------------------------------------------------------------------
# The two ways an incremental is computed
# ------------------------------------------------------------------------------------------------
def test_sqlite_copy_is_kept_for_the_next_incremental(chain):
    demo, snaps = chain
    folder = storage_of(demo).root / STORE
    copies = sorted(p.name for p in folder.glob(".copia-*"))
    assert copies == [f".copia-{snaps[-1][0].manifest.id}.sqlite"]
    assert snaps[1][0].compared_by == {name: "sqlite" for name in snaps[1][0].manifest.tables}
    assert [m.id for m in list_snapshots(storage_of(demo), STORE)] == [s.manifest.id for s, _ in snaps]


def test_sqlite_and_parquet_comparisons_find_the_same_changes(demo):
    from sinc_pipeline.snapshots.delta import parquet_changes, previous_table, sqlite_changes
    from sinc_pipeline.snapshots.source import attach_previous, consistent_source
    from sinc_pipeline.snapshots import chain_for, incremental_schema
    full = dump_store(demo, STORE)
    change_round_1(store_url(demo))
    change_round_2(store_url(demo))
    storage = storage_of(demo)
    chain_ = chain_for(storage, STORE, "latest")
    store = demo.store(STORE)
    with consistent_source(demo, store) as source:
        assert attach_previous(source, storage.root / STORE, full.manifest.id)
        found = {}
        for src in table_sources(demo, store, source.conn):
            prev = previous_table(source.conn, src)
            assert prev is not None, src.name
            schema = incremental_schema(src.schema, src.key)
            a = pa.Table.from_batches(list(sqlite_changes(source.conn, src, prev, 100)), schema)
            b = pa.Table.from_batches(list(parquet_changes(source.conn, src, storage, chain_, 100)), schema)
            order = [(k, "ascending") for k in [*src.key, "_operacao"]]
            assert a.sort_by(order).equals(b.sort_by(order)), src.name
            found[src.name] = a.num_rows
    assert found["produto"] == 3 and found["clientes"] == 2 and found["lojas"] == 1 and found["vendas"] == 0


def test_without_the_copy_the_incremental_is_the_same(chain, make_db):
    demo, snaps = chain
    folder = storage_of(demo).root / STORE
    for p in folder.glob(".copia-*"):
        p.unlink()
    execute(store_url(demo), "UPDATE clientes SET nome = 'Graça Falcão' WHERE id = 9001")
    inc = dump_store(demo, STORE)
    assert inc.compared_by["clientes"] == "parquet" and inc.manifest.tables["clientes"].rows == 1
    assert sum(t.rows for t in inc.manifest.tables.values()) == 1
    assert list(folder.glob(".copia-*")) == [folder / f".copia-{inc.manifest.id}.sqlite"]
    want = source_state(demo)
    target = make_db("sqlite")
    restore(storage_of(demo), STORE, "latest", target)
    assert_same(target_state(target, want, keys_of(inc.manifest)), want)


def test_sqlite_comparison_is_byte_for_byte(make_db, tmp_path):
    """NOCASE columns, numbers stored as text or real, NULL vs empty: SQLite's comparison of the
    two copies must see what the Parquet comparison sees."""
    from sinc_pipeline.settings import parse_settings
    url = make_db("sqlite")
    execute(url, "CREATE TABLE codigos (cod TEXT COLLATE NOCASE PRIMARY KEY NOT NULL, nome TEXT COLLATE NOCASE, "
                 "valor NUMERIC(10, 2), obs TEXT)")
    execute(url, "INSERT INTO codigos VALUES ('ABC', 'Maçã', 1.5, ''), ('xyz', 'pera', 2, NULL), "
                 "('k1', 'uva', 3, NULL)")
    st = parse_settings({"origin": {"url": make_db("sqlite")},
                         "stores": [{"id": STORE, "url": url, "cnpj": "11222333000181"}],
                         "tables": [{"name": "codigos", "direction": "receive", "key": ["cod"]}],
                         "snapshots": {"root": str(tmp_path / "snaps")}, "dagster_home": str(tmp_path / "dg")})
    dump_store(st, STORE)
    execute(url, "UPDATE codigos SET nome = 'PERA' WHERE cod = 'xyz'")      # case only, under NOCASE
    execute(url, "UPDATE codigos SET obs = '' WHERE cod = 'k1'")            # NULL -> empty text
    execute(url, "UPDATE codigos SET cod = 'abc' WHERE cod = 'ABC'")        # the key's case
    inc = dump_store(st, STORE)
    assert inc.compared_by == {"codigos": "sqlite"}
    t = pq_read(st, inc.manifest, "codigos")
    got = sorted(zip(t["cod"].to_pylist(), t["_operacao"].to_pylist(), t["nome"].to_pylist(), t["obs"].to_pylist()))
    assert got == [("ABC", "delete", None, None), ("abc", "upsert", "Maçã", ""), ("k1", "upsert", "uva", ""),
                   ("xyz", "upsert", "PERA", None)]
    quiet = dump_store(st, STORE)
    assert quiet.manifest.tables["codigos"].rows == 0


def pq_read(settings, manifest, table):
    from sinc_pipeline.snapshots import read_snapshot_table
    return read_snapshot_table(storage_of(settings), manifest, table)


def test_a_target_table_that_rejects_values_is_named(chain, make_db):
    demo, snaps = chain
    target = make_db("postgresql")
    cols = ", ".join(f"{c.name} TEXT" for c in snaps[-1][0].manifest.tables["lojas"].columns)
    execute(target, f"CREATE TABLE lojas ({cols.replace('uf TEXT', 'uf VARCHAR(1)')})")
    with pytest.raises(RestoreError) as err:
        restore(storage_of(demo), STORE, "latest", target)
    msg = str(err.value)
    assert "'lojas'" in msg and "postgres@127.0.0.1" in msg and "Nada foi gravado" in msg
    assert tables_in(target) == ["lojas"]            # PostgreSQL rolled the created tables back too



@pytest.mark.parametrize("case", ["self_parent", "checksum", "cursor_2099"])
def test_an_untrustworthy_manifest_is_refused_before_anything_is_written(make_db, tmp_path, case):
    import json

    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    sync_all(st, STORE)
    dump_store(st, STORE, "completa")
    execute(store_url(st), "DELETE FROM clientes WHERE id = 5")     # one of loja_01's (odd ids)
    inc = dump_store(st, STORE).manifest
    path = storage_of(st).root / STORE / inc.id / "manifest.json"
    raw = json.loads(path.read_text("utf-8"))
    if case == "self_parent":
        raw["parent_id"] = inc.id
    elif case == "checksum":
        raw["tables"]["produto"]["checksum"] = "f" * 32
    else:
        raw["cursors"]["loja"][0]["cursor_valor"] = "2099-01-01T00:00:00"
    path.write_text(json.dumps(raw), "utf-8")
    target = make_db("postgresql")
    with pytest.raises(SnapshotError) as err:
        restore(storage_of(st), STORE, "latest", target)
    words = {"self_parent": "parent_id", "checksum": "checksum do conteúdo", "cursor_2099": "2099"}[case]
    assert words in str(err.value)
    assert tables_in(target) == []                        # nothing was written
