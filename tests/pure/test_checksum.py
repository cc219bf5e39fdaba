"""The vectorised content checksum (io/checksum.py, version 2) and old manifests (version 1)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest

from sinc_pipeline.io.checksum import CHECKSUM_VERSION, column_hashes, table_checksum
from sinc_pipeline.snapshots import COMPLETA, LocalStorage, SnapshotError, SnapshotWriter, chain_for, verify_chain

T0 = dt.datetime(2026, 11, 28, 10, 15, 0, 123456)


def sample() -> pa.Table:
    return pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "nome": pa.array(["Café", None, "Guaraná 🥤", ""], pa.string()),
        "preco": pa.array([Decimal("19.90"), Decimal("-0.01"), None, Decimal("1234567.89")], pa.decimal128(12, 2)),
        "ativo": pa.array([True, False, None, True]),
        "em": pa.array([T0, None, dt.datetime(1969, 12, 31, 23, 59, 59), T0], pa.timestamp("us")),
        "dia": pa.array([dt.date(2026, 1, 1), None, dt.date(1900, 1, 1), dt.date(2026, 1, 2)], pa.date32()),
        "foto": pa.array([b"\x00\x01", None, b"", b"\xff"], pa.binary()),
        "peso": pa.array([0.5, None, 1e300, -2.25], pa.float64()),
    })


def test_order_and_batching_do_not_matter():
    t = sample()
    assert table_checksum(t) == table_checksum(t.take([3, 1, 0, 2]))
    assert table_checksum(t) == table_checksum(t.to_batches(max_chunksize=1))
    assert table_checksum(t) == table_checksum(pa.concat_tables([t.slice(2), t.slice(0, 2)]))


@pytest.mark.parametrize("column, value", [
    ("preco", Decimal("19.91")), ("preco", None), ("nome", "Cafe"), ("nome", "Café "), ("nome", None),
    ("ativo", None), ("em", T0 + dt.timedelta(microseconds=1)), ("dia", None), ("foto", b"\x00\x02"),
    ("peso", 0.5000001), ("id", 9),
])
def test_one_value_changed_changes_the_checksum(column, value):
    t = sample()
    col = t.column(column).to_pylist()
    col[0] = value
    changed = t.set_column(t.schema.get_field_index(column), t.schema.field(column),
                           pa.array(col, t.schema.field(column).type))
    assert table_checksum(changed)[1] != table_checksum(t)[1]


def test_values_swapped_between_rows_or_columns_change_it():
    t = pa.table({"a": [1, 2], "b": [10, 20]})
    assert table_checksum(t)[1] != table_checksum(pa.table({"a": [1, 2], "b": [20, 10]}))[1]
    assert table_checksum(pa.table({"a": [1], "b": [2]}))[1] != table_checksum(pa.table({"a": [2], "b": [1]}))[1]
    s = pa.table({"x": ["ab", "c"]})
    assert table_checksum(s)[1] != table_checksum(pa.table({"x": ["a", "bc"]}))[1]
    assert table_checksum(s)[1] != table_checksum(pa.table({"x": ["ba", "c"]}))[1]


def test_engine_independent_type_widths():
    """What different engines/readers may hand over for the same values hashes alike."""
    a = pa.table({"id": pa.array([1, 2], pa.int32()), "p": pa.array([Decimal("19.90"), None], pa.decimal128(10, 2)),
                  "t": pa.array([T0, None], pa.timestamp("us")), "s": pa.array(["x", None], pa.string())})
    b = pa.table({"id": pa.array([1, 2], pa.int64()), "p": pa.array([Decimal("19.90"), None], pa.decimal128(18, 2)),
                  "t": pa.array([T0, None], pa.timestamp("us", tz="UTC")),
                  "s": pa.array(["x", None], pa.large_string())})
    assert table_checksum(a) == table_checksum(b)
    ns = a.set_column(2, "t", a.column("t").cast(pa.timestamp("ns")))
    assert table_checksum(ns) == table_checksum(a)


def test_decimal_is_exact_beyond_float_precision():
    a = pa.table({"v": pa.array([Decimal("12345678901234567.01")], pa.decimal128(38, 2))})
    b = pa.table({"v": pa.array([Decimal("12345678901234567.02")], pa.decimal128(38, 2))})
    assert table_checksum(a)[1] != table_checksum(b)[1]


def test_sliced_arrays_hash_as_their_values():
    t = sample()
    for i in range(t.num_columns):
        whole = column_hashes(t.column(i), i)
        assert list(column_hashes(t.column(i).slice(1, 2), i)) == list(whole[1:3])


def test_null_differs_from_empty_and_zero():
    assert table_checksum(pa.table({"s": ["", "x"]}))[1] != table_checksum(pa.table({"s": [None, "x"]}))[1]
    assert table_checksum(pa.table({"n": [0, 1]}))[1] != table_checksum(pa.table({"n": [None, 1]}))[1]


def test_version_1_is_kept_and_differs():
    t = sample()
    assert table_checksum(t, 1) == table_checksum(t.take([2, 0, 3, 1]), 1)
    assert table_checksum(t, 1)[1] != table_checksum(t, 2)[1]
    with pytest.raises(ValueError):
        table_checksum(t, 99)


def _write(storage):
    t = sample()
    with SnapshotWriter(storage, "loja01", kind=COMPLETA, source_engine="sqlite", cursors={}) as w:
        w.write_table("produtos", t.to_batches(max_chunksize=2), t.schema, key=["id"])
    return storage.root / "loja01" / w.result.id / "manifest.json"


def test_new_manifests_record_the_version(tmp_path):
    storage = LocalStorage(tmp_path / "s")
    raw = json.loads(_write(storage).read_text("utf-8"))
    entry = raw["tables"]["produtos"]
    assert entry["checksum_version"] == CHECKSUM_VERSION == 2
    assert entry["checksum"] == table_checksum(sample())[1]
    verify_chain(storage, chain_for(storage, "loja01", "latest"), contents=True)


def test_old_manifest_without_version_verifies_with_version_1(tmp_path):
    storage = LocalStorage(tmp_path / "s")
    path = _write(storage)
    raw = json.loads(path.read_text("utf-8"))
    entry = raw["tables"]["produtos"]
    del entry["checksum_version"]                      # as written before version 2
    entry["checksum"] = table_checksum(sample(), 1)[1]
    path.write_text(json.dumps(raw), "utf-8")
    verify_chain(storage, chain_for(storage, "loja01", "latest"), contents=True)
    # a version-2 checksum in a manifest without the field is not accepted as version 1
    entry["checksum"] = table_checksum(sample(), 2)[1]
    path.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(SnapshotError, match="checksum do conteúdo"):
        verify_chain(storage, chain_for(storage, "loja01", "latest"), contents=True)


def test_unknown_version_is_refused(tmp_path):
    storage = LocalStorage(tmp_path / "s")
    path = _write(storage)
    raw = json.loads(path.read_text("utf-8"))
    raw["tables"]["produtos"]["checksum_version"] = 7
    path.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(SnapshotError, match="checksum_version"):
        chain_for(storage, "loja01", "latest")


def test_repetitive_text_hashes_as_each_value_alone():
    """A column of few distinct values goes through Arrow's dictionary encoding: same hashes."""
    values = (["UN", "KG", None, "CX"] * 3000)[:10_001]
    col = pa.array(values, pa.string())
    whole = column_hashes(col, 3)
    alone = [column_hashes(col.slice(i, 1), 3)[0] for i in (0, 1, 2, 3, 10_000)]
    assert [whole[i] for i in (0, 1, 2, 3, 10_000)] == alone


