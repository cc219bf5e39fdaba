"""The facts ``core/preflight.py`` rules over, read from each database, and the preflight itself.

Per table side, one catalogue query (MariaDB/PostgreSQL ``information_schema``, SQLite's
``CREATE TABLE`` text) gives each column's charset, collation and fractional-second digits; what
a collation treats as equal is asked of the database itself (``'a' = 'A'``, ``'e' = 'é'``,
``'x' = 'x '`` under it), once per collation and process. The source's data is read only where
a rule found a risk: the text columns a target charset cannot hold (for examples to name), and
the text key columns under a folding collation (to find two keys that would become one).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.db import redact
from sinc_pipeline.core.engines import MYSQL_FAMILY, engine_of
from sinc_pipeline.core.errors import naming_failures
from sinc_pipeline.core.preflight import (ACCENTS, CASE, FOLDS, TRAILING, ColumnFacts, Finding, candidate_collisions,
                                          charset_risk, describe_loss, fold_risk, fraction_loss, lacks, nopad_fix,
                                          unrepresentable, utf8mb4_collation)
from sinc_pipeline.core.types import arrow_type

_NAME = re.compile(r"^[A-Za-z0-9_]+$")            # MariaDB charset/collation names (spliced as they are)
_QUOTED = re.compile(r'^[^"\x00]+$')                 # PostgreSQL/SQLite collation names (spliced in quotes)
_folds_cache: dict[tuple, frozenset] = {}


def _kind(t) -> str:
    a = arrow_type(t)
    if pa.types.is_timestamp(a):
        return "timestamp"
    if pa.types.is_time(a):
        return "time"
    return "text" if pa.types.is_string(a) else "other"


def column_facts(conn: Connection, table: sa.Table) -> dict[str, ColumnFacts]:
    """Physical column name -> its facts, for ``table`` as ``conn``'s database holds it."""
    engine = engine_of(conn)
    kinds = {c.name: _kind(c.type) for c in table.c}
    if engine in MYSQL_FAMILY:
        return _mariadb_facts(conn, table, kinds)
    if engine == "postgresql":
        return _postgres_facts(conn, table, kinds)
    return _sqlite_facts(conn, table, kinds)


def _mariadb_facts(conn: Connection, table: sa.Table, kinds: dict) -> dict[str, ColumnFacts]:
    mode = conn.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar() or ""
    fits = "round" if "TIME_ROUND_FRACTIONAL" in mode.upper() else "truncate"
    rows = conn.execute(sa.text(
        "SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME, DATETIME_PRECISION, COLUMN_TYPE, IS_NULLABLE "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(:s, DATABASE()) AND TABLE_NAME = :t"),
        {"s": table.schema, "t": table.name}).all()
    out = {}
    for name, charset, collation, fsp, column_type, nullable in rows:
        kind = kinds.get(name, "other")
        declared = column_type + ("" if nullable == "YES" else " NOT NULL")
        folds = collation_folds(conn, "mariadb", charset, collation) if kind == "text" and collation else frozenset()
        out[name] = ColumnFacts(kind, charset if kind == "text" else None, collation, folds,
                                None if fsp is None else int(fsp), fits, declared)
    return out


def _postgres_facts(conn: Connection, table: sa.Table, kinds: dict) -> dict[str, ColumnFacts]:
    encoding = conn.exec_driver_sql(
        "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()").scalar()
    rows = conn.execute(sa.text(
        "SELECT column_name, collation_name, datetime_precision FROM information_schema.columns "
        "WHERE table_schema = COALESCE(:s, current_schema()) AND table_name = :t"),
        {"s": table.schema, "t": table.name}).all()
    out = {}
    for name, collation, precision in rows:
        kind = kinds.get(name, "other")
        folds = collation_folds(conn, "postgresql", None, collation) if kind == "text" and collation else frozenset()
        declared = _declared(table, name)
        out[name] = ColumnFacts(kind, encoding if kind == "text" else None, collation, folds,
                                None if precision is None else int(precision), "round_pg", declared)
    return out


def _sqlite_facts(conn: Connection, table: sa.Table, kinds: dict) -> dict[str, ColumnFacts]:
    sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type IN ('table', 'view') AND name = :t"),
                       {"t": table.name}).scalar() or ""
    collations = sqlite_collations(sql)
    out = {}
    for name, kind in kinds.items():
        collation = collations.get(name.lower())
        folds = collation_folds(conn, "sqlite", None, collation) if kind == "text" and collation else frozenset()
        out[name] = ColumnFacts(kind, None, collation, folds, 6 if kind in ("timestamp", "time") else None,
                                "truncate", _declared(table, name))
    return out


def _declared(table: sa.Table, name: str) -> str:
    try:
        return str(table.c[name].type) if name in table.c else ""
    except Exception:  # noqa: BLE001 - a type without a default rendering
        return ""


