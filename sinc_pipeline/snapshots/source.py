"""What a dump reads: the store's configured tables, in ONE consistent state, and its cursors.

That state is, for a SQLite store, a private copy taken with SQLite's online backup (a fraction
of a second; the store keeps working); for PostgreSQL and MariaDB, a REPEATABLE READ
transaction. The manifest's cursors are the store's ``sinc_estado`` rows and the origin's rows
for this store's send tables.
"""
import contextlib
import dataclasses
import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.settings import Settings, StoreConfig
from sinc_pipeline.core.db import connect, get_engine, redact
from sinc_pipeline.core.errors import SchemaError, SincError, driver_message
from sinc_pipeline.core.layout import reflect_table, store_scope
from sinc_pipeline.sync.state import STATE_TABLE, state_table
from sinc_pipeline.core.types import arrow_type, warn_unknown_types
from sinc_pipeline.io.declared import Declared, declared_of


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
    declared: Declared | None = None   # what the store table declares (foreign keys among the sources)


def table_sources(settings: Settings, store: StoreConfig, conn: Connection) -> list[TableSource]:
    sources = []
    for cfg in settings.tables:
        table = reflect_table(conn, cfg.target_name, store.url, f"da loja {store.id}")
        key = [cfg.store_column(k) for k in store_scope(cfg, store, table.c.keys()).store_key(cfg.key)]
        missing = [k for k in key if k not in table.c]
        if missing:
            raise SchemaError(f"Coluna(s) de chave {missing} da tabela {table.name!r} não existem no banco da loja "
                              f"{store.id}. Colunas existentes: {', '.join(table.c.keys())}. Dica: corrija 'key' ou "
                              "'columns' da tabela na configuração.")
        warn_unknown_types(table, table.c.keys(), f"da loja {store.id} {redact(store.url)}")
        schema = pa.schema([(c.name, arrow_type(c.type)) for c in table.c])
        sources.append(TableSource(table.name, table, schema, key, declared_of(conn, table)))
    tables = {s.name: (s.name, {c: c for c in s.schema.names}) for s in sources}
    return [dataclasses.replace(s, declared=s.declared.renamed({c: c for c in s.schema.names}, tables))
            for s in sources]


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
def store_cursors(conn: Connection, where=None) -> list[dict]:
    """The positions (directions send and receive) of ``sinc_estado``; the repair marks and the
    check's window positions (``<direção>-reparo``/``-janela``) are not part of a snapshot."""
    if not sa.inspect(conn).has_table(STATE_TABLE):
        return []
    stmt = sa.select(state_table).where(state_table.c.direcao.in_(("send", "receive")))
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
            return store_cursors(conn, [state_table.c.loja == store.id, state_table.c.direcao == "send",
                                      state_table.c.tabela.in_(sends)]), None
    except (SincError, sa.exc.SQLAlchemyError) as err:
        return [], f"Cursores de envio da origem não registrados: {driver_message(err) if not isinstance(err, SincError) else err}"
