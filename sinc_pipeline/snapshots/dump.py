"""Gerar Base de Dados: a store's database read in one consistent state into a snapshot.

``dump_store(settings, store_id, mode)`` reads every configured table of the store (its own
table and column names, canonical Arrow types from the store's reflected column types, the
table's store key) and its ``sinc_estado`` rows from ONE consistent state, chunk by chunk, into
a ``SnapshotWriter``. That state is, for a SQLite store, a private copy taken with SQLite's
online backup (a fraction of a second; the store keeps working); for PostgreSQL and MariaDB, a
REPEATABLE READ transaction.

* ``completa``: every row of every table.
* ``incremental``: the rows that differ from the previous snapshot and the keys that
  disappeared, comparing every column of every row (cursors are not trusted for this). For a
  SQLite store the copy read by the previous snapshot is kept next to the snapshots
  (``<root>/<store>/.copia-<snapshot id>.sqlite``) and SQLite compares the two copies itself;
  otherwise — another engine, no copy, a table without its key as primary key — each key range
  of the table is compared with the previous state rebuilt from the Parquet chain
  (``materialize_chain`` + ``incremental_changes``). Both find every change; SQLite may also
  list a row whose stored form changed but not its value (e.g. 20 rewritten as 20.0), which
  only repeats the row's current values.

The default mode is incremental when a full snapshot exists, else completa; an automatic
incremental becomes a full one when the parent chain is damaged or a table's columns changed
(an explicit ``modo=incremental`` fails instead, saying why). The manifest's cursors are the
store's ``sinc_estado`` rows and the origin's rows for this store's send tables. After a new
full snapshot, ``apply_retention`` keeps ``snapshots.keep_full`` full chains.

Chunked reads by key range live in ``chunks.py`` (shared with ``bootstrap.py`` and ``restore.py``).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.settings import Settings, StoreConfig, TableConfig
from sinc_pipeline.core.db import connect, get_engine, redact
from sinc_pipeline.core.errors import SchemaError, SincError
from sinc_pipeline.io.chunks import prefetch, read_chunks
from sinc_pipeline.io.ranges import Range, range_column
from sinc_pipeline.io.reader import iter_batches
from sinc_pipeline.core.layout import reflect_table
from sinc_pipeline.snapshots import (COMPLETA, DELETE, INCREMENTAL, KINDS, OPERACAO, UPSERT, LocalStorage, Manifest,
                        SnapshotError, SnapshotWriter, apply_retention, chain_for, incremental_changes,
                        incremental_schema, latest, materialize_chain, verify_chain)
from sinc_pipeline.sync.state import STATE_TABLE, state_table
from sinc_pipeline.core.types import arrow_type

log = logging.getLogger(__name__)
PREVIEW_ROWS = 5


# ----------------------------------------------------------------------------------------------
# What is read
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableSource:
    """One configured table as the store holds it."""
    name: str            # the store's table name (= the snapshot's table name)
    table: sa.Table      # reflected at the store
    schema: pa.Schema    # the store's columns, canonical Arrow types
    key: list[str]       # the table's store key (store column names)


def store_key(cfg: TableConfig, store: StoreConfig, store_columns: Iterable[str]) -> list[str]:
    """The key of ``cfg`` in the store's column names: the configured key, renamed, without the
    filter columns a scoped table's store copy lacks (it holds only its own rows)."""
    have = set(store_columns)
    filters = set(store.filter) if cfg.scoped else set()
    return [cfg.store_column(k) for k in cfg.key if not (k in filters and cfg.store_column(k) not in have)]


def table_sources(settings: Settings, store: StoreConfig, conn: Connection) -> list[TableSource]:
    sources = []
    for cfg in settings.tables:
        table = reflect_table(conn, cfg.target_name, store.url, f"da loja {store.id}")
        key = store_key(cfg, store, table.c.keys())
        missing = [k for k in key if k not in table.c]
        if missing:
            raise SchemaError(f"Coluna(s) de chave {missing} da tabela {table.name!r} não existem no banco da loja "
                              f"{store.id}. Colunas existentes: {', '.join(table.c.keys())}. Dica: corrija 'key' ou "
                              "'columns' da tabela na configuração.")
        schema = pa.schema([(c.name, arrow_type(c.type)) for c in table.c])
        sources.append(TableSource(table.name, table, schema, key))
    return sources


