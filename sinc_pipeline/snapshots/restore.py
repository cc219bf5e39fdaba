"""Restaurar Base: a store's database rebuilt at a snapshot, on any supported engine.

``restore(storage, store_id, snapshot_ref, target_url, replace=False)``:

1. resolves the snapshot (an id or ``latest``), takes its chain (the full snapshot and each
   incremental up to it) and verifies it (``verify_chain(contents=True)``: links without loops or
   gaps, every manifest field restore trusts — cursors included —, every file's presence, sha256,
   origin, rows, columns and content checksum) — a broken chain is refused, naming the file,
   before anything is written;
2. refuses a target where any of the snapshot's tables already holds rows, unless ``replace``
   (then those tables are emptied — or dropped and recreated when their columns differ — inside
   the load);
3. in one write transaction: creates absent tables with types for the target engine and what
   the source declared, recorded in the manifest (``ddl.py``: NOT NULL, lengths, integer widths,
   indexes, foreign keys; parents first), loads each table's state at the snapshot (``materialize_chain``: the full
   snapshot with every incremental applied in order) with the engine's bulk path, reads every
   table back and compares row count and content checksum with the snapshot — any difference
   fails the restore and rolls it back — and writes the store's ``sinc_estado`` rows recorded in
   the manifest, so the restored store resumes syncing where the snapshot left it.

MariaDB commits DDL implicitly: there, tables created before a failed (or killed) load stay,
empty, with the snapshot's shape; running the restore again loads them. A restore is also a
migration: a SQLite store's snapshot restored into PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url

from sinc_pipeline.core.engines import SUPPORTED_HINT, is_supported
from sinc_pipeline.io.bulk import bulk_insert
from sinc_pipeline.io.checksum import CHECKSUM_VERSION, table_checksum
from sinc_pipeline.core.db import connect, redact
from sinc_pipeline.core.errors import driver_message
from sinc_pipeline.io.declared import Declared
from sinc_pipeline.io.ddl import Created, TableSpec, create_tables, creation_order, loading
from sinc_pipeline.core.progress import Progress, counted
from sinc_pipeline.io.chunks import read_chunks
from sinc_pipeline.snapshots import (LocalStorage, Manifest, SnapshotError, chain_for, materialize_chain,
                        snapshot_table_schema, verify_chain)
from sinc_pipeline.io.fkorder import reference_levels
from sinc_pipeline.sync.plan import parents_first
from sinc_pipeline.sync.state import ensure_state_table, state_table

BATCH_ROWS = 50_000


class RestoreError(SnapshotError):
    """The target refuses the restore, or the restored data differs from the snapshot."""


@dataclass
class RestoreResult:
    snapshot_id: str
    chain: list[str]                 # the snapshot ids applied, full first
    target: str                      # the target URL, password hidden
    tables: dict[str, int]           # table -> rows restored
    created: list[str]               # tables created (absent before)
    replaced: list[str]              # tables that held rows and were replaced
    cursors: int                     # sinc_estado rows restored
    duration_s: float = 0.0
    checksums: dict[str, str] = field(default_factory=dict)


def check_target_url(url: str) -> str:
    """``url`` if it is a SQLAlchemy URL of a supported engine; else an error naming it."""
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        raise RestoreError(f"destino = {redact(url)!r} não é uma URL de banco válida. Dica: use uma URL SQLAlchemy, "
                           "ex.: sqlite:///data/loja_01_restaurada.db ou postgresql://usuario@host/banco.") from None
    if not is_supported(backend):
        raise RestoreError(f"destino = {redact(url)!r}: banco {backend!r} não suportado. Dica: {SUPPORTED_HINT}.")
    return url


def _rows_in(conn: Connection, table: str) -> int:
    t = sa.table(table)
    return conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()


def occupied_tables(conn: Connection, tables: list[str]) -> dict[str, int]:
    """The tables among ``tables`` that exist at the target and hold rows -> their row count."""
    insp = sa.inspect(conn)
    out = {}
    for name in tables:
        if insp.has_table(name):
            n = _rows_in(conn, name)
            if n:
                out[name] = n
    return out


def read_back(conn: Connection, name: str, schema: pa.Schema, key: list[str] | None = None,
              chunk_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """The target table's rows in the snapshot's canonical types, in key-range pieces (the same
    readers the dump uses), so verifying a large table never holds all of it twice."""
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    for _, piece in read_chunks(conn, table, schema, key or [], chunk_rows):
        yield piece


def _action(conn: Connection, name: str, schema: pa.Schema, exists: bool) -> str:
    """What ``name`` needs before the load: create, recreate (columns differ), empty, or nothing."""
    if not exists:
        return "create"
    have = sa.Table(name, sa.MetaData(), autoload_with=conn)
    if not all(c in have.c for c in schema.names):
        return "recreate"
    return "empty" if _rows_in(conn, name) else ""


def _prepare(conn: Connection, plans: dict[str, tuple[str, TableSpec]], own: dict) -> Created:
    """DDL first (MariaDB commits it implicitly), then the DELETEs, inside the load's transaction;
    ``plans`` is in creation order (parents first): drops and DELETEs go children first. MariaDB
    checks a self-reference row by row: there the table's references are set to NULL first (or,
    NOT NULL, checked off for the DELETE)."""
    for name, (action, _) in reversed(plans.items()):
        if action == "recreate":
            sa.Table(name, sa.MetaData(), autoload_with=conn).drop(conn)
    created = create_tables(conn, [spec for action, spec in plans.values() if action in ("create", "recreate")])
    for name, (action, _) in reversed(plans.items()):
        if action == "empty":
            _empty(conn, name, [c for cols, _ in own.get(name, []) for c in cols])
    return created


def declared_of_entry(entry) -> Declared | None:
    """The declarations a manifest entry recorded (validated when the manifest was read)."""
    return Declared.from_dict(entry.declared, [], "") if entry.declared is not None else None


def _empty(conn: Connection, name: str, refs: list[str]) -> None:
    if not refs or conn.dialect.name not in ("mysql", "mariadb"):
        conn.execute(sa.delete(sa.table(name)))
        return
    table = sa.Table(name, sa.MetaData(), autoload_with=conn, resolve_fks=False)
    if all(table.c[c].nullable for c in refs):
        conn.execute(sa.update(table).values({c: None for c in refs}))
        conn.execute(sa.delete(table))
        return
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")   # the table's own rows only: all of them go
    try:
        conn.execute(sa.delete(table))
    finally:
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


def _foreign_keys(conn: Connection, names: list[str]) -> tuple[list[str], dict[str, list]]:
    """The target's foreign keys between the restored tables: (names parents-first, each
    self-referencing table's (columns, referred columns) pairs, whose rows are loaded parents-first).
    On SQLite the checks also wait for the commit (``defer_foreign_keys``, this transaction only)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    insp, pairs, own = sa.inspect(conn), [], {}
    for name in names:
        if not insp.has_table(name):
            continue
        for fk in insp.get_foreign_keys(name):
            if fk["referred_table"] == name:
                own.setdefault(name, []).append((fk["constrained_columns"], fk["referred_columns"]))
            else:
                pairs.append((name, fk["referred_table"]))
    return parents_first(names, pairs), own


