"""Every engine's fast apply path (``writer.plan``: ``Prepared`` on SQLite, COPY + set-based
statements on PostgreSQL, tuples + a joined temporary table on MariaDB) stores exactly what
SQLAlchemy's executemany of dicts stores, holds the same refused rows, and reports the same
counts; and the fast path is the one that ran."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal as D

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sinc_pipeline.core.db import connect, dispose_all, get_engine
from sinc_pipeline.io import writer
from sinc_pipeline.io.isolate import apply_isolating
from sinc_pipeline.io.writer import Target, apply
from sinc_pipeline.sync.diff import Changes

from ..helpers import execute

TYPES = {  # engine -> (timestamp, timestamp with zone, boolean, float, binary)
    "sqlite": ("DATETIME", "DATETIME", "BOOLEAN", "REAL", "BLOB"),
    "postgresql": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "BOOLEAN", "DOUBLE PRECISION", "BYTEA"),
    "mariadb": ("DATETIME(6)", "DATETIME(6)", "BOOLEAN", "DOUBLE", "BLOB"),
}
TEXTS = ["ação, \"aspas\" e vírgula", "", "linha 1\nlinha 2\r\n\\.", "barra \\ invertida", "ñ 漢字 €", None]


def ddl(engine: str, binary: bool) -> str:
    ts, tstz, boolean, flt, blob = TYPES[engine]
    return (f"CREATE TABLE p (id INTEGER NOT NULL PRIMARY KEY, loja VARCHAR(5) NOT NULL, preco NUMERIC(12, 2), "
            f"quando {ts}, quando_tz {tstz}, dia DATE, ativo {boolean}, peso {flt}, "
            f"nome VARCHAR(40) CHECK (nome <> 'ruim')" + (f", dados {blob}" if binary else "") + ")")


def _inserts(n: int, bad: frozenset, binary: bool, inf: bool = True) -> pa.Table:
    """``inf``: a float infinity among the values (MariaDB has none)."""
    ids = list(range(1, n + 1))
    cols = {"id": pa.array(ids, pa.int64()),
            "valor": pa.array([None if i % 9 == 0 else D(i * 37) / 100 for i in ids], pa.decimal128(12, 2)),
            "quando": pa.array([dt.datetime(2026, 11, 28, 10, 0, 0, i) for i in ids], pa.timestamp("us")),
            "quando_tz": pa.array([None if i % 4 == 0 else dt.datetime(2026, 3, 1, 23, 59, 59, 999_999 - i)
                                   for i in ids], pa.timestamp("us")),
            "dia": pa.array([dt.date(2026, 1, 1 + i % 28) for i in ids], pa.date32()),
            "ativo": pa.array([None if i % 7 == 0 else i % 2 == 0 for i in ids], pa.bool_()),
            "peso": pa.array([None if i % 8 == 0 else {11: float("inf") if inf else 1e300, 12: -1e300}.get(i, i / 3) for i in ids],
                             pa.float64()),
            "nome": pa.array(["ruim" if i in bad else TEXTS[i % len(TEXTS)] for i in ids], pa.string())}
    if binary:
        cols["dados"] = pa.array([None if i % 6 == 0 else bytes([i % 256, 0, 92, 10, 255]) for i in ids], pa.binary())
    return pa.table(cols)


def _write(url: str, engine: str, binary: bool, fast: bool, monkeypatch, bad: frozenset) -> tuple:
    paths: list = []
    real = writer.plan

    def spy(*args):
        chosen = real(*args)
        paths.append((args[2], getattr(chosen, "path", None)))
        return chosen

    monkeypatch.setattr(writer, "plan", spy if fast else (lambda *a: None))
    execute(url, ddl(engine, binary))
    execute(url, "INSERT INTO p (id, loja, preco) VALUES (100, 'L2', 1.00), (101, 'L2', 2.00)")
    statements: list[str] = []
    listener = lambda conn, cur, stmt, params, ctx, many: statements.append(stmt)  # noqa: E731
    sa.event.listen(get_engine(url), "before_cursor_execute", listener)
    try:
        with connect(url, "teste", write=True) as conn:
            table = sa.Table("p", sa.MetaData(), autoload_with=conn)
            phys = {c: c for c in ["id", "quando", "quando_tz", "dia", "ativo", "peso", "nome", "dados"]} | {
                "valor": "preco"}
            t = Target(table, phys, ["id"], {"loja": "L1"}, {"loja": "L1"})
            ins = _inserts(40, bad, binary, engine != "mariadb")
            empty = ins.slice(0, 0)
            counts, refused = apply_isolating(conn, [(t, Changes(ins, empty, empty.select(["id"])))])
            # updates: new values (NULLs among them), and keys 100/101 of the other store: untouched
            upd = pa.concat_tables([ins.slice(0, 12), _inserts(101, frozenset(), binary, engine != "mariadb").slice(99, 2)])
            upd = upd.set_column(1, "valor", pa.array([D("9.99"), None] * 7, pa.decimal128(12, 2)))
            names = ["atualizado ç", None] * 7
            if bad:
                names[2] = "ruim"          # an update the target refuses: staged batches bisected too
            upd = upd.set_column(7, "nome", pa.array(names, pa.string()))
            c2, refused2 = apply_isolating(conn, [(t, Changes(empty, upd, empty.select(["id"])))])
            gone = pa.table({"id": pa.array([5, 6, 30, 100], pa.int64())})
            c3, refused3 = apply_isolating(conn, [(t, Changes(empty, empty, gone))])
            if engine == "postgresql":   # the joins' planner settings were the statements' only
                assert conn.exec_driver_sql("SHOW enable_hashjoin").scalar() == "on"
    finally:
        sa.event.remove(get_engine(url), "before_cursor_execute", listener)
    with get_engine(url).connect() as c:
        got = [tuple(r) for r in c.execute(sa.text("SELECT * FROM p ORDER BY id"))]
    return got, (counts, c2, c3), sorted((r.op, r.row["id"]) for r in refused + refused2 + refused3), paths, statements


def expected_paths(engine: str, binary: bool) -> dict:
    if engine == "sqlite":
        return dict.fromkeys(["insert", "update", "delete"], "prepared")
    if engine == "mariadb":
        return {"insert": "executemany", "update": "temp-join", "delete": "temp-join"}
    rows = "copy-rows" if binary else "copy-csv"     # bytea goes through psycopg's dumpers
    return {"insert": rows, "update": rows, "delete": "copy-csv"}


@pytest.mark.parametrize("binary", [False, True], ids=["plain", "bytes"])
@pytest.mark.parametrize("bad", [frozenset(), frozenset({7, 30})], ids=["clean", "refused-rows"])
@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_fast_paths_store_what_sqlalchemy_stores(make_db, monkeypatch, engine, bad, binary):
    fast, fast_counts, fast_refused, paths, statements = _write(make_db(engine), engine, binary, True, monkeypatch, bad)
    monkeypatch.undo()
    slow, slow_counts, slow_refused, _, _ = _write(make_db(engine), engine, binary, False, monkeypatch, bad)
    assert fast == slow and fast_counts == slow_counts and fast_refused == slow_refused == (
        sorted([("insert", i) for i in bad] + [("update", 3)]) if bad else [])
    # the fast path ran, for every operation
    assert dict(paths) == expected_paths(engine, binary) and len(set(paths)) == 3
    if engine != "sqlite":
        staged = [s for s in statements if "_sinc_lote" in s]
        assert any(s.startswith("UPDATE p") for s in staged) and any(s.startswith("DELETE FROM p") for s in staged)
        assert engine == "mariadb" or any(s.startswith("INSERT INTO p ") and "SELECT" in s for s in staged)
    inserted, updated, deleted = fast_counts
    assert inserted[0]["inserted"] == 40 - len(bad) and updated[0]["updated"] == 14 - bool(bad) and deleted[0]["deleted"] == 4
    by_id = {r[0]: r for r in fast}
    assert by_id[100][1:3] == ("L2", D("1.00")) and D(str(by_id[101][2])) == D("2.00")   # the other store's
    assert not {5, 6, 30} & set(by_id)
    assert by_id[1][1] == "L1" and D(str(by_id[1][2])) == D("9.99") and by_id[2][2] is None
    assert by_id[1][8] == "atualizado ç" and by_id[2][8] is None
    assert by_id[13][8] == "" and by_id[14][8] == TEXTS[2] and by_id[17][8] is None and by_id[18][8] == TEXTS[0]
    assert D(str(by_id[19][2])) == D("7.03") and by_id[18][2] is None
    if engine != "sqlite":
        assert by_id[13][3] == dt.datetime(2026, 11, 28, 10, 0, 0, 13)
        assert by_id[16][6] in (True, 1) and by_id[14][6] is None and by_id[15][6] in (False, 0)
    if binary:
        assert bytes(by_id[13][9]) == bytes([13, 0, 92, 10, 255]) and by_id[18][9] is None


def _restricted(url: str, engine: str, user: str) -> tuple[str, list[str]]:
    """A user of ``url``'s database that may read and write ``p`` but not create temporary tables;
    (its URL, the statements that remove it)."""
    db = sa.make_url(url).database
    if engine == "postgresql":
        execute(url, f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC')
        execute(url, f"CREATE ROLE {user} LOGIN")
        execute(url, f"GRANT SELECT, INSERT, UPDATE, DELETE ON p TO {user}")
        drop = [f"DROP OWNED BY {user}", f"DROP ROLE {user}"]
    else:
        execute(url, f"CREATE USER '{user}'@'%'")
        execute(url, f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.* TO '{user}'@'%'")
        drop = [f"DROP USER '{user}'@'%'"]
    return sa.make_url(url).set(username=user).render_as_string(hide_password=False), drop


@pytest.mark.parametrize("engine", ["postgresql", "mariadb"])
def test_a_user_without_temporary_tables_gets_the_generic_path_and_a_warning(make_db, monkeypatch, caplog, engine):
    url = make_db(engine)
    execute(url, ddl(engine, False))
    execute(url, "INSERT INTO p (id, loja, nome) VALUES (9, 'L1', 'velho')")
    user_url, drop = _restricted(url, engine, f"sinc_t_{uuid.uuid4().hex[:8]}")
    paths = []
    real = writer.plan
    monkeypatch.setattr(writer, "plan", lambda *a: paths.append((a[2], getattr(real(*a), "path", None))) or real(*a))
    try:
        with connect(user_url, "teste", write=True) as conn:
            table = sa.Table("p", sa.MetaData(), autoload_with=conn)
            t = Target(table, {c: c for c in ["id", "nome"]}, ["id"], {}, {"loja": "L1"})
            ins = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "nome": ["a", "b", "ç"]})
            apply(conn, [(t, Changes(ins, ins.slice(0, 1).set_column(1, "nome", pa.array(["novo"])),
                                     pa.table({"id": pa.array([9], pa.int64())})))])
        assert rows_of(url) == [(1, "L1", "novo"), (2, "L1", "b"), (3, "L1", "ç")]
        staged = "executemany" if engine == "mariadb" else None
        assert set(paths) == {("insert", staged), ("update", None), ("delete", None)}
        assert "tabelas temporárias" in caplog.text and "GRANT" in caplog.text
    finally:
        dispose_all()
        for sql in drop:
            execute(url, sql)


def rows_of(url: str) -> list[tuple]:
    with get_engine(url).connect() as c:
        return [tuple(r) for r in c.execute(sa.text("SELECT id, loja, nome FROM p ORDER BY id"))]


def test_bulk_insert_csv_copy_stores_what_write_row_stores(make_db, monkeypatch):
    """``io/bulk.py`` on PostgreSQL (restores, new stores): Arrow's CSV into COPY, the same values
    as psycopg's ``write_row`` of each row."""
    from sinc_pipeline.io import bulk

    rows = _inserts(40, frozenset(), False).rename_columns(
        ["id", "preco", "quando", "quando_tz", "dia", "ativo", "peso", "nome"])
    rows = rows.append_column("loja", pa.array(["L1"] * rows.num_rows))
    got, copies = [], []
    for csv in (True, False):
        url = make_db("postgresql")
        execute(url, ddl("postgresql", False))
        monkeypatch.setattr(bulk, "csv_text", bulk.csv_text if csv else lambda t: False)
        real = bulk.pcsv.write_csv
        monkeypatch.setattr(bulk.pcsv, "write_csv", lambda *a, **k: copies.append(csv) or real(*a, **k))
        with connect(url, "teste", write=True) as conn:
            assert bulk.bulk_insert(conn, "p", rows) == 40
        monkeypatch.undo()
        with get_engine(url).connect() as c:
            got.append([tuple(r) for r in c.execute(sa.text("SELECT * FROM p ORDER BY id"))])
    assert copies == [True] and got[0] == got[1] and len(got[0]) == 40 and got[0][10][7] == float("inf") and got[0][12][8] == ""