# ----------------------------------------------------------------------------------------------
# The consistent state: a SQLite online-backup copy, or a REPEATABLE READ transaction
# ----------------------------------------------------------------------------------------------
COPY_PREFIX, COPY_SUFFIX, COPY_TEMP = ".copia-", ".sqlite", ".copia-tmp-"
PREVIOUS = "anterior"          # schema name of the previous copy, ATTACHed for the comparison


def copy_path(folder: Path, snapshot_id: str) -> Path:
    """Where the SQLite copy read by ``snapshot_id`` is kept (the base of the next incremental)."""
    return folder / f"{COPY_PREFIX}{snapshot_id}{COPY_SUFFIX}"


def online_backup(url: str, dest: Path) -> None:
    """SQLite's online backup of the store's database into ``dest``: one consistent state,
    copied page by page while the store keeps reading and writing (WAL)."""
    raw = get_engine(url).raw_connection()
    try:
        target = sqlite3.connect(dest)
        try:
            raw.driver_connection.backup(target)
        finally:
            target.close()
    finally:
        raw.close()


@dataclass
class Source:
    """The consistent state a dump reads: a connection, and for SQLite the copy's file."""
    conn: Connection
    copy: Path | None = None
    keep_as: str | None = None       # set after publishing: keep the copy for this snapshot id


@contextlib.contextmanager
def consistent_source(settings: Settings, store: StoreConfig) -> Iterator[Source]:
    """A connection to one consistent state of the store. SQLite: an online-backup copy in the
    store's snapshot folder, kept afterwards as ``.copia-<snapshot id>.sqlite`` when the caller
    sets ``keep_as`` (older copies are removed), else deleted. The copy is local working state,
    not part of a snapshot: with a remote snapshot root it would live in a local cache folder."""
    role = f"da loja {store.id}"
    if sa.make_url(store.url).get_backend_name() != "sqlite":
        with connect(store.url, role, snapshot=True) as conn:
            yield Source(conn)
        return
    folder = Path(settings.snapshots.root) / store.id
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f"{COPY_TEMP}*"):                 # leftovers of a crashed dump
        stale.unlink(missing_ok=True)
    temp = folder / f"{COPY_TEMP}{uuid.uuid4().hex[:8]}{COPY_SUFFIX}"
    source = None
    try:
        with connect(store.url, role):                         # the same message if unreachable
            pass
        try:
            online_backup(store.url, temp)
        except sqlite3.Error as err:
            raise SincError(f"Cópia do banco da loja {store.id} ({redact(store.url)}) para {temp} falhou: {err}. "
                            "Dica: confira o espaço livre e a permissão de escrita na pasta dos snapshots.") from None
        eng = sa.create_engine(f"sqlite:///{temp}", poolclass=sa.pool.NullPool,
                               connect_args={"check_same_thread": False})
        try:
            with eng.connect() as conn:
                source = Source(conn, temp)
                yield source
        finally:
            eng.dispose()
        if source.keep_as:
            final = copy_path(folder, source.keep_as)
            temp.rename(final)
            for old in folder.glob(f"{COPY_PREFIX}*{COPY_SUFFIX}"):
                if old != final and not old.name.startswith(COPY_TEMP):
                    old.unlink(missing_ok=True)
    finally:
        temp.unlink(missing_ok=True)


def attach_previous(source: Source, folder: Path, snapshot_id: str) -> bool:
    """ATTACH the copy read by ``snapshot_id`` (the parent) as schema ``anterior``, if kept."""
    previous = copy_path(folder, snapshot_id)
    if source.copy is None or not previous.is_file():
        return False
    source.conn.exec_driver_sql(f"ATTACH DATABASE ? AS {PREVIOUS}", (str(previous),))
    return True