def test_checksum_value_is_pinned():
    """The checksum is stored in snapshot manifests and compared across versions: a faster
    implementation must give the very same value (computed by the version-2 code as first
    released)."""
    from sinc_pipeline.io.checksum import _batch_hash

    t = pa.table({
        "id": pa.array([1, 2, 3], pa.int64()),
        "nome": ["Açúcar União 1kg", "", None],
        "preco": pa.array([Decimal("19.90"), None, Decimal("0.01")], pa.decimal128(10, 2)),
        "b": pa.array([b"\x00\x01", b"", None], pa.binary()),
        "t": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5), None, dt.datetime(2099, 1, 1)], pa.timestamp("us")),
    })
    assert _batch_hash(t) == 0xfa932eb01b2ed131


def test_long_strings_across_the_hash_slices_are_pinned():
    """Strings longer than one slice of the byte hash (256 KiB) and many strings crossing slice
    borders hash as the first version-2 code did."""
    import random

    from sinc_pipeline.io.checksum import _BYTES, _batch_hash

    rnd = random.Random(7)
    texts = ["x" * 300_000, "é" * 200_000 + "fim", None, ""] + [
        "".join(rnd.choice("abcçã😀 ") for _ in range(rnd.randint(0, 5000))) for _ in range(400)]
    assert len("".join(t for t in texts if t).encode()) > 4 * _BYTES
    t = pa.table({"id": pa.array(range(len(texts)), pa.int64()), "texto": pa.array(texts, pa.string())})
    assert _batch_hash(t) == 0x8ce00d7db1f1e024
    assert _batch_hash(t) != _batch_hash(t.set_column(1, "texto", pa.array(texts[:-1] + ["?"], pa.string())))