def sqlite_collations(create_sql: str) -> dict[str, str]:
    """Lower-cased column name -> the COLLATE its definition declares, from a CREATE TABLE text."""
    body = create_sql[create_sql.find("(") + 1: create_sql.rfind(")")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = {}
    for part in parts:
        m = re.match(r'\s*(?:"([^"]+)"|`([^`]+)`|\[([^\]]+)\]|(\w+))(.*)$', part, re.S)
        if not m:
            continue
        name = next(g for g in m.groups()[:4] if g)
        coll = re.search(r"\bCOLLATE\s+\"?(\w+)\"?", m.group(5), re.I)
        if coll and name.upper() not in ("PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT"):
            out[name.lower()] = coll.group(1)
    return out


def _collate(engine: str, charset: str | None, collation: str, expr: str) -> str:
    if engine == "mariadb":
        return f"CONVERT({expr} USING {charset}) COLLATE {collation}"
    return f'CAST({expr} AS TEXT) COLLATE "{collation}"'


def _safe(engine: str, charset: str | None, collation: str | None) -> bool:
    """The names may be spliced into a probe (they come from the catalogue, but still)."""
    if not collation:
        return False
    if engine == "mariadb":
        return bool(_NAME.match(collation)) and (charset is None or bool(_NAME.match(charset)))
    return bool(_QUOTED.match(collation))


def collation_folds(conn: Connection, engine: str, charset: str | None, collation: str) -> frozenset:
    """What ``collation`` treats as equal, asked of the database (all three if it cannot say)."""
    if not _safe(engine, charset, collation):
        return frozenset((CASE, ACCENTS, TRAILING))
    key = (str(conn.engine.url), charset, collation)
    if key not in _folds_cache:
        tests = [(CASE, "a", "A"), (ACCENTS, "e", "é"), (TRAILING, "x", "x ")]
        cols = ", ".join(f"{_collate(engine, charset, collation, f':a{i}')} = {_right(engine, charset, i)}"
                         for i in range(len(tests)))
        params = {**{f"a{i}": t[1] for i, t in enumerate(tests)}, **{f"b{i}": t[2] for i, t in enumerate(tests)}}
        try:
            with conn.begin_nested():
                got = conn.execute(sa.text(f"SELECT {cols}"), params).one()
            _folds_cache[key] = frozenset(t[0] for t, eq in zip(tests, got) if eq)
        except sa.exc.DBAPIError:
            return frozenset((CASE, ACCENTS, TRAILING))
    return _folds_cache[key]


def _right(engine: str, charset: str | None, i: int) -> str:
    return f"CONVERT(:b{i} USING {charset})" if engine == "mariadb" else f"CAST(:b{i} AS TEXT)"


def same_under(conn: Connection, facts: ColumnFacts, a: str, b: str) -> bool:
    """Does the database ``conn`` hold ``a`` and ``b`` as one value under ``facts``' collation?"""
    engine = "mariadb" if engine_of(conn) in MYSQL_FAMILY else engine_of(conn)
    if not _safe(engine, facts.charset, facts.collation):
        return False
    sql = f"SELECT {_collate(engine, facts.charset, facts.collation, ':a0')} = {_right(engine, facts.charset, 0)}"
    try:
        with conn.begin_nested():
            return bool(conn.execute(sa.text(sql), {"a0": a, "b0": b}).scalar())
    except sa.exc.DBAPIError:
        return False


@dataclass
class Place:
    """One side of a table for the preflight: where it is and its logical -> physical names."""
    conn: Connection
    table: sa.Table
    physical: dict[str, str]
    filters: dict                  # logical -> value
    role: str                      # "de origem", "da loja loja_01"
    url: str

    @property
    def engine(self) -> str:
        return engine_of(self.conn)

    def naming_failures(self, step: str = "verificação de compatibilidade"):
        return naming_failures(step, role=self.role, url=self.url, table=self.table.name)

    def facts(self) -> dict[str, ColumnFacts]:
        with self.naming_failures():
            return column_facts(self.conn, self.table)

    def read(self, columns: list[str]) -> pa.Table:
        from sinc_pipeline.io.reader import read_fastest   # late: io imports core
        schema = pa.schema([(c, arrow_type(self.table.c[self.physical[c]].type)) for c in columns])
        with self.naming_failures("verificação de compatibilidade (leitura)"):
            return read_fastest(self.conn, self.table, self.physical, self.filters, None, schema, 50_000)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " e " + items[-1]


def _example(kind: str, digits: int) -> str:
    if kind == "time":
        return f"TIME({digits})"
    return f"DATETIME({digits}) no MariaDB, TIMESTAMP({digits}) no PostgreSQL"


def _excerpt(v) -> str:
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "…"


def preflight(cfg, store_id: str, src: Place, tgt: Place, columns: list[str], key: list[str],
              scan: bool = True) -> tuple[dict, list[Finding]]:
    """The table's compatibility findings and the columns the source must be read as the target
    holds them: ({logical column: (digits, how)}, findings). ``scan``: read the source's data
    where a rule found a risk (examples, collisions); without it a risk is only 'possible'."""
    sf, tf = src.facts(), tgt.facts()
    fractions, findings, charset_cols, folds_by_col, risky = {}, [], {}, {}, set()
    for c in columns:
        s, t = sf.get(src.physical[c]), tf.get(tgt.physical[c])
        if s is None or t is None:
            continue
        level = charset_risk(src.engine, s, tgt.engine, t)
        if level is not None:
            charset_cols[c] = (level, t)
        loss = fraction_loss(s, t)
        if loss is not None:
            fractions[c] = (loss[1], t.fits)
            how = "truncados" if t.fits == "truncate" else "arredondados"
            findings.append(Finding("aviso", "precisao", store_id, cfg.name, tgt.physical[c],
                                    f"o banco {tgt.role} guarda {describe_loss(*loss)} ({s.declared or '?'} → "
                                    f"{t.declared or '?'}): os valores são comparados e gravados como o destino os "
                                    f"guarda ({how}), e a precisão a mais da origem dos dados se perde",
                                    "para manter a precisão, declare a coluna do destino com "
                                    f"{loss[0]} casas de fração de segundo (ex.: " + _example(t.kind, loss[0])
                                    + ")"))
        if c in key and t.kind == "text" and t.folds:
            folds_by_col[c] = t.folds
            risky |= fold_risk(s, t)
    findings += _charset_findings(cfg, store_id, src, tgt, charset_cols, key, scan)
    if risky:
        findings += _collation_findings(cfg, store_id, src, tgt, folds_by_col, tf, key, risky, scan)
    return fractions, findings


def _charset_findings(cfg, store_id: str, src: Place, tgt: Place, cols: dict, key: list[str],
                      scan: bool) -> list[Finding]:
    report = getattr(cfg, "on_unrepresentable", "error") == "report"
    out = []
    for c, (level, t) in cols.items():
        found = ""
        if scan and not report:
            data = src.read(list(dict.fromkeys([*key, c])))
            bad = data.filter(unrepresentable(data.column(c), level)).slice(0, 3).to_pylist()
            found = "; encontrado(s) na origem dos dados: " + ", ".join(
                f"chave {({k: r[k] for k in key})} {_excerpt(r[c])!r}" for r in bad) if bad else ""
        where = f"{tgt.table.name!r} do banco {tgt.role} {redact(tgt.url)}"
        what = (f"o conjunto de caracteres {t.charset} da coluna (tabela {where}) não comporta {lacks(level)}, que a "
                f"origem dos dados pode ter{found}")
        if tgt.engine in MYSQL_FAMILY:
            fix = (f"ALTER TABLE `{tgt.table.name}` CONVERT TO CHARACTER SET utf8mb4 COLLATE "
                   f"{utf8mb4_collation(t.collation)}")
        else:
            fix = "crie o banco do destino com ENCODING 'UTF8' e copie os dados para ele"
        if report:
            out.append(Finding("aviso", "charset", store_id, cfg.name, tgt.physical[c],
                               what + "; as linhas que o destino recusar ficam retidas (on_unrepresentable: report)",
                               fix))
        else:
            out.append(Finding("erro", "charset", store_id, cfg.name, tgt.physical[c], what,
                               fix + "; ou declare 'on_unrepresentable: report' na tabela para sincronizar o resto "
                                     "e reter só as linhas que o destino recusar"))
    return out


def _collation_findings(cfg, store_id: str, src: Place, tgt: Place, folds_by_col: dict, tf: dict,
                        key: list[str], risky: set, scan: bool) -> list[Finding]:
    facts = {c: tf[tgt.physical[c]] for c in folds_by_col}
    collided = []
    if scan:
        for group in candidate_collisions(src.read(list(key)), folds_by_col):
            first = group[0]
            same = [g for g in group[1:] if all(g[c] == first[c] or same_under(tgt.conn, facts[c], first[c], g[c])
                                                for c in folds_by_col)]
            if same:
                collided.append([first, *same])
    cols = ", ".join(repr(tgt.physical[c]) for c in folds_by_col)
    colls = ", ".join(sorted({f.collation for f in facts.values()}))
    what = (f"a colação {colls} da chave de texto {cols} da tabela {tgt.table.name!r} no banco {tgt.role} "
            f"{redact(tgt.url)} iguala {_and([f for f in FOLDS if f in risky])}, que a origem dos dados distingue")
    fixes = "; ".join(nopad_fix(tgt.engine, tgt.table.name, tgt.physical[c], f) for c, f in facts.items())
    column = ", ".join(tgt.physical[c] for c in folds_by_col)
    if collided:
        pairs = "; ".join(" e ".join(repr(g) for g in group) for group in collided[:3])
        return [Finding("erro", "colacao", store_id, cfg.name, column,
                        f"{what}: as chaves {pairs} da origem dos dados seriam uma só no destino", fixes)]
    return [Finding("aviso", "colacao", store_id, cfg.name, column,
                    f"{what}: nenhuma colisão nos dados de agora" + ("" if scan else " (dados não lidos)")
                    + ", mas chaves como 'José'/'Jose' ou 'X'/'X ' colidiriam", fixes)]