def _reference_order(state: pa.Table, pairs: list) -> pa.Table:
    """A self-referencing table's rows, parents before children (a cycle's rows last)."""
    pairs = [(c, r) for c, r in pairs if all(x in state.column_names for x in c + r)]
    if not pairs or not state.num_rows:
        return state
    levels, cycle = reference_levels(state, pairs)
    return state.take(pa.concat_arrays([*levels, cycle]))


def _check_columns(conn: Connection, schemas: dict[str, pa.Schema], url: str) -> None:
    """Without ``replace``, an existing (empty) table must have every column of the restored table
    (the table's columns, not an incremental file's ``_operacao``)."""
    insp = sa.inspect(conn)
    for name, schema in schemas.items():
        if insp.has_table(name):
            have = {c["name"] for c in insp.get_columns(name)}
            missing = [c for c in schema.names if c not in have]
            if missing:
                raise RestoreError(f"A tabela {name!r} do destino {redact(url)} não tem a(s) coluna(s) {missing} do "
                                   "snapshot. Nada foi gravado. Dica: apague a tabela, use um banco vazio ou "
                                   "substituir: true (a tabela é recriada).")


def _verify(conn: Connection, name: str, state: pa.Table, key: list[str], expected: tuple[int, str],
            url: str, version: int) -> str:
    rows, checksum = table_checksum(read_back(conn, name, state.schema, key), version)
    if (rows, checksum) != expected:
        raise RestoreError(
            f"Conferência da restauração falhou na tabela {name!r} do destino {redact(url)}: lidas {rows} linhas, "
            f"checksum {checksum}; o snapshot tem {expected[0]} linhas, checksum {expected[1]}. Nada foi gravado "
            "(a transação foi desfeita). Dica: confira se o banco de destino aceita os tipos e valores (ex.: "
            "colunas existentes com tipos menores) ou restaure num banco vazio.")
    return checksum


