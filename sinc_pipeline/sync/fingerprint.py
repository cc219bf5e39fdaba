"""Whole-table signals computed in the database: per key range, a row count and a sum of per-row
fingerprints, one ``GROUP BY`` per side (``bucket_sums_sql``).

The per-row fingerprint is integer arithmetic modulo the prime P = 10**9 + 7, written with the
operators PostgreSQL, MariaDB and SQLite evaluate alike (``%`` takes the dividend's sign on all
three; every product stays below 2**63), so equal rows give equal values whatever the engine:

- each value becomes an integer: integers and booleans as themselves, NUMERIC(p ≤ 18, s) as
  ``ROUND(v·10^s)`` (exact on PostgreSQL/MariaDB; SQLite's double holds 15 significant digits),
  text as its length in characters; other types (timestamps, floats, blobs, wider decimals)
  count only as NULL or not NULL;
- a NULL is a constant of its own per column;
- the row's value is ``r = Σ (u_i' · C_i mod P)`` (u_i' = u_i mod P + P; one constant C_i per
  column, so a value moved to another column changes it), and its fingerprint is
  ``k + (r mod P) · ((k·A + B) mod P) mod P``, k folding the key columns (integers), so a value
  moved to another row changes the sum too.

It sees a changed price, quantity, flag, key, NULL or text length; it does not see a text
edited to the same length or a changed timestamp (the rows the run wrote are compared in full
anyway, and ``conferir_lojas`` compares every value). A bucket whose count or sum differs is
then read on both sides and compared in Arrow (``sync/verify.py``), so a value an engine renders
differently (a SQLite double rounding the other way) costs a read, never a false alarm.

Tables without an integer key leading an index cannot be split into ranges: their check
compares the sides in Arrow instead (``verify.py``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa

from sinc_pipeline.sync.sides import Side

P = 1_000_000_007   # prime < 2**30: every product below stays < 2**62
BUCKET_ROWS = 20_000


def _const(i: int, salt: int) -> int:
    x = (i * 0x9E3779B1 + salt * 0x85EBCA77 + 0x27D4EB2F) & 0xFFFFFFFFFFFF
    return x % (P - 2) + 1


def _lit(value: int):
    return sa.literal_column(str(int(value)), sa.BigInteger)


def _mod(expr):
    """``expr`` mod P as a value in [1, 2P) on every engine (``%`` keeps the dividend's sign, so
    ``v % P`` is in (−P, P))."""
    return (expr % _lit(P)) + _lit(P)


def _integer(side: Side, name: str):
    """(the column as an integer expression, or None when only its NULL-ness counts; whether it
    is already small and non-negative: no ``%`` needed)."""
    t, col = side.schema.field(name).type, side.col(name)
    dialect = side.conn.dialect.name
    if pa.types.is_integer(t):
        return _big(side, col), False
    if pa.types.is_boolean(t):
        return _big(side, sa.cast(col, sa.Integer)), True
    if pa.types.is_decimal(t) and t.precision <= 18:
        scaled = col if t.scale == 0 else col * _lit(10 ** t.scale)
        return sa.cast(sa.func.round(scaled), sa.BigInteger), False
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _big(side, sa.func.length(col) if dialect == "sqlite" else sa.func.char_length(col)), True
    return None, True


def fingerprintable(side: Side) -> bool:
    """Whether the key folds into integers (every key column an integer)."""
    return all(pa.types.is_integer(side.schema.field(k).type) for k in side.key)


def _big(side: Side, expr):
    """``expr`` as a 64-bit integer (SQLite's integers already are)."""
    return expr if side.conn.dialect.name == "sqlite" else sa.cast(expr, sa.BigInteger)


def row_fingerprint(side: Side):
    """The per-row fingerprint expression over this side's columns (see the module's text).

    Bounds: k in [1, 2P) < 2**31; a value term |u'·C_i| < 2**31 · 2**27 = 2**58, at most 16 of
    them summed before a ``%`` (< 2**62); the final product < 2**31 · 2**30."""
    k = None
    for name in side.key:
        v = _mod(_big(side, side.col(name)))
        k = v if k is None else (k * _lit(_const(0, 7)) + v) % _lit(P) + _lit(1)
    row, terms = None, 0
    for i, name in enumerate(side.schema.names):
        value, small = _integer(side, name)
        u = _lit(1) if value is None else (value if small else value % _lit(P))
        if side.col(name).nullable or value is None:
            u = sa.case((side.col(name).is_(None), _lit(_const(i, 3) % (1 << 27))), else_=u)
        term = u * _lit(_const(i, 11) % (1 << 27) + 1)
        row = term if row is None else row + term
        terms += 1
        if terms == 16:
            row, terms = row % _lit(P), 1
    r = _mod(row)
    return k + (r * ((k * _lit(_const(0, 13)) + _lit(_const(0, 17))) % _lit(P))) % _lit(P)


@dataclass(frozen=True)
class Buckets:
    """Ranges ``[lo + b·step, lo + (b+1)·step)`` of the range column, numbered b = 0, 1, …,
    ``count`` of them up to the highest key seen."""
    column: str
    lo: int
    step: int
    count: int = 1

    def range(self, b: int) -> tuple[int | None, int | None]:
        return self.lo + b * self.step, self.lo + (b + 1) * self.step


def key_buckets(column: str, bounds: list[tuple[int, int | None, int | None]], window_rows: int) -> Buckets:
    """Buckets of ``min(BUCKET_ROWS, window_rows)`` key values over every side's (_, min, max):
    planned from the key's ends alone (two index lookups per side, whatever the table's size)."""
    lows = [b[1] for b in bounds if b[1] is not None]
    highs = [b[2] for b in bounds if b[2] is not None]
    if not lows:
        return Buckets(column, 0, 1, 1)
    lo, hi = min(lows), max(highs)
    step = max(1, min(BUCKET_ROWS, window_rows))
    return Buckets(column, lo, step, max(1, -(-(hi - lo + 1) // step)))


Chosen = tuple[int, int] | None   # buckets [first, last) only; None: every bucket


def bucket_sums_sql(side: Side, buckets: Buckets, chosen: Chosen = None) -> sa.Select:
    """SELECT bucket, COUNT(*), SUM(fingerprint) of this side's rows (its filter), per bucket;
    ``chosen``: only the buckets [first, last), read as one index range."""
    raw = side.col(buckets.column)
    col = _big(side, raw)
    bucket = ((col - _lit(buckets.lo)) // _lit(buckets.step)).label("b")
    stmt = sa.select(bucket, sa.func.count().label("n"), sa.func.sum(row_fingerprint(side)).label("h")) \
        .select_from(side.table)
    for c, v in side.filters.items():
        stmt = stmt.where(side.col(c) == v)
    if chosen is not None:
        first, last = chosen
        if first > 0:
            stmt = stmt.where(raw >= buckets.range(first)[0])
        if last < buckets.count:
            stmt = stmt.where(raw < buckets.range(last)[0])
    return stmt.group_by(bucket)


def bucket_sums(side: Side, buckets: Buckets, chosen: Chosen = None) -> dict:
    """{bucket (None for NULL keys): (rows, fingerprint sum)} of one side."""
    with side.naming_failures("conferência (agregados no banco)"):
        rows = side.conn.execute(bucket_sums_sql(side, buckets, chosen)).all()
    return {None if b is None else int(b): (int(n), int(h or 0)) for b, n, h in rows}


def _both(fn, source: Side, target: Side, *args):
    """``fn`` on both sides at once (the databases work in parallel)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(fn, target, *args)
        return fn(source, *args), future.result()


def both_bucket_sums(source: Side, target: Side, buckets: Buckets, chosen: Chosen = None) -> tuple[dict, dict]:
    return _both(bucket_sums, source, target, buckets, chosen)


def row_count(side: Side) -> int:
    with side.naming_failures("conferência (contagem de linhas)"):
        stmt = side.select().with_only_columns(sa.func.count()).select_from(side.table)
        return int(side.conn.execute(stmt).scalar() or 0)


def both_counts(source: Side, target: Side) -> tuple[int, int]:
    return _both(row_count, source, target)
