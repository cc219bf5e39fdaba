"""Gerar Base de Dados: a store's database read in one consistent state into a snapshot.

``dump_store(settings, store_id, mode)`` reads every configured table of the store (its own
table and column names, canonical Arrow types from the store's reflected column types, the
table's store key) and its ``sinc_estado`` rows from ONE consistent state (``source.py``),
chunk by chunk, into a ``SnapshotWriter``.

* ``completa``: every row of every table.
* ``incremental``: the rows that differ from the previous snapshot and the keys that
  disappeared (``delta.py``). Both ways of comparing find every change; SQLite may also list a
  row whose stored form changed but not its value (e.g. 20 rewritten as 20.0), which only
  repeats the row's current values.

The default mode is incremental when a full snapshot exists, else completa; an automatic
incremental becomes a full one when the parent chain is damaged or a table's columns changed
(an explicit ``modo=incremental`` fails instead, saying why). After a new full snapshot,
``apply_retention`` keeps ``snapshots.keep_full`` full chains.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from sinc_pipeline.core.progress import Progress, count_rows, counted

from sinc_pipeline.settings import Settings
from sinc_pipeline.core.engines import engine_of
from sinc_pipeline.snapshots import (COMPLETA, INCREMENTAL, KINDS, OPERACAO, LocalStorage, Manifest, SnapshotError,
                                     SnapshotWriter, apply_retention, chain_for, incremental_schema, latest,
                                     verify_chain)
from sinc_pipeline.snapshots.delta import full_batches, parquet_changes, previous_table, sqlite_changes
from sinc_pipeline.snapshots.source import (TableSource, attach_previous, consistent_source, origin_cursors,
                                           store_cursors, table_sources)

log = logging.getLogger(__name__)
PREVIEW_ROWS = 5


# ----------------------------------------------------------------------------------------------
# The dump
# ----------------------------------------------------------------------------------------------
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


def dump_store(settings: Settings, store_id: str, mode: str | None = None, run_id: str | None = None,
               progress: Progress | None = None) -> DumpResult:
    """Take a snapshot of the store's database; see the module docstring. ``progress(table, done,
    total)`` after every chunk (total 0 for an incremental: only changes are written)."""
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
        cursors = {"loja": store_cursors(conn), "origem": cursors_origin}
        with SnapshotWriter(storage, store.id, kind=kind, parent_id=chain[-1].id if chain else None,
                            source_engine=engine_of(conn), cursors=cursors) as writer:
            for src in sources:
                total = 0
                if kind == COMPLETA:
                    batches, schema = full_batches(conn, src, settings.chunk_size), src.schema
                    total = count_rows(conn, src.table) if progress is not None else 0
                else:
                    prev = previous_table(conn, src) if attached else None
                    compared_by[src.name] = "sqlite" if prev is not None else "parquet"
                    batches = sqlite_changes(conn, src, prev, settings.chunk_size) if prev is not None else \
                        parquet_changes(conn, src, storage, chain, settings.chunk_size)
                    schema = incremental_schema(src.schema, src.key)
                stream = _preview(counted(batches, src.name, total, progress), previews, src.name)
                try:
                    writer.write_table(src.name, stream, schema, src.key,
                                       src.declared.to_dict() if src.declared else None)
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
