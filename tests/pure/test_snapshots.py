"""Snapshots ("Gerar Base de Dados"): write, chain, verify, materialize, retention, checksums."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sinc_pipeline import snapshots as snap
from sinc_pipeline.snapshots import (
    COMPLETA, DELETE, INCREMENTAL, OPERACAO, UPSERT, LocalStorage, SnapshotError, SnapshotWriter,
    apply_incremental, apply_retention, chain_for, incremental_changes, latest, list_snapshots,
    load_manifest, materialize_chain, resolve, table_checksum, verify_chain,
)

STORE = "loja01"
PROD_SCHEMA = pa.schema([
    ("id", pa.int64()), ("nome", pa.string()), ("preco", pa.decimal128(10, 2)),
    ("ativo", pa.bool_()), ("atualizado", pa.timestamp("us")),
])
EST_SCHEMA = pa.schema([("loja_id", pa.int32()), ("produto_id", pa.int64()), ("qtd", pa.decimal128(12, 3))])
T0 = dt.datetime(2026, 11, 28, 10, 15, 0, 123456)


def produtos(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(PROD_SCHEMA.names, r)) for r in rows], schema=PROD_SCHEMA)


def estoque(rows: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(EST_SCHEMA.names, r)) for r in rows], schema=EST_SCHEMA)


def batches(table: pa.Table, size: int = 2):
    """A one-shot generator of small record batches (the way the readers deliver data)."""
    yield from table.to_batches(max_chunksize=size)


PROD0 = produtos([
    (1, "Café torrado", Decimal("19.90"), True, T0),
    (2, "Açúcar", Decimal("4.50"), True, T0),
    (3, "Pão de queijo", Decimal("12.00"), False, None),
])
EST0 = estoque([(1, 1, Decimal("10.000")), (1, 2, Decimal("0.001")), (2, 1, Decimal("5.500"))])
# 1st incremental: insert 4, update 2 (price), delete 3; estoque: update (1,2), delete (2,1)
PROD1 = produtos([
    (1, "Café torrado", Decimal("19.90"), True, T0),
    (2, "Açúcar", Decimal("4.75"), True, T0 + dt.timedelta(hours=1)),
    (4, "Guaraná 🥤", Decimal("1234567.89"), None, T0),
])
EST1 = estoque([(1, 1, Decimal("10.000")), (1, 2, Decimal("3.250")), (2, 2, Decimal("1.000"))])
# 2nd incremental: delete 1, re-insert 3, update 4 (name, null price)
PROD2 = produtos([
    (2, "Açúcar", Decimal("4.75"), True, T0 + dt.timedelta(hours=1)),
    (3, "Pão de queijo", Decimal("12.50"), True, T0),
    (4, "Guaraná Antártica 🥤", None, None, T0),
])
EST2 = EST1


def write_full(storage, store=STORE, prod=PROD0, est=EST0):
    with SnapshotWriter(storage, store, kind=COMPLETA, source_engine="sqlite", cursors={"produtos": "0"}) as w:
        w.write_table("produtos", batches(prod), prod.schema, key=["id"])
        w.write_table("estoque", batches(est), est.schema, key=["loja_id", "produto_id"])
    return w.result


def write_incr(storage, parent, prev, cur, store=STORE):
    (p_prev, e_prev), (p_cur, e_cur) = prev, cur
    with SnapshotWriter(storage, store, kind=INCREMENTAL, parent_id=parent.id, source_engine="sqlite",
                        cursors={"produtos": "1"}) as w:
        dp = incremental_changes(p_prev, p_cur, ["id"])
        de = incremental_changes(e_prev, e_cur, ["loja_id", "produto_id"])
        w.write_table("produtos", batches(dp), dp.schema, key=["id"])
        w.write_table("estoque", batches(de), de.schema, key=["loja_id", "produto_id"])
    return w.result


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "snapshots")


@pytest.fixture
def chain3(storage):
    full = write_full(storage)
    inc1 = write_incr(storage, full, (PROD0, EST0), (PROD1, EST1))
    inc2 = write_incr(storage, inc1, (PROD1, EST1), (PROD2, EST2))
    return full, inc1, inc2


def sorted_by(table: pa.Table, key: list[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in key]).combine_chunks()


# ------------------------------------------------------------------------------------------------
# Writing, chains, materialization
# ------------------------------------------------------------------------------------------------
def test_full_plus_two_incrementals_materialize_to_expected_state(storage, chain3):
    full, inc1, inc2 = chain3
    chain = chain_for(storage, STORE, "latest")
    assert [m.id for m in chain] == [full.id, inc1.id, inc2.id]
    verify_chain(storage, chain)

    got = materialize_chain(storage, chain, "produtos")
    assert got.schema == PROD_SCHEMA
    assert got.equals(sorted_by(PROD2, ["id"]))
    got_est = materialize_chain(storage, chain, "estoque")
    assert got_est.equals(sorted_by(EST2, ["loja_id", "produto_id"]))

    middle = materialize_chain(storage, chain_for(storage, STORE, inc1.id), "produtos")
    assert middle.equals(sorted_by(PROD1, ["id"]))
    first = materialize_chain(storage, chain_for(storage, STORE, full.id), "produtos")
    assert first.equals(sorted_by(PROD0, ["id"]))
    # the live table and the restored one compare equal by content checksum
    assert table_checksum(got) == table_checksum(PROD2)


def test_incremental_files_hold_only_the_changes(storage, chain3):
    _, inc1, _ = chain3
    entry = inc1.tables["produtos"]
    assert entry.rows == 3 and entry.columns[-1].name == OPERACAO
    t = pq.read_table(storage.describe(STORE, inc1.id, entry.file))
    ops = dict(zip(t["id"].to_pylist(), t[OPERACAO].to_pylist()))
    assert ops == {4: UPSERT, 2: UPSERT, 3: DELETE}
    deleted = t.filter(pa.compute.equal(t[OPERACAO], DELETE)).to_pylist()[0]
    assert deleted["nome"] is None and deleted["preco"] is None      # delete rows carry only the key
    assert entry.checksum == table_checksum(t)[1]


def test_nothing_changed_writes_a_small_empty_incremental(storage):
    full = write_full(storage)
    inc = write_incr(storage, full, (PROD0, EST0), (PROD0, EST0))
    assert inc.tables["produtos"].rows == 0 and inc.tables["estoque"].rows == 0
    assert storage.exists(STORE, inc.id, "produtos.parquet")
    got = materialize_chain(storage, chain_for(storage, STORE, inc.id), "produtos")
    assert got.equals(sorted_by(PROD0, ["id"]))


def test_incremental_changes_then_apply_gives_current(storage):
    changes = incremental_changes(PROD1, PROD2, ["id"])
    assert changes.schema.names == PROD_SCHEMA.names + [OPERACAO]
    assert sorted(zip(changes["id"].to_pylist(), changes[OPERACAO].to_pylist())) == [
        (1, DELETE), (3, UPSERT), (4, UPSERT)]
    assert sorted_by(apply_incremental(PROD1, changes, ["id"]), ["id"]).equals(sorted_by(PROD2, ["id"]))
    assert incremental_changes(PROD2, PROD2, ["id"]).num_rows == 0
    # rows differing only by NULL vs value are a change; NULL vs NULL is not
    a = produtos([(1, "x", None, None, None)])
    b = produtos([(1, "x", Decimal("0.00"), None, None)])
    assert incremental_changes(a, a, ["id"]).num_rows == 0
    assert incremental_changes(a, b, ["id"]).num_rows == 1


def test_apply_incremental_refuses_bad_operation():
    bad = incremental_changes(PROD0, PROD1, ["id"])
    bad = bad.set_column(bad.schema.get_field_index(OPERACAO), OPERACAO,
                         pa.array(["upsert", "remove", "delete"]))
    with pytest.raises(SnapshotError, match="remove"):
        apply_incremental(PROD0, bad, ["id"])


def test_manifest_contents_and_roundtrip(storage):
    full = write_full(storage)
    raw = json.loads((storage.root / STORE / full.id / "manifest.json").read_text("utf-8"))
    assert raw["id"] == full.id and raw["kind"] == "completa" and raw["parent_id"] is None
    assert raw["store"] == STORE and raw["source_engine"] == "sqlite" and raw["cursors"] == {"produtos": "0"}
    assert dt.datetime.fromisoformat(raw["created_at"]).utcoffset() == dt.timedelta(0)
    t = raw["tables"]["produtos"]
    assert t["rows"] == 3 and t["key"] == ["id"] and t["file"] == "produtos.parquet"
    assert {"name": "preco", "type": "decimal128(10, 2)"} in t["columns"]
    assert t["bytes"] == (storage.root / STORE / full.id / "produtos.parquet").stat().st_size
    assert t["checksum"] == table_checksum(PROD0)[1]
    assert re.fullmatch(r"[0-9a-f]{64}", t["sha256"])
    assert load_manifest(storage, STORE, full.id) == full


def test_snapshot_ids_are_unique_and_chronological(storage):
    ids = [write_full(storage).id for _ in range(5)]
    assert len(set(ids)) == 5 and ids == sorted(ids)
    assert all(re.fullmatch(r"\d{8}T\d{12}Z-completa", i) for i in ids)
    assert [m.id for m in list_snapshots(storage, STORE)] == ids
    inc = write_incr(storage, list_snapshots(storage, STORE)[-1], (PROD0, EST0), (PROD1, EST1))
    assert inc.id.endswith("Z-incremental") and inc.id > ids[-1]
    assert latest(storage, STORE).id == inc.id
    assert latest(storage, STORE, kind=COMPLETA).id == ids[-1]
    assert resolve(storage, STORE, "latest").id == inc.id
    assert resolve(storage, STORE, ids[0]).id == ids[0]


def test_resolve_errors(storage):
    with pytest.raises(SnapshotError, match="Nenhum snapshot da loja 'loja01'"):
        resolve(storage, STORE, "latest")
    write_full(storage)
    with pytest.raises(SnapshotError, match="20000101T000000000000Z-completa.*não encontrado"):
        resolve(storage, STORE, "20000101T000000000000Z-completa")
    with pytest.raises(SnapshotError, match="inválido"):
        resolve(storage, STORE, "ontem")


def test_row_groups_are_written_chunk_by_chunk(storage):
    big = produtos([(i, f"p{i}", Decimal(i), True, T0) for i in range(5)])
    with SnapshotWriter(storage, STORE, kind=COMPLETA, row_group_rows=2) as w:
        w.write_table("produtos", batches(big, 1), PROD_SCHEMA, key=["id"])
    f = pq.ParquetFile(storage.describe(STORE, w.result.id, "produtos.parquet"))
    assert f.metadata.num_row_groups == 3 and f.metadata.num_rows == 5


def test_incremental_must_keep_tables_and_schema(storage):
    full = write_full(storage)
    with pytest.raises(SnapshotError, match="faltam \\['estoque'\\]"):
        with SnapshotWriter(storage, STORE, kind=INCREMENTAL, parent_id=full.id) as w:
            dp = incremental_changes(PROD0, PROD1, ["id"])
            w.write_table("produtos", dp, dp.schema, key=["id"])
    changed = PROD0.cast(PROD_SCHEMA.set(2, pa.field("preco", pa.decimal128(12, 2))))
    with pytest.raises(SnapshotError, match="mudou desde o snapshot pai"):
        with SnapshotWriter(storage, STORE, kind=INCREMENTAL, parent_id=full.id) as w:
            dp = incremental_changes(changed, changed, ["id"])
            w.write_table("produtos", dp, dp.schema, key=["id"])
    with pytest.raises(SnapshotError, match="sem a coluna '_operacao'"):
        with SnapshotWriter(storage, STORE, kind=INCREMENTAL, parent_id=full.id) as w:
            w.write_table("produtos", PROD1, PROD_SCHEMA, key=["id"])
    assert [m.id for m in list_snapshots(storage, STORE)] == [full.id]


# ------------------------------------------------------------------------------------------------
# Atomicity
# ------------------------------------------------------------------------------------------------
def test_exception_inside_with_leaves_no_snapshot(storage):
    with pytest.raises(RuntimeError, match="falha simulada"):
        with SnapshotWriter(storage, STORE, kind=COMPLETA) as w:
            w.write_table("produtos", batches(PROD0), PROD_SCHEMA, key=["id"])
            raise RuntimeError("falha simulada")
    assert w.result is None
    assert list_snapshots(storage, STORE) == []
    assert list((storage.root / STORE).iterdir()) == []


def test_exception_in_the_middle_of_a_table_leaves_no_snapshot(storage):
    def failing():
        yield PROD0.to_batches()[0]
        raise ConnectionError("conexão caiu")

    with pytest.raises(ConnectionError):
        with SnapshotWriter(storage, STORE, kind=COMPLETA) as w:
            w.write_table("produtos", failing(), PROD_SCHEMA, key=["id"])
    assert list((storage.root / STORE).iterdir()) == []


def test_failed_write_table_swallowed_inside_with_still_publishes_nothing(storage):
    with pytest.raises(SnapshotError, match="não publicado"):
        with SnapshotWriter(storage, STORE, kind=COMPLETA) as w:
            try:
                w.write_table("produtos", [EST0.to_batches()[0]], PROD_SCHEMA, key=["id"])
            except SnapshotError:
                pass
    assert list_snapshots(storage, STORE) == []


def test_crash_leftovers_are_ignored_by_listing_and_cleaned_by_next_write(storage):
    full = write_full(storage)
    crashed = storage.root / STORE / ".tmp-20261128T000000000000Z-completa-dead"
    crashed.mkdir()
    (crashed / "produtos.parquet").write_bytes(b"meio arquivo")
    assert [m.id for m in list_snapshots(storage, STORE)] == [full.id]
    assert storage.list_temp_dirs(STORE) == [crashed.name]
    write_full(storage)
    assert not crashed.exists() and storage.list_temp_dirs(STORE) == []
    assert len(list_snapshots(storage, STORE)) == 2


# ------------------------------------------------------------------------------------------------
# Verification: altered, missing, foreign
# ------------------------------------------------------------------------------------------------
def test_altered_file_is_refused_naming_it(storage, chain3):
    _, inc1, _ = chain3
    path = storage.root / STORE / inc1.id / "produtos.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    chain = chain_for(storage, STORE, "latest")
    with pytest.raises(SnapshotError) as err:
        verify_chain(storage, chain)
    assert str(path) in str(err.value) and "sha256" in str(err.value)
    assert len(err.value.problems) == 1
    with pytest.raises(SnapshotError, match=re.escape(str(path))):
        materialize_chain(storage, chain, "produtos")
    # the other table's chain is intact and still restores
    assert materialize_chain(storage, chain, "estoque").equals(sorted_by(EST2, ["loja_id", "produto_id"]))


def test_missing_file_is_refused_naming_it(storage, chain3):
    full, _, _ = chain3
    path = storage.root / STORE / full.id / "estoque.parquet"
    path.unlink()
    with pytest.raises(SnapshotError) as err:
        verify_chain(storage, chain_for(storage, STORE, "latest"))
    assert str(path) in str(err.value) and "ausente" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_foreign_manifest_is_refused_naming_it(storage):
    mine = write_full(storage)
    other = write_full(storage, store="loja02")
    target = storage.root / STORE / mine.id / "manifest.json"
    shutil.copy(storage.root / "loja02" / other.id / "manifest.json", target)
    with pytest.raises(SnapshotError) as err:
        chain_for(storage, STORE, mine.id)
    assert str(target) in str(err.value) and "estrangeiro" in str(err.value) and "loja02" in str(err.value)


def test_foreign_parquet_is_refused_even_with_matching_sha(storage):
    mine = write_full(storage)
    other = write_full(storage, store="loja02")
    target = storage.root / STORE / mine.id / "produtos.parquet"
    shutil.copy(storage.root / "loja02" / other.id / "produtos.parquet", target)
    with pytest.raises(SnapshotError, match=r"estrangeiro: pertence à loja 'loja02'") as err:
        verify_chain(storage, chain_for(storage, STORE, mine.id))
    assert str(target) in str(err.value)
    # someone also "fixes" the manifest's sha256: still refused, by the file's own origin stamp
    mpath = storage.root / STORE / mine.id / "manifest.json"
    raw = json.loads(mpath.read_text("utf-8"))
    raw["tables"]["produtos"]["sha256"] = other.tables["produtos"].sha256
    mpath.write_text(json.dumps(raw), "utf-8")
    chain = chain_for(storage, STORE, mine.id)
    with pytest.raises(SnapshotError, match="estrangeiro"):
        verify_chain(storage, chain)
    with pytest.raises(SnapshotError, match="estrangeiro"):
        materialize_chain(storage, chain, "produtos")


def test_missing_parent_breaks_the_chain(storage, chain3):
    full, _, inc2 = chain3
    shutil.rmtree(storage.root / STORE / full.id)
    with pytest.raises(SnapshotError, match=f"pai '{full.id}'.*não encontrado"):
        chain_for(storage, STORE, inc2.id)


def test_inconsistent_chain_is_refused(storage, chain3):
    full, inc1, inc2 = chain3
    with pytest.raises(SnapshotError, match="parent_id"):
        verify_chain(storage, [full, inc2])
    with pytest.raises(SnapshotError, match="não é um snapshot completo"):
        materialize_chain(storage, [inc1, inc2], "produtos")


def test_corrupt_manifest_names_file_and_field(storage):
    full = write_full(storage)
    mpath = storage.root / STORE / full.id / "manifest.json"
    raw = json.loads(mpath.read_text("utf-8"))
    raw["tables"]["produtos"]["rows"] = "três"
    mpath.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(SnapshotError, match=r"tables\.produtos\.rows.*'três'") as err:
        load_manifest(storage, STORE, full.id)
    assert str(mpath) in str(err.value)


# ------------------------------------------------------------------------------------------------
# Retention
# ------------------------------------------------------------------------------------------------
def test_retention_keeps_newest_full_chains(storage):
    ids = []
    for n_incr in (1, 2, 1):                              # three chains
        full = write_full(storage)
        ids.append([full.id])
        parent = full
        for _ in range(n_incr):
            parent = write_incr(storage, parent, (PROD0, EST0), (PROD1, EST1))
            ids[-1].append(parent.id)
    deleted = apply_retention(storage, STORE, keep_full=2)
    assert deleted == ids[0]
    assert [m.id for m in list_snapshots(storage, STORE)] == ids[1] + ids[2]
    assert not (storage.root / STORE / ids[0][0]).exists()
    assert storage.list_temp_dirs(STORE) == []
    # the kept chains still verify and restore
    chain = chain_for(storage, STORE, ids[1][-1])
    verify_chain(storage, chain)
    assert materialize_chain(storage, chain, "produtos").num_rows == PROD1.num_rows
    assert apply_retention(storage, STORE, keep_full=2) == []
    assert apply_retention(storage, STORE, keep_full=1) == ids[1]
    with pytest.raises(SnapshotError, match="keep_full"):
        apply_retention(storage, STORE, keep_full=0)


# ------------------------------------------------------------------------------------------------
# Checksum
# ------------------------------------------------------------------------------------------------
def test_checksum_ignores_row_order_and_batching():
    rows, cs = table_checksum(PROD2)
    shuffled = PROD2.take([2, 0, 1])
    assert rows == 3
    assert table_checksum(shuffled) == (3, cs)
    assert table_checksum(batches(shuffled, 1)) == (3, cs)
    assert re.fullmatch(r"[0-9a-f]{16}", cs)


def test_checksum_sensitive_to_one_cent_and_to_null():
    base = produtos([(1, "Café", Decimal("19.90"), True, T0), (2, "Chá", Decimal("5.00"), True, T0)])
    cent = produtos([(1, "Café", Decimal("19.91"), True, T0), (2, "Chá", Decimal("5.00"), True, T0)])
    empty = produtos([(1, "", Decimal("19.90"), True, T0), (2, "Chá", Decimal("5.00"), True, T0)])
    null = produtos([(1, None, Decimal("19.90"), True, T0), (2, "Chá", Decimal("5.00"), True, T0)])
    sums = {table_checksum(t)[1] for t in (base, cent, empty, null)}
    assert len(sums) == 4


# ------------------------------------------------------------------------------------------------
# Exact types survive the Parquet round trip
# ------------------------------------------------------------------------------------------------
def test_exact_types_round_trip(storage):
    schema = pa.schema([
        pa.field("id", pa.int64(), nullable=False),
        ("preco", pa.decimal128(10, 2)), ("fator", pa.decimal128(12, 3)),
        ("quando", pa.timestamp("us")), ("quando_utc", pa.timestamp("us", tz="UTC")),
        ("dia", pa.date32()), ("texto", pa.string()), ("ativo", pa.bool_()),
        ("foto", pa.binary()), ("peso", pa.float64()),
    ], metadata={"origem": "teste"})
    rows = [
        (1, Decimal("19.90"), Decimal("0.001"), T0, dt.datetime(2026, 1, 1, 3, tzinfo=dt.timezone.utc),
         dt.date(2026, 2, 28), "Açaí com paçoca — ñ 😀", True, b"\x00\xff\x10", 1.5),
        (2, Decimal("1234567.89"), Decimal("-999999999.999"), dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
         None, None, "", False, b"", None),
        (3, None, None, None, None, None, None, None, None, None),
    ]
    table = pa.Table.from_pylist([dict(zip(schema.names, r)) for r in rows], schema=schema)
    with SnapshotWriter(storage, STORE, kind=COMPLETA) as w:
        w.write_table("tipos", batches(table), schema, key=["id"])
    got = materialize_chain(storage, chain_for(storage, STORE, w.result.id), "tipos")
    assert got.schema.equals(schema, check_metadata=True)
    assert got.equals(table)
    assert got.to_pylist() == table.to_pylist()
    assert [str(v) for v in got["preco"].to_pylist()[:2]] == ["19.90", "1234567.89"]
    assert str(got["fator"][0].as_py()) == "0.001"
    assert got["texto"][0].as_py() == "Açaí com paçoca — ñ 😀"
    assert got["foto"][0].as_py() == b"\x00\xff\x10"
    types = {c.name: c.type for c in w.result.tables["tipos"].columns}
    assert types["preco"] == "decimal128(10, 2)" and types["quando_utc"] == "timestamp[us, tz=UTC]"
    assert w.result.tables["tipos"].checksum == table_checksum(got)[1]


def test_retention_also_drops_late_incrementals_of_old_chains(storage):
    old = write_full(storage)
    mid = write_full(storage)
    late = write_incr(storage, old, (PROD0, EST0), (PROD1, EST1))   # branch on the old chain, newer than `mid`
    new = write_full(storage)
    assert late.id > mid.id
    assert apply_retention(storage, STORE, keep_full=2) == [old.id, late.id]
    assert [m.id for m in list_snapshots(storage, STORE)] == [mid.id, new.id]


def test_manifest_changed_after_loading_is_refused(storage, chain3):
    chain = chain_for(storage, STORE, "latest")
    mpath = storage.root / STORE / chain[1].id / "manifest.json"
    raw = json.loads(mpath.read_text("utf-8"))
    raw["cursors"] = {"produtos": "999"}
    mpath.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(SnapshotError, match="manifesto mudou") as err:
        verify_chain(storage, chain)
    assert str(mpath) in str(err.value)


def test_snapshot_table_schema_reads_only_the_footer(storage, chain3):
    full, inc1, _ = chain3
    assert snap.snapshot_table_schema(storage, full, "produtos") == PROD_SCHEMA
    assert snap.snapshot_table_schema(storage, full, "produtos").metadata in (None, {})
    assert snap.snapshot_table_schema(storage, inc1, "produtos").names == PROD_SCHEMA.names + [OPERACAO]
    with pytest.raises(SnapshotError, match="'clientes' não está no snapshot"):
        snap.snapshot_table_schema(storage, full, "clientes")


# ------------------------------------------------------------------------------------------------
# The chain's structure and every manifest field a restore trusts
# ------------------------------------------------------------------------------------------------
def edit_manifest(storage, m, change) -> None:
    path = storage.root / STORE / m.id / "manifest.json"
    raw = json.loads(path.read_text("utf-8"))
    change(raw)
    path.write_text(json.dumps(raw), "utf-8")


@pytest.mark.parametrize("case", ["self", "loop", "gap"])
def test_a_chain_with_a_loop_or_a_gap_is_refused(storage, chain3, case):
    full, inc1, inc2 = chain3
    parent = {"self": inc2.id, "loop": inc2.id, "gap": "20260101T000000000000Z-incremental"}[case]
    edit_manifest(storage, inc2 if case == "self" else inc1, lambda raw: raw.update(parent_id=parent))
    if case == "gap":
        edit_manifest(storage, inc2, lambda raw: raw.update(parent_id=parent))
    with pytest.raises(SnapshotError, match="parent_id|quebrada|anterior") as err:
        chain_for(storage, STORE, inc2.id)
    assert parent in str(err.value)
    # a hand-made chain with a loop is refused by verify_chain as well
    with pytest.raises(SnapshotError, match="laço|parent_id"):
        verify_chain(storage, [full, inc1, inc1])


def test_an_edited_checksum_or_row_count_is_refused_when_contents_are_verified(storage, chain3):
    full, _, _ = chain3
    edit_manifest(storage, full, lambda raw: raw["tables"]["produtos"].update(checksum="0" * 32))
    chain = chain_for(storage, STORE, "latest")
    verify_chain(storage, chain)                       # sha256 and links alone cannot see it
    with pytest.raises(SnapshotError, match="checksum do conteúdo") as err:
        verify_chain(storage, chain, contents=True)
    assert "produtos.parquet" in str(err.value)
    edit_manifest(storage, full, lambda raw: raw["tables"]["produtos"].update(
        checksum=full.tables["produtos"].checksum, rows=99))
    with pytest.raises(SnapshotError, match="3 linhas no arquivo, o manifesto diz 99"):
        verify_chain(storage, chain_for(storage, STORE, "latest"), contents=True)


def _cursor_row(**kw) -> dict:
    return {"loja": STORE, "tabela": "produtos", "direcao": "receive", "cursor_valor": T0.isoformat(),
            "cursor_tipo": "datetime", "atualizado_em": T0.isoformat(), "run_id": None} | kw


@pytest.mark.parametrize("row, words", [
    (_cursor_row(cursor_valor="2099-01-01T00:00:00"), "cursor_valor 2099-01-01T00:00:00"),
    (_cursor_row(cursor_tipo="date", cursor_valor="2099-12-31"), "posterior à criação do snapshot"),
    (_cursor_row(atualizado_em="2099-01-01T00:00:00"), "atualizado_em 2099-01-01T00:00:00"),
    (_cursor_row(loja="loja99"), "loja 'loja99' não é a do snapshot"),
    (_cursor_row(direcao="ambas"), "direcao 'ambas' inválida"),
    (_cursor_row(cursor_tipo="int", cursor_valor="doze"), "ilegível"),
    (_cursor_row(cursor_tipo="pickle"), "cursor_tipo 'pickle'"),
])
def test_a_cursor_a_restore_could_not_trust_is_refused(storage, row, words):
    full = write_full(storage)
    edit_manifest(storage, full, lambda raw: raw.update(cursors={"loja": [_cursor_row(), row], "origem": []}))
    with pytest.raises(SnapshotError) as err:
        verify_chain(storage, chain_for(storage, STORE, "latest"))
    assert words in str(err.value) and "cursores 'loja'[1]" in str(err.value), str(err.value)


def test_sound_cursors_and_declarations_pass_and_edited_fields_are_refused(storage):
    full = write_full(storage)
    edit_manifest(storage, full, lambda raw: raw.update(cursors={"loja": [_cursor_row()], "origem": []}))
    verify_chain(storage, chain_for(storage, STORE, "latest"), contents=True)
    edit_manifest(storage, full, lambda raw: raw.update(created_at="2026-01-01T00:00:00+00:00"))
    with pytest.raises(SnapshotError, match="não é o instante do id"):
        verify_chain(storage, chain_for(storage, STORE, "latest"))
    edit_manifest(storage, full, lambda raw: raw.update(created_at=full.created_at))
    edit_manifest(storage, full, lambda raw: raw["tables"]["produtos"].update(key=["sku"]))
    with pytest.raises(SnapshotError, match=r"chave \['sku'\] não está entre as colunas"):
        verify_chain(storage, chain_for(storage, STORE, "latest"))
    declared = {"not_null": ["nome"], "lengths": {"nome": 40}, "int_bits": {}, "indexes": [],
                "foreign_keys": [{"name": "fk", "columns": ["id"], "ref_table": "marcas", "ref_columns": ["id"],
                                  "ondelete": None}]}
    edit_manifest(storage, full, lambda raw: raw["tables"]["produtos"].update(key=["id"], declared=declared))
    with pytest.raises(SnapshotError, match="aponta para a tabela 'marcas', ausente"):
        verify_chain(storage, chain_for(storage, STORE, "latest"))
    edit_manifest(storage, full, lambda raw: raw["tables"]["produtos"].update(declared={"lengths": "x"}))
    with pytest.raises(SnapshotError, match=r"tables\.produtos\.declared\.lengths"):
        chain_for(storage, STORE, "latest")