# ----------------------------------------------------------------------------------------------
# Cursors
# ----------------------------------------------------------------------------------------------
def _state_rows(conn: Connection, where=None) -> list[dict]:
    if not sa.inspect(conn).has_table(STATE_TABLE):
        return []
    stmt = sa.select(state_table)
    if where is not None:
        stmt = stmt.where(*where)
    out = []
    for r in conn.execute(stmt.order_by(state_table.c.tabela, state_table.c.direcao)).mappings():
        row = dict(r)
        if isinstance(row.get("atualizado_em"), dt.datetime):
            row["atualizado_em"] = row["atualizado_em"].isoformat()
        out.append({k: (None if v is None else str(v)) for k, v in row.items()})
    return out


def origin_cursors(settings: Settings, store: StoreConfig) -> tuple[list[dict], str | None]:
    """The origin's ``sinc_estado`` rows of this store's send tables; (rows, warning)."""
    sends = [t.name for t in settings.tables if t.direction == "send"]
    try:
        with connect(settings.origin.url, "de origem") as conn:
            return _state_rows(conn, [state_table.c.loja == store.id, state_table.c.direcao == "send",
                                      state_table.c.tabela.in_(sends)]), None
    except (SincError, sa.exc.SQLAlchemyError) as err:
        return [], f"Cursores de envio da origem não registrados: {str(err).splitlines()[0]}"