def _restore_cursors(conn: Connection, manifest: Manifest) -> int:
    """The store's ``sinc_estado`` rows as they were at the snapshot: the target's rows of this
    store are replaced by the manifest's (a row absent from the manifest would be stale)."""
    rows = [r for r in manifest.cursors.get("loja", []) if isinstance(r, dict)]
    if not rows and not sa.inspect(conn).has_table(state_table.name):
        return 0
    ensure_state_table(conn)
    conn.execute(sa.delete(state_table).where(state_table.c.loja == manifest.store))
    for r in rows:
        conn.execute(sa.delete(state_table).where(state_table.c.loja == r["loja"],
                                                  state_table.c.tabela == r["tabela"],
                                                  state_table.c.direcao == r["direcao"]))
        when = r.get("atualizado_em")
        conn.execute(sa.insert(state_table).values(
            loja=r["loja"], tabela=r["tabela"], direcao=r["direcao"], cursor_valor=r.get("cursor_valor"),
            cursor_tipo=r.get("cursor_tipo"), run_id=r.get("run_id"),
            atualizado_em=dt.datetime.fromisoformat(when) if when else None))
    return len(rows)


def _load_one(conn: Connection, storage: LocalStorage, chain: list[Manifest], name: str, target_url: str,
              result: RestoreResult, own: list, progress: Progress | None = None) -> None:
    entry, where = chain[-1].tables[name], redact(target_url)
    state = _reference_order(materialize_chain(storage, chain, name), own)
    try:
        bulk_insert(conn, name, counted(iter(state.to_batches(max_chunksize=BATCH_ROWS)), name, state.num_rows,
                                        progress))
    except Exception as err:  # noqa: BLE001 - any driver's error, named for the user
        raise RestoreError(f"Gravação da tabela {name!r} no destino {where} falhou: {driver_message(err)}. "
                           "Nada foi gravado (a transação foi desfeita). Dica: confira se as tabelas já "
                           "existentes no destino aceitam os valores, ou restaure num banco vazio.") from None
    # a full snapshot's manifest holds the table's checksum (in its entry's version); a chain's
    # state is computed (current version)
    version = entry.checksum_version if len(chain) == 1 else CHECKSUM_VERSION
    expected = (entry.rows, entry.checksum) if len(chain) == 1 else \
        table_checksum(state.to_batches(max_chunksize=BATCH_ROWS))
    result.checksums[name] = _verify(conn, name, state, entry.key, expected, target_url, version)
    result.tables[name] = state.num_rows


def restore(storage: LocalStorage, store_id: str, snapshot_ref: str, target_url: str,
            replace: bool = False, progress: Progress | None = None) -> RestoreResult:
    """Rebuild the store's tables at ``snapshot_ref`` in ``target_url``; see the module docstring.
    ``progress(table, done, total)`` after every chunk written."""
    t0 = time.perf_counter()
    check_target_url(target_url)
    chain = chain_for(storage, store_id, snapshot_ref)
    verify_chain(storage, chain, contents=True)                    # refuses before anything is written
    last = chain[-1]
    where = redact(target_url)
    with connect(target_url, f"de destino da restauração da loja {store_id}", write=True) as conn:
        names, own = _foreign_keys(conn, list(last.tables))
        busy = occupied_tables(conn, names)
        if busy and not replace:
            listed = ", ".join(f"{t!r} ({n} linhas)" for t, n in busy.items())
            raise RestoreError(f"O destino {where} não está vazio: {listed}. Nada foi gravado. Dica: restaure num "
                               "banco vazio ou use substituir: true para apagar essas tabelas e restaurar.")
        schemas = {name: snapshot_table_schema(storage, chain[0], name) for name in names}
        if not replace:
            _check_columns(conn, schemas, target_url)
        insp = sa.inspect(conn)
        specs = creation_order([TableSpec(name, schema, last.tables[name].key, declared_of_entry(last.tables[name]))
                                for name, schema in schemas.items()])
        order, own = _foreign_keys(conn, [sp.name for sp in specs])   # existing tables' own FKs too
        specs = sorted(specs, key=lambda sp: order.index(sp.name))
        plans = {s.name: (_action(conn, s.name, s.schema, insp.has_table(s.name)), s) for s in specs}
        created: list[Created] = []
        with loading(conn, lambda: created[0] if created else None):
            created.append(_prepare(conn, plans, own))
            result = RestoreResult(last.id, [m.id for m in chain], where, {},
                                   [n for n, p in plans.items() if p[0] == "create"],
                                   [n for n, p in plans.items() if p[0] in ("recreate", "empty")], 0)
            for name in plans:                                     # parents first, one table in memory at a time
                _load_one(conn, storage, chain, name, target_url, result, own.get(name, []), progress)
        result.cursors = _restore_cursors(conn, last)
    result.duration_s = round(time.perf_counter() - t0, 3)
    return result

