"""The numpy key match (``core/match.py``) gives what the hash join gives, in the same order, for
the diff and the full comparison; any other key (compound, text, NULLs, repeated) keeps the join."""
from __future__ import annotations

import random

import pyarrow as pa
import pytest

from sinc_pipeline.core import match
from sinc_pipeline.reconcile import compare as cmp
from sinc_pipeline.sync import diff


def _pair(rng: random.Random):
    n = rng.choice([0, 1, 3, 40, 1500])
    ks = rng.sample(range(n * 3 + 1), n)
    if rng.random() < 0.5:
        ks.sort()
    kt = [k for k in ks if rng.random() < 0.8] + rng.sample(range(n * 3 + 1, n * 4 + 2), rng.randint(0, n // 5 + 1))
    if rng.random() < 0.5:
        rng.shuffle(kt)
    src = pa.table({"id": pa.array(ks, pa.int64()), "v": pa.array([rng.randint(0, 3) for _ in ks], pa.int64())})
    tgt = pa.table({"id": pa.array(kt, pa.int64()), "v": pa.array([rng.randint(0, 3) for _ in kt], pa.int64())})
    return src, tgt


@pytest.fixture
def joined(monkeypatch):
    """Run a function with the numpy match turned off (the join path)."""
    def run(fn, *args, **kw):
        with monkeypatch.context() as m:
            m.setattr(diff, "match_int_keys", lambda *a: None)
            m.setattr(cmp, "match_int_keys", lambda *a: None)
            return fn(*args, **kw)
    return run


def test_diff_and_compare_match_the_join(joined):
    rng = random.Random(11)
    for _ in range(150):
        src, tgt = _pair(rng)
        assert match.match_int_keys(src, tgt, ["id"]) is not None
        a, b = diff.diff_tables(src, tgt, ["id"]), joined(diff.diff_tables, src, tgt, ["id"])
        assert a.inserts.equals(b.inserts) and a.updates.equals(b.updates) and a.deletes.equals(b.deletes)
        for propagate in (True, False):
            x, y = cmp.compare(src, tgt, ["id"], propagate=propagate), joined(cmp.compare, src, tgt, ["id"],
                                                                              propagate=propagate)
            assert x.counts == y.counts and x.compared == y.compared
            for p, q in ((x.missing, y.missing), (x.different, y.different), (x.extra, y.extra)):
                assert (pa.concat_tables(p) if p else None) == (pa.concat_tables(q) if q else None)


@pytest.mark.parametrize("src, tgt, key", [
    (pa.table({"a": [1, 2], "b": [1, 1]}), pa.table({"a": [1], "b": [1]}), ["a", "b"]),      # compound
    (pa.table({"a": ["x", "y"]}), pa.table({"a": ["x"]}), ["a"]),                             # text
    (pa.table({"a": pa.array([1, None])}), pa.table({"a": [1]}), ["a"]),                      # a NULL
    (pa.table({"a": [1, 2]}), pa.table({"a": [1, 1]}), ["a"]),                                # repeated
    (pa.table({"a": pa.array([1], pa.uint64())}), pa.table({"a": pa.array([1], pa.uint64())}), ["a"]),
])
def test_other_keys_keep_the_join(src, tgt, key):
    assert match.match_int_keys(src, tgt, key) is None