# ----------------------------------------------------------------------------------------------
# What a table contributes: every row, or the changes
# ----------------------------------------------------------------------------------------------
def full_batches(conn: Connection, src: TableSource, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Every row, read one key range ahead of the writer."""
    pieces = prefetch(read_chunks(conn, src.table, src.schema, src.key, chunk_rows))
    try:
        for _, piece in pieces:
            yield from piece.to_batches()
    finally:
        pieces.close()


def _slice(previous: pa.Table, column: str, rng: Range, sorted_keys) -> pa.Table:
    lo, hi = rng
    if sorted_keys is not None:                 # previous is sorted by key: a range is a slice
        a = 0 if lo is None else int(np.searchsorted(sorted_keys, lo, side="left"))
        b = len(sorted_keys) if hi is None else int(np.searchsorted(sorted_keys, hi, side="left"))
        return previous.slice(a, b - a)
    values, mask = previous.column(column), pa.scalar(True)
    if lo is not None:
        mask = pc.and_(mask, pc.greater_equal(values, lo))
    if hi is not None:
        mask = pc.and_(mask, pc.less(values, hi))
    return previous.filter(mask)


def parquet_changes(conn: Connection, src: TableSource, storage: LocalStorage, chain: list[Manifest],
                    chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Changes since the end of ``chain``: each key range of the table against the same range of
    the previous state (rebuilt from the Parquet files while the first range is read)."""
    column = range_column(conn, src.table, src.schema, src.key)
    pieces = prefetch(read_chunks(conn, src.table, src.schema, src.key, chunk_rows, column=column))
    try:
        previous = materialize_chain(storage, chain, src.name)
        sorted_keys = previous.column(column).to_numpy() if column == src.key[0] and previous.num_rows else None
        whole: list[pa.Table] = []
        for rng, current in pieces:
            if rng is None:
                whole.append(current)
                continue
            yield from incremental_changes(_slice(previous, column, rng, sorted_keys), current, src.key).to_batches()
        if whole:                               # no range column: the table in one piece
            yield from incremental_changes(previous, pa.concat_tables(whole), src.key).to_batches()
    finally:
        pieces.close()


def _previous_table(conn: Connection, src: TableSource) -> sa.Table | None:
    """The same table in the ATTACHed previous copy, when SQLite can compare the two by key:
    same columns and declared types, and the store key is the primary key on both sides."""
    try:
        prev = sa.Table(src.name, sa.MetaData(), schema=PREVIOUS, autoload_with=conn)
    except sa.exc.NoSuchTableError:
        return None
    same = [(c.name, str(c.type)) for c in prev.c] == [(c.name, str(c.type)) for c in src.table.c]
    keyed = sorted(c.name for c in prev.primary_key) == sorted(c.name for c in src.table.primary_key) == sorted(src.key)
    return prev if same and keyed else None


def sqlite_changes(conn: Connection, src: TableSource, prev: sa.Table, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """Changes between the previous copy and this one, found by SQLite itself (two joins on the
    primary key; values compared with ``IS NOT`` under BINARY collation, so NULLs, types and
    case count): only the changed rows and deleted keys are converted to Arrow."""
    cur, key = src.table, src.key
    out = incremental_schema(src.schema, key)

    def same_key(k: str):       # text keys byte for byte: a NOCASE column must not hide a new key
        text = pa.types.is_string(src.schema.field(k).type)
        return (cur.c[k].collate("BINARY") if text else cur.c[k]) == prev.c[k]

    on = sa.and_(*[same_key(k) for k in key])
    values = [c for c in src.schema.names if c not in key]
    differs = sa.or_(prev.c[key[0]].is_(None), *[cur.c[c].collate("BINARY").is_not(prev.c[c]) for c in values])
    upserts = sa.select(*[cur.c[c].label(c) for c in src.schema.names]).select_from(
        cur.outerjoin(prev, on)).where(differs)
    deleted = sa.select(*[prev.c[k].label(k) for k in key]).select_from(prev.outerjoin(cur, on)).where(
        cur.c[key[0]].is_(None))
    for batch in iter_batches(conn, upserts, src.schema, chunk_rows):
        ops = pa.array([UPSERT] * batch.num_rows, pa.string())
        yield pa.RecordBatch.from_arrays([*batch.columns, ops], schema=out)
    key_schema = pa.schema([src.schema.field(k) for k in key])
    for batch in iter_batches(conn, deleted, key_schema, chunk_rows):
        n = batch.num_rows
        cols = [batch.column(f.name) if f.name in key else pa.nulls(n, f.type) for f in src.schema]
        yield pa.RecordBatch.from_arrays([*cols, pa.array([DELETE] * n, pa.string())], schema=out)


# ----------------------------------------------------------------------------------------------
# The dump
# ----------------------------------------------------------------------------------------------
def engine_name(conn: Connection) -> str:
    """sqlite, postgresql, mariadb or mysql: the engine actually connected to."""
    return "mariadb" if getattr(conn.dialect, "is_mariadb", False) else conn.dialect.name


@dataclass
class DumpResult:
    manifest: Manifest
    path: str
    duration_s: float
    previews: dict[str, pa.Table] = field(default_factory=dict)   # first rows written per table
    deleted: list[str] = field(default_factory=list)              # ids removed by retention
    notes: list[str] = field(default_factory=list)                # why a mode changed, warnings
    compared_by: dict[str, str] = field(default_factory=dict)     # incremental: table -> sqlite|parquet


def choose_mode(storage: LocalStorage, store_id: str, requested: str | None) -> str:
    """``requested``, or the default: incremental when a full snapshot exists, else completa."""
    if requested is not None and requested not in KINDS:
        raise SnapshotError(f"modo = {requested!r} inválido. Dica: use {' ou '.join(KINDS)} (ou omita para o padrão).")
    if requested == COMPLETA:
        return COMPLETA
    try:
        has_full = latest(storage, store_id, COMPLETA) is not None
    except SnapshotError:
        if requested == INCREMENTAL:
            raise
        return COMPLETA     # a damaged folder: a new full snapshot is the remedy
    if requested == INCREMENTAL and not has_full:
        raise SnapshotError(f"Não há snapshot completo da loja {store_id!r} em {storage.describe(store_id)} para "
                            "um incremental partir dele. Dica: rode com modo=completa.")
    return requested or (INCREMENTAL if has_full else COMPLETA)


def _incompatibility(parent: Manifest, sources: list[TableSource]) -> str | None:
    names = [s.name for s in sources]
    if sorted(names) != sorted(parent.tables):
        return f"as tabelas mudaram desde o snapshot {parent.id!r}: {sorted(parent.tables)} -> {sorted(names)}"
    for s in sources:
        entry = parent.tables[s.name]
        before = [(c.name, c.type) for c in entry.columns if c.name != OPERACAO]
        now = [(f.name, str(f.type)) for f in s.schema]
        if entry.key != s.key or before != now:
            return (f"a tabela {s.name!r} mudou desde o snapshot {parent.id!r}: colunas {now} (eram {before}), "
                    f"chave {s.key} (era {entry.key})")
    return None


def _preview(batches: Iterator[pa.RecordBatch], keep: dict, name: str) -> Iterator[pa.RecordBatch]:
    """Pass batches through, remembering the first rows written (for the asset's preview)."""
    have, parts = 0, []
    try:
        for batch in batches:
            if have < PREVIEW_ROWS and batch.num_rows:
                parts.append(batch.slice(0, PREVIEW_ROWS - have))
                have += parts[-1].num_rows
            yield batch
    finally:
        batches.close()
    keep[name] = pa.Table.from_batches(parts) if parts else None


def _parent_chain(storage: LocalStorage, store_id: str, mode: str | None, notes: list[str]) -> list[Manifest]:
    """The chain an incremental extends (verified), or [] when a full snapshot must be taken."""
    try:
        chain = chain_for(storage, store_id, "latest")
        verify_chain(storage, chain)
        return chain
    except SnapshotError as err:
        if mode == INCREMENTAL:
            raise SnapshotError(f"Incremental impossível: a cadeia anterior está com problema. {err}\n"
                                "Dica: rode com modo=completa para começar uma cadeia nova.") from None
        notes.append(f"Snapshot completo em vez de incremental: a cadeia anterior está com problema ({err}).")
        return []


def dump_store(settings: Settings, store_id: str, mode: str | None = None, run_id: str | None = None) -> DumpResult:
    """Take a snapshot of the store's database; see the module docstring."""
    t0 = time.perf_counter()
    store = settings.store(store_id)
    storage = LocalStorage(settings.snapshots.root)
    notes: list[str] = []
    kind = choose_mode(storage, store.id, mode)
    chain = _parent_chain(storage, store.id, mode, notes) if kind == INCREMENTAL else []
    kind = INCREMENTAL if chain else COMPLETA
    cursors_origin, warning = origin_cursors(settings, store)
    notes += [warning] if warning else []
    previews: dict[str, pa.Table | None] = {}
    compared_by: dict[str, str] = {}
    with consistent_source(settings, store) as source:
        conn = source.conn
        sources = table_sources(settings, store, conn)
        why = _incompatibility(chain[-1], sources) if chain else None
        if why and mode == INCREMENTAL:
            raise SnapshotError(f"Incremental impossível para a loja {store.id!r}: {why}. Dica: mudança de "
                                "tabelas ou de colunas exige um snapshot completo; rode com modo=completa.")
        if why:
            notes.append(f"Snapshot completo em vez de incremental: {why}.")
            kind, chain = COMPLETA, []
        attached = bool(chain) and attach_previous(source, Path(settings.snapshots.root) / store.id, chain[-1].id)
        cursors = {"loja": _state_rows(conn), "origem": cursors_origin}
        with SnapshotWriter(storage, store.id, kind=kind, parent_id=chain[-1].id if chain else None,
                            source_engine=engine_name(conn), cursors=cursors) as writer:
            for src in sources:
                if kind == COMPLETA:
                    batches, schema = full_batches(conn, src, settings.chunk_size), src.schema
                else:
                    prev = _previous_table(conn, src) if attached else None
                    compared_by[src.name] = "sqlite" if prev is not None else "parquet"
                    batches = sqlite_changes(conn, src, prev, settings.chunk_size) if prev is not None else \
                        parquet_changes(conn, src, storage, chain, settings.chunk_size)
                    schema = incremental_schema(src.schema, src.key)
                stream = _preview(batches, previews, src.name)
                try:
                    writer.write_table(src.name, stream, schema, src.key)
                finally:
                    stream.close()     # stops and joins any reader thread before the connection closes
        source.keep_as = writer.result.id
    manifest = writer.result
    deleted: list[str] = []
    if kind == COMPLETA:
        try:
            deleted = apply_retention(storage, store.id, settings.snapshots.keep_full)
        except SnapshotError as err:
            notes.append(f"Retenção não aplicada (o snapshot novo está completo): {err}")
    return DumpResult(manifest, storage.describe(store.id, manifest.id), round(time.perf_counter() - t0, 3),
                      {k: v for k, v in previews.items() if v is not None}, deleted, notes, compared_by)
