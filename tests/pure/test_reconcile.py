"""Pure parts of conferir_lojas and of the post-sync check: comparison by row hash, key texts,
the key buckets of the in-database aggregates, the written keys."""
from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from sinc_pipeline.reconcile.compare import DIFFERENT, EXTRA, MISSING, Divergence, compare, key_texts
from sinc_pipeline.sync.diff import Changes
from sinc_pipeline.sync.fingerprint import key_buckets
from sinc_pipeline.sync.written import WRITTEN_CAP, add_written, written_keys

SCHEMA = pa.schema([("id", pa.int64()), ("nome", pa.string()), ("preco", pa.decimal128(10, 2))])


def t(rows):
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r)) for r in rows], schema=SCHEMA)


def test_compare_finds_missing_extra_and_different_rows_in_any_order():
    s = t([(1, "a", Decimal("1.00")), (2, "b", Decimal("2.00")), (3, "c", None), (4, None, Decimal("4.00"))])
    g = t([(4, None, Decimal("4.00")), (3, "c", Decimal("0.01")), (9, "x", Decimal("9.00")), (2, "b", Decimal("2.00"))])
    d = compare(s, g, ["id"])
    assert d.counts == {MISSING: 1, EXTRA: 1, DIFFERENT: 1}
    assert d.missing[0].column("id").to_pylist() == [1] and d.different[0].column("id").to_pylist() == [3]
    assert d.extra[0].column_names == ["id"] and d.extra[0].column("id").to_pylist() == [9]
    assert compare(s, s.take([3, 2, 1, 0]), ["id"]).total == 0
    # deletes: ignore — rows only at the target are no divergence
    assert compare(s, g, ["id"], propagate=False).counts[EXTRA] == 0


def test_divergence_accumulates_and_lists_keys_by_kind():
    s, g = t([(1, "a", None), (2, "b", None)]), t([(2, "B", None), (5, "e", None)])
    d = Divergence(["id"]).add(compare(s, g, ["id"])).add(compare(t([(7, "z", None)]), t([]), ["id"]))
    assert d.total == 4
    got = sorted((r["tipo"], r["chave"]) for r in d.keys_by_kind().to_pylist())
    assert got == sorted([(MISSING, '{"id": 1}'), (MISSING, '{"id": 7}'), (EXTRA, '{"id": 5}'),
                          (DIFFERENT, '{"id": 2}')])


def test_key_texts_are_json():
    import json
    keys = pa.table({"loja_id": [1, None], "codigo": ['a"b\\c', "é"]})
    assert [json.loads(x) for x in key_texts(keys).to_pylist()] == [
        {"loja_id": 1, "codigo": 'a"b\\c'}, {"loja_id": None, "codigo": "é"}]


def test_buckets_cover_every_side_and_every_key_once():
    b = key_buckets("id", [(1000, 1, 1000), (990, -5, 1200)], 100)
    assert b.lo == -5
    covered = [b.range(i) for i in range((1200 - b.lo) // b.step + 1)]
    for k in (-5, 0, 1, 999, 1200):
        assert sum(lo <= k < hi for lo, hi in covered) == 1
    assert key_buckets("id", [(0, None, None)], 20_000).step == 1


def test_written_keys_capped_and_added():
    ins = t([(1, "a", None)])
    ch = Changes(ins, t([(2, "b", None)]), pa.table({"id": pa.array([3], pa.int64())}))
    w = written_keys(ch, ["id"])
    assert sorted(w.keys.column("id").to_pylist()) == [1, 2, 3] and not w.all
    both = add_written(w, w)
    assert both.keys.num_rows == 6
    big = Changes(pa.table({"id": pa.array(range(WRITTEN_CAP + 1), pa.int64())}), t([]).select(["id"]),
                  t([]).select(["id"]))
    assert written_keys(big, ["id"]).all and add_written(w, written_keys(big, ["id"])).all
