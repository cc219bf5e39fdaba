"""``SnapshotWriter``: one snapshot written atomically, table by table, batch by batch.

It streams record batches into Parquet, one row group at a time, records per file the row
count, column types, sha256 of the file and a content checksum (``table_checksum``, the same one
the sync checks use on live tables), writes ``manifest.json`` last and renames the temporary
folder into place. An exception inside the ``with`` block removes the temporary folder: nothing
appears.

Rules that keep chains restorable: every incremental holds every table of its parent (an
unchanged table is written with zero rows), with the same key and the same columns/types; a new
table or a changed schema needs a new full snapshot. The writer enforces them.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sinc_pipeline.io.checksum import CHECKSUM_VERSION, table_checksum
from sinc_pipeline.snapshots.catalog import load_manifest
from sinc_pipeline.snapshots.manifest import (_ID_RE, _META_SNAPSHOT, _META_STORE, _META_TABLE, _STAMP_FMT, COMPLETA,
                                              DELETE, INCREMENTAL, KINDS, MANIFEST_FILE, OPERACAO, ROW_GROUP_ROWS,
                                              UPSERT, ColumnInfo, Manifest, SnapshotError, TableEntry, _check_name,
                                              _new_stamp)
from sinc_pipeline.snapshots.storage import Storage

def _columns(schema: pa.Schema, drop: str | None = None) -> list[ColumnInfo]:
    return [ColumnInfo(f.name, str(f.type)) for f in schema if f.name != drop]


class SnapshotWriter:
    """Writes one snapshot atomically; see the module docstring.

        with SnapshotWriter(storage, "loja01", kind="completa", source_engine="sqlite",
                            cursors={"produtos": "2026-11-28T10:00:00"}) as w:
            w.write_table("produtos", batches, schema, key=["id"])
        w.result   # Manifest of the published snapshot

    Batches are written as they come (buffered up to ``row_group_rows`` rows per row group),
    never concatenated into a whole table. ``cursors`` must be JSON-serialisable.
    """

    def __init__(self, storage: Storage, store_id: str, kind: str, parent_id: str | None = None,
                 source_engine: str = "", cursors: dict[str, Any] | None = None,
                 row_group_rows: int = ROW_GROUP_ROWS):
        self.storage = storage
        self.row_group_rows = row_group_rows
        self.store_id = _check_name(store_id, "loja")
        if kind not in KINDS:
            raise SnapshotError(f"Tipo de snapshot inválido: {kind!r}. Dica: use {' ou '.join(KINDS)}.")
        if kind == COMPLETA and parent_id is not None:
            raise SnapshotError(f"Snapshot completo com parent_id={parent_id!r}. Dica: só incrementais têm pai.")
        if kind == INCREMENTAL and not parent_id:
            raise SnapshotError("Snapshot incremental sem parent_id. Dica: informe o snapshot anterior "
                                "(latest(storage, loja).id) ou gere um completo.")
        cursors = dict(cursors or {})
        try:
            json.dumps(cursors)
        except (TypeError, ValueError) as err:
            raise SnapshotError(f"Cursores não serializáveis em JSON: {cursors!r} ({err}). Dica: converta datas "
                                "e decimais para texto antes de gravar o snapshot.") from None
        self.kind, self.parent_id = kind, parent_id
        self.source_engine, self.cursors = source_engine, cursors
        self.parent: Manifest | None = load_manifest(storage, store_id, parent_id) if parent_id else None
        self.result: Manifest | None = None
        self.id: str | None = None
        self.created_at: str | None = None
        self._temp: str | None = None
        self._tables: dict[str, TableEntry] = {}
        self._failed: str | None = None

    # -- context manager -----------------------------------------------------------------------
    def __enter__(self) -> SnapshotWriter:
        if self._temp is not None or self.result is not None:
            raise SnapshotError("SnapshotWriter já usado. Dica: crie um novo para cada snapshot.")
        self.storage.clean_temp(self.store_id)             # leftovers of crashed writes
        names = [n for n in self.storage.list_dirs(self.store_id) if _ID_RE.match(n)]
        stamp = _new_stamp(names[-1] if names else None)
        self.id = f"{stamp.strftime(_STAMP_FMT)}Z-{self.kind}"
        self.created_at = stamp.isoformat()
        self._temp = self.storage.make_temp_dir(self.store_id, self.id)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        temp, self._temp = self._temp, None
        try:
            if exc_type is None:
                self._finish(temp)
        finally:
            if self.result is None:
                self.storage.delete_dir(self.store_id, temp)
        return False

    def _finish(self, temp: str) -> None:
        if self._failed:
            raise SnapshotError(f"Snapshot da loja {self.store_id!r} não publicado: {self._failed}")
        if not self._tables:
            raise SnapshotError(f"Snapshot da loja {self.store_id!r} sem nenhuma tabela. Dica: chame "
                                "write_table para cada tabela configurada.")
        if self.parent is not None and set(self.parent.tables) != set(self._tables):
            missing = sorted(set(self.parent.tables) - set(self._tables))
            extra = sorted(set(self._tables) - set(self.parent.tables))
            raise SnapshotError(
                f"Snapshot incremental da loja {self.store_id!r} não tem as mesmas tabelas do pai "
                f"{self.parent_id!r}: faltam {missing}, sobram {extra}. Dica: grave toda tabela do pai (sem "
                "mudanças = zero linhas); uma tabela nova exige um snapshot completo.")
        manifest = Manifest(id=self.id, kind=self.kind, parent_id=self.parent_id, store=self.store_id,
                            created_at=self.created_at, source_engine=self.source_engine,
                            cursors=self.cursors, tables=dict(self._tables))
        self.storage.write_bytes(self.store_id, temp, MANIFEST_FILE, manifest.to_json().encode("utf-8"))
        self.storage.publish(self.store_id, temp, self.id)
        self.result = manifest

    # -- tables --------------------------------------------------------------------------------
    def write_table(self, name: str, batches: Iterable[pa.RecordBatch] | pa.Table | pa.RecordBatch,
                    schema: pa.Schema, key: list[str], declared: dict | None = None) -> TableEntry:
        """Stream ``batches`` (each cast to ``schema``) into ``<name>.parquet``; returns its entry.
        Incremental snapshots: ``schema`` must include ``_operacao`` (see ``incremental_schema``).
        ``declared``: what the table declares (``io.declared.Declared.to_dict``), for the restore."""
        if self._temp is None:
            raise SnapshotError("write_table fora do bloco 'with SnapshotWriter(...)'. Dica: use o writer "
                                "como gerenciador de contexto.")
        try:
            entry = self._write_table(name, batches, schema, list(key), declared)
        except BaseException as err:
            self._failed = f"a gravação da tabela {name!r} falhou ({type(err).__name__}: {err})"
            raise
        self._tables[name] = entry
        return entry

    def _check_table(self, name: str, schema: pa.Schema, key: list[str]) -> None:
        _check_name(name, "tabela")
        if name in self._tables:
            raise SnapshotError(f"Tabela {name!r} gravada duas vezes no snapshot {self.id!r}. Dica: chame "
                                "write_table uma vez por tabela, com todos os lotes.")
        names = schema.names
        missing = [k for k in key if k not in names]
        if not key or missing or OPERACAO in key:
            raise SnapshotError(f"Chave {key} inválida para a tabela {name!r}: colunas ausentes {missing or key}. "
                                f"Dica: colunas do esquema: {names}.")
        if len(set(names)) != len(names):
            raise SnapshotError(f"Tabela {name!r}: colunas repetidas no esquema {names}. Dica: renomeie-as.")
        if self.kind == INCREMENTAL and (OPERACAO not in names or schema.field(OPERACAO).type != pa.string()):
            raise SnapshotError(f"Tabela {name!r} do snapshot incremental sem a coluna {OPERACAO!r} (texto). "
                                "Dica: use incremental_changes / incremental_schema para montar os lotes.")
        if self.kind == COMPLETA and OPERACAO in names:
            raise SnapshotError(f"Tabela {name!r} do snapshot completo tem a coluna {OPERACAO!r}. Dica: ela só "
                                "existe em snapshots incrementais.")
        if self.parent is not None:
            before = self.parent.tables.get(name)
            if before is None:
                raise SnapshotError(f"Tabela {name!r} não existe no snapshot pai {self.parent_id!r}. Dica: uma "
                                    "tabela nova exige um snapshot completo.")
            now_cols = _columns(schema, OPERACAO)
            old_cols = [c for c in before.columns if c.name != OPERACAO]
            if before.key != key or now_cols != old_cols:
                raise SnapshotError(
                    f"Tabela {name!r} mudou desde o snapshot pai {self.parent_id!r}: chave {key} (era "
                    f"{before.key}), colunas {[(c.name, c.type) for c in now_cols]} (eram "
                    f"{[(c.name, c.type) for c in old_cols]}). Dica: mudança de esquema exige um snapshot completo.")

    def _conform(self, name: str, batch: Any, schema: pa.Schema) -> pa.RecordBatch:
        if not isinstance(batch, pa.RecordBatch):
            raise SnapshotError(f"Tabela {name!r}: lote do tipo {type(batch).__name__} (esperado "
                                "pyarrow.RecordBatch). Dica: passe um iterável de RecordBatch.")
        if batch.schema.names != schema.names:
            raise SnapshotError(f"Tabela {name!r}: lote com colunas {batch.schema.names}, esperado {schema.names}. "
                                "Dica: todos os lotes devem seguir o esquema passado a write_table.")
        if not batch.schema.equals(schema, check_metadata=False):
            try:
                batch = batch.cast(schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
                raise SnapshotError(f"Tabela {name!r}: lote com tipos {batch.schema} incompatíveis com o esquema "
                                    f"({err}). Dica: converta os tipos na leitura (core/types.py).") from None
        if self.kind == INCREMENTAL:
            ops = batch.column(OPERACAO)
            bad = pc.or_kleene(pc.is_null(ops), pc.invert(pc.is_in(ops, pa.array([UPSERT, DELETE]))))
            if pc.any(bad).as_py():
                raise SnapshotError(f"Tabela {name!r}: valores inválidos em {OPERACAO!r}: "
                                    f"{pc.unique(pc.filter(ops, bad)).to_pylist()[:5]}. Dica: use {UPSERT!r} ou {DELETE!r}.")
        return batch

    def _stream(self, name: str, batches: Any, schema: pa.Schema, writer: pq.ParquetWriter) -> Iterator[pa.RecordBatch]:
        """Yield each conformed batch (for the checksum) while writing it, one row group at a time."""
        if isinstance(batches, pa.Table):
            batches = batches.to_batches()
        elif isinstance(batches, pa.RecordBatch):
            batches = [batches]
        buffer: list[pa.RecordBatch] = []
        buffered = 0
        for batch in batches:
            batch = self._conform(name, batch, schema)
            yield batch
            buffer.append(batch)
            buffered += batch.num_rows
            if buffered >= self.row_group_rows:
                writer.write_table(pa.Table.from_batches(buffer, schema), row_group_size=self.row_group_rows)
                buffer, buffered = [], 0
        if buffer:
            writer.write_table(pa.Table.from_batches(buffer, schema), row_group_size=self.row_group_rows)

    def _write_table(self, name: str, batches: Any, schema: pa.Schema, key: list[str],
                     declared: dict | None = None) -> TableEntry:
        self._check_table(name, schema, key)
        file = f"{name}.parquet"
        with self.storage.open_write(self.store_id, self._temp, file) as sink:
            writer = pq.ParquetWriter(sink, schema, compression="zstd")
            try:
                rows, checksum = table_checksum(self._stream(name, batches, schema, writer))
                writer.add_key_value_metadata({_META_STORE: self.store_id, _META_SNAPSHOT: self.id,
                                               _META_TABLE: name})
            finally:
                writer.close()
        digest, size = hashlib.sha256(), 0
        with self.storage.open_read(self.store_id, self._temp, file) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        return TableEntry(rows=rows, columns=_columns(schema), key=key, file=file, sha256=digest.hexdigest(),
                          checksum=checksum, bytes=size, declared=declared, checksum_version=CHECKSUM_VERSION)
