"""Snapshots of a store's database as Parquet ("Gerar Base de Dados"), and their restore side.

Layout (through a storage object, see ``snapshot_storage.LocalStorage``)::

    <root>/<store_id>/<snapshot_id>/<table>.parquet    one file per table
    <root>/<store_id>/<snapshot_id>/manifest.json      written last

``snapshot_id`` is ``<UTC time to the microsecond>Z-<kind>``, e.g.
``20261128T101500123456Z-completa``: ids sort chronologically and are unique per store (a new id
is always later than every id already in the store). ``kind`` is ``completa`` (every row of
every table) or ``incremental`` (only the changes since ``parent_id``: each table carries an
extra column ``_operacao`` = ``upsert`` | ``delete``; delete rows carry only the key).

Contents of this module, all on Arrow data (no database, no Dagster):

* ``SnapshotWriter``: streams record batches into Parquet, one row group at a time, records
  per file the row count, column types, sha256 of the file and a content checksum
  (``table_checksum``, the same one the sync checks use on live tables), writes
  ``manifest.json`` last and renames the temporary folder into place. An exception inside the
  ``with`` block removes the temporary folder: nothing appears.
* ``list_snapshots`` / ``latest`` / ``resolve`` / ``load_manifest``: finding snapshots.
* ``chain_for`` (the full snapshot, then each incremental up to the requested one),
  ``verify_chain`` (every file present, sha256, parent links, store; raises before anything is
  applied) and ``materialize_chain`` (a table's state at the end of a chain).
* ``incremental_changes`` / ``apply_incremental``: the pure pair "what changed" / "apply it".
* ``apply_retention``: keep the newest N full snapshots with their incrementals.

Rules that keep chains restorable: every incremental holds every table of its parent (an
unchanged table is written with zero rows), with the same key and the same columns/types; a new
table or a changed schema needs a new full snapshot. ``SnapshotWriter`` enforces them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .checksum import table_checksum
from .diff import diff_tables, duplicate_keys
from .errors import SincError
from .snapshot_storage import LocalStorage

__all__ = [
    "COMPLETA", "INCREMENTAL", "OPERACAO", "UPSERT", "DELETE", "MANIFEST_FILE",
    "SnapshotError", "ColumnInfo", "TableEntry", "Manifest", "LocalStorage", "SnapshotWriter",
    "table_checksum", "load_manifest", "list_snapshots", "latest", "resolve", "chain_for",
    "verify_chain", "read_snapshot_table", "snapshot_table_schema", "materialize_chain", "incremental_schema",
    "incremental_changes",
    "apply_incremental", "apply_retention",
]

COMPLETA, INCREMENTAL = "completa", "incremental"
KINDS = (COMPLETA, INCREMENTAL)
OPERACAO, UPSERT, DELETE = "_operacao", "upsert", "delete"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1
ROW_GROUP_ROWS = 128 * 1024          # rows buffered before a Parquet row group is written
_ID_RE = re.compile(r"^(\d{8}T\d{12})Z-(completa|incremental)$")
_STAMP_FMT = "%Y%m%dT%H%M%S%f"
_META_STORE, _META_SNAPSHOT, _META_TABLE = b"sinc.store", b"sinc.snapshot", b"sinc.table"
_IDX = "__sinc_snap_i"


class SnapshotError(SincError, ValueError):
    """A snapshot is missing, damaged, foreign or misused; ``problems`` lists every finding."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message)


# ----------------------------------------------------------------------------------------------
# Manifest
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str          # str(pyarrow type), e.g. "decimal128(10, 2)", "timestamp[us]"


@dataclass(frozen=True)
class TableEntry:
    rows: int
    columns: list[ColumnInfo]
    key: list[str]
    file: str          # file name inside the snapshot folder
    sha256: str        # of the Parquet file's bytes
    checksum: str      # table_checksum of the contents (order- and engine-independent)
    bytes: int


@dataclass(frozen=True)
class Manifest:
    id: str
    kind: str
    parent_id: str | None
    store: str
    created_at: str    # ISO 8601, UTC
    source_engine: str
    cursors: dict[str, Any]
    tables: dict[str, TableEntry] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, where: str = MANIFEST_FILE) -> Manifest:
        """Parse and validate; every problem found is named in one ``SnapshotError``."""
        problems: list[str] = []

        def get(obj: Any, name: str, types: type | tuple, ctx: str) -> Any:
            value = obj.get(name) if isinstance(obj, dict) else None
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
                problems.append(f"campo '{ctx}{name}' = {value!r} inválido (esperado {_type_names(types)})")
                return None
            return value

        if not isinstance(data, dict):
            raise SnapshotError(f"Manifesto inválido em {where}: o conteúdo não é um objeto JSON. "
                                "Dica: o arquivo foi corrompido; restaure-o de outra cópia ou apague o snapshot.")
        tables: dict[str, TableEntry] = {}
        for tname, t in (get(data, "tables", dict, "") or {}).items():
            ctx = f"tables.{tname}."
            cols = []
            for i, c in enumerate(get(t, "columns", list, ctx) or []):
                cname, ctype = get(c, "name", str, f"{ctx}columns[{i}]."), get(c, "type", str, f"{ctx}columns[{i}].")
                cols.append(ColumnInfo(cname, ctype))
            key = get(t, "key", list, ctx) or []
            if not all(isinstance(k, str) for k in key):
                problems.append(f"campo '{ctx}key' = {key!r} inválido (esperado lista de textos)")
            file = get(t, "file", str, ctx)
            if file is not None and ("/" in file or "\\" in file or file.startswith(".")):
                problems.append(f"campo '{ctx}file' = {file!r} inválido (deve ser um nome de arquivo da própria pasta)")
            tables[tname] = TableEntry(rows=get(t, "rows", int, ctx), columns=cols, key=list(key), file=file,
                                       sha256=get(t, "sha256", str, ctx), checksum=get(t, "checksum", str, ctx),
                                       bytes=get(t, "bytes", int, ctx))
        kind = get(data, "kind", str, "")
        if kind is not None and kind not in KINDS:
            problems.append(f"campo 'kind' = {kind!r} inválido (esperado {' ou '.join(KINDS)})")
        m = cls(id=get(data, "id", str, ""), kind=kind, parent_id=get(data, "parent_id", (str, type(None)), ""),
                store=get(data, "store", str, ""), created_at=get(data, "created_at", str, ""),
                source_engine=get(data, "source_engine", str, ""), cursors=get(data, "cursors", dict, "") or {},
                tables=tables, format=get(data, "format", int, "") or 0)
        if m.format and m.format > FORMAT_VERSION:
            problems.append(f"campo 'format' = {m.format} é mais novo que o suportado ({FORMAT_VERSION}); "
                            "atualize o sinc_pipeline")
        if kind == COMPLETA and m.parent_id is not None:
            problems.append(f"campo 'parent_id' = {m.parent_id!r}: um snapshot completo não tem pai")
        if kind == INCREMENTAL and m.parent_id is None:
            problems.append("campo 'parent_id' ausente: um snapshot incremental precisa do pai")
        if problems:
            raise SnapshotError(
                f"Manifesto inválido em {where}:\n" + "\n".join(f"  - {p}" for p in problems)
                + "\nDica: o manifesto foi editado ou corrompido; restaure-o de outra cópia ou apague o snapshot.",
                problems)
        return m


def _as_tuple(types: type | tuple) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types: type | tuple) -> str:
    names = {str: "texto", int: "inteiro", list: "lista", dict: "objeto", type(None): "null"}
    return " ou ".join(names.get(t, t.__name__) for t in _as_tuple(types))


# ----------------------------------------------------------------------------------------------
# Ids and names
# ----------------------------------------------------------------------------------------------
_id_lock = threading.Lock()
_last_stamp = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _stamp_of(snapshot_id: str) -> dt.datetime | None:
    m = _ID_RE.match(snapshot_id)
    return dt.datetime.strptime(m.group(1), _STAMP_FMT).replace(tzinfo=dt.timezone.utc) if m else None


def _new_stamp(floor_id: str | None) -> dt.datetime:
    """Now (UTC), but strictly later than ``floor_id`` and than any stamp issued by this process."""
    global _last_stamp
    with _id_lock:
        stamp = dt.datetime.now(dt.timezone.utc)
        floors = [_last_stamp] + ([_stamp_of(floor_id)] if floor_id and _stamp_of(floor_id) else [])
        floor = max(floors)
        if stamp <= floor:
            stamp = floor + dt.timedelta(microseconds=1)
        _last_stamp = stamp
        return stamp


def _check_name(value: Any, what: str) -> str:
    if (not isinstance(value, str) or not value or value.startswith(".") or value in ("..",)
            or any(ch in value for ch in "/\\\x00")):
        raise SnapshotError(f"Nome de {what} inválido: {value!r}. Dica: use um nome simples, sem '/', '\\' "
                            "e sem começar com '.'.")
    return value


# ----------------------------------------------------------------------------------------------
# Finding snapshots
# ----------------------------------------------------------------------------------------------
def load_manifest(storage: LocalStorage, store_id: str, snapshot_id: str) -> Manifest:
    """Read ``<store_id>/<snapshot_id>/manifest.json``; refuses a manifest of another store/snapshot."""
    _check_name(store_id, "loja")
    _check_name(snapshot_id, "snapshot")
    where = storage.describe(store_id, snapshot_id, MANIFEST_FILE)
    if not storage.exists(store_id, snapshot_id):
        raise SnapshotError(f"Snapshot {snapshot_id!r} da loja {store_id!r} não encontrado "
                            f"({storage.describe(store_id, snapshot_id)}). Dica: veja os snapshots disponíveis "
                            "com list_snapshots; os antigos podem ter sido apagados pela retenção.")
    try:
        raw = storage.read_bytes(store_id, snapshot_id, MANIFEST_FILE)
    except FileNotFoundError:
        raise SnapshotError(f"Manifesto ausente: {where}. Dica: a pasta não é um snapshot completo "
                            "(cópia interrompida?); restaure-a de outra cópia ou apague-a.") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SnapshotError(f"Manifesto ilegível em {where}: {err}. Dica: o arquivo foi corrompido; "
                            "restaure-o de outra cópia ou apague o snapshot.") from None
    m = Manifest.from_dict(data, where)
    if m.store != store_id or m.id != snapshot_id:
        raise SnapshotError(
            f"Manifesto estrangeiro em {where}: ele descreve o snapshot {m.id!r} da loja {m.store!r}, mas está "
            f"na pasta do snapshot {snapshot_id!r} da loja {store_id!r}. Dica: um arquivo foi copiado de outra "
            "loja/snapshot; restaure a pasta original ou apague-a.")
    if _ID_RE.match(m.id) is None or _ID_RE.match(m.id).group(2) != m.kind:
        raise SnapshotError(f"Manifesto inválido em {where}: id {m.id!r} não combina com kind {m.kind!r}. "
                            "Dica: o manifesto foi editado; restaure-o de outra cópia.")
    return m


def list_snapshots(storage: LocalStorage, store_id: str) -> list[Manifest]:
    """Every finished snapshot of the store, oldest first (``.tmp-*`` folders are ignored)."""
    _check_name(store_id, "loja")
    return [load_manifest(storage, store_id, name) for name in storage.list_dirs(store_id) if _ID_RE.match(name)]


def latest(storage: LocalStorage, store_id: str, kind: str | None = None) -> Manifest | None:
    """The newest snapshot of the store (of ``kind`` when given), or None."""
    if kind is not None and kind not in KINDS:
        raise SnapshotError(f"Tipo de snapshot inválido: {kind!r}. Dica: use {' ou '.join(KINDS)}.")
    found = [m for m in list_snapshots(storage, store_id) if kind is None or m.kind == kind]
    return found[-1] if found else None


def resolve(storage: LocalStorage, store_id: str, ref: str) -> Manifest:
    """``"latest"`` or a snapshot id -> its manifest; a clear error when there is none."""
    if ref == "latest":
        m = latest(storage, store_id)
        if m is None:
            raise SnapshotError(f"Nenhum snapshot da loja {store_id!r} em {storage.describe(store_id)}. "
                                "Dica: rode 'Gerar Base de Dados' (snapshot completo) primeiro.")
        return m
    if not isinstance(ref, str) or _ID_RE.match(ref) is None:
        raise SnapshotError(f"Snapshot {ref!r} inválido para a loja {store_id!r}. Dica: use 'latest' ou um id "
                            "como 20261128T101500123456Z-completa.")
    return load_manifest(storage, store_id, ref)


def chain_for(storage: LocalStorage, store_id: str, snapshot_id: str) -> list[Manifest]:
    """The full snapshot, then each incremental up to ``snapshot_id`` (or "latest"), via parent_id."""
    chain = [resolve(storage, store_id, snapshot_id)]
    while chain[-1].kind == INCREMENTAL:
        child = chain[-1]
        pid = child.parent_id
        if _ID_RE.match(pid or "") is None or pid >= child.id:
            raise SnapshotError(
                f"Pai inválido no manifesto {storage.describe(store_id, child.id, MANIFEST_FILE)}: parent_id = "
                f"{pid!r} (deve ser um snapshot anterior). Dica: o manifesto foi editado; gere um novo snapshot completo.")
        try:
            chain.append(load_manifest(storage, store_id, pid))
        except SnapshotError as err:
            raise SnapshotError(f"Cadeia do snapshot {snapshot_id!r} quebrada: o pai {pid!r} de {child.id!r} não "
                                f"pôde ser lido. {err}") from None
    return chain[::-1]


# ----------------------------------------------------------------------------------------------
# Verification and reading
# ----------------------------------------------------------------------------------------------
def _chain_problems(chain: list[Manifest]) -> list[str]:
    if not chain:
        return ["cadeia vazia: nenhum snapshot"]
    problems = []
    if chain[0].kind != COMPLETA:
        problems.append(f"a cadeia começa em {chain[0].id!r}, que não é um snapshot completo")
    for prev, m in zip(chain, chain[1:]):
        if m.kind != INCREMENTAL:
            problems.append(f"{m.id!r} no meio da cadeia não é incremental")
        if m.parent_id != prev.id:
            problems.append(f"{m.id!r} tem parent_id {m.parent_id!r}, mas vem depois de {prev.id!r}")
        if m.store != chain[0].store:
            problems.append(f"{m.id!r} é da loja {m.store!r}, a cadeia é da loja {chain[0].store!r}")
    return problems


def _foreign(meta: dict | None, m: Manifest, table: str) -> str | None:
    """Why the Parquet footer says the file belongs elsewhere, or None."""
    meta = meta or {}
    got = {k: meta.get(k, b"").decode("utf-8", "replace") for k in (_META_STORE, _META_SNAPSHOT, _META_TABLE)}
    want = {_META_STORE: m.store, _META_SNAPSHOT: m.id, _META_TABLE: table}
    if got != want:
        return (f"arquivo estrangeiro: pertence à loja {got[_META_STORE] or '?'!r}, snapshot "
                f"{got[_META_SNAPSHOT] or '?'!r}, tabela {got[_META_TABLE] or '?'!r}")
    return None


def _file_problem(storage: LocalStorage, m: Manifest, table: str, entry: TableEntry, data: bytes | None = None) -> str | None:
    """Check one table file (presence, sha256, origin); ``data`` = its bytes if already read."""
    where = storage.describe(m.store, m.id, entry.file)
    if data is None and not storage.exists(m.store, m.id, entry.file):
        return f"{where}: arquivo ausente (tabela {table!r} do manifesto)"
    if data is None:
        digest = hashlib.sha256()
        with storage.open_read(m.store, m.id, entry.file) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        sha = digest.hexdigest()
    else:
        sha = hashlib.sha256(data).hexdigest()
    try:
        if data is not None:
            foreign = _foreign(pq.ParquetFile(pa.BufferReader(data)).metadata.metadata, m, table)
        else:
            with storage.open_read(m.store, m.id, entry.file) as f:
                foreign = _foreign(pq.ParquetFile(f).metadata.metadata, m, table)
    except (pa.ArrowException, OSError):
        foreign = None
        if sha == entry.sha256:      # recorded as written, yet unreadable: report it all the same
            return f"{where}: conteúdo corrompido (não é um Parquet legível)"
    if foreign:                      # checked even when the sha256 matches (manifest edited too)
        return f"{where}: {foreign}; esperado loja {m.store!r}, snapshot {m.id!r}, tabela {table!r}"
    if sha != entry.sha256:
        return (f"{where}: conteúdo alterado ou corrompido: sha256 {sha[:16]}… difere do manifesto "
                f"({(entry.sha256 or '')[:16]}…)")
    return None


def verify_chain(storage: LocalStorage, chain: list[Manifest]) -> None:
    """Check a chain before it is used: links and stores consistent, every manifest still the one
    on disk, every file present with its recorded sha256 and written for this store/snapshot/table.
    Reads every file once. Raises ``SnapshotError`` listing every problem (each naming the file)."""
    problems = _chain_problems(chain)
    for m in chain:
        try:
            on_disk = load_manifest(storage, m.store, m.id)
            if on_disk != m:
                problems.append(f"{storage.describe(m.store, m.id, MANIFEST_FILE)}: manifesto mudou desde que foi lido")
        except SnapshotError as err:
            problems.append(str(err))
            continue
        for table, entry in m.tables.items():
            problem = _file_problem(storage, m, table, entry)
            if problem:
                problems.append(problem)
    if problems:
        raise SnapshotError(
            f"Verificação da cadeia de snapshots {' -> '.join(repr(m.id) for m in chain)} falhou:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nDica: nada foi aplicado. Restaure os arquivos de outra cópia ou escolha outro snapshot "
              "(de preferência um completo mais recente).", problems)


def _strip_sinc_metadata(schema: pa.Schema) -> dict | None:
    meta = {k: v for k, v in (schema.metadata or {}).items() if not k.startswith(b"sinc.")}
    return meta or None


def read_snapshot_table(storage: LocalStorage, m: Manifest, table: str) -> pa.Table:
    """One table file of one snapshot, verified (sha256, origin) on the very bytes parsed."""
    entry = m.tables.get(table)
    if entry is None:
        raise SnapshotError(f"A tabela {table!r} não está no snapshot {m.id!r} da loja {m.store!r} "
                            f"(tabelas: {sorted(m.tables)}). Dica: confira o nome da tabela.")
    where = storage.describe(m.store, m.id, entry.file)
    try:
        data = storage.read_bytes(m.store, m.id, entry.file)
    except FileNotFoundError:
        raise SnapshotError(f"{where}: arquivo ausente (tabela {table!r}). Dica: restaure o arquivo de outra "
                            "cópia ou escolha outro snapshot.") from None
    problem = _file_problem(storage, m, table, entry, data)
    if problem:
        raise SnapshotError(problem + ". Dica: restaure o arquivo de outra cópia ou escolha outro snapshot.")
    t = pq.ParquetFile(pa.BufferReader(data)).read()
    return t.replace_schema_metadata(_strip_sinc_metadata(t.schema))


def snapshot_table_schema(storage: LocalStorage, m: Manifest, table: str) -> pa.Schema:
    """The Arrow schema of one table file, read from its Parquet footer only (the ``sinc.*``
    metadata removed). For a full snapshot this is the schema ``materialize_chain`` returns.
    Call ``verify_chain`` first: only the footer is parsed here, the file is not hashed."""
    entry = m.tables.get(table)
    if entry is None:
        raise SnapshotError(f"A tabela {table!r} não está no snapshot {m.id!r} da loja {m.store!r} "
                            f"(tabelas: {sorted(m.tables)}). Dica: confira o nome da tabela.")
    with storage.open_read(m.store, m.id, entry.file) as f:
        schema = pq.ParquetFile(f).schema_arrow
    return schema.with_metadata(_strip_sinc_metadata(schema) or {})


# ----------------------------------------------------------------------------------------------
# Incremental changes (pure)
# ----------------------------------------------------------------------------------------------
def incremental_schema(schema: pa.Schema, key: list[str]) -> pa.Schema:
    """``schema`` of an incremental table: non-key columns nullable, plus ``_operacao`` (string)."""
    fields = [f if f.name in key else f.with_nullable(True) for f in schema]
    return pa.schema(fields + [pa.field(OPERACAO, pa.string())], metadata=schema.metadata)


def _check_key(table: pa.Table, key: list[str], what: str) -> None:
    missing = [k for k in key if k not in table.column_names]
    if not key or missing:
        raise SnapshotError(f"Chave {key} inválida para {what}: colunas ausentes {missing or key}. "
                            f"Dica: colunas disponíveis: {table.column_names}.")
    nulls = [k for k in key if table.column(k).null_count]
    if nulls:
        raise SnapshotError(f"Chave nula em {what}: coluna(s) {nulls} com NULL. Dica: a chave deve estar "
                            "sempre preenchida.")
    dups = duplicate_keys(table, key)
    if dups:
        raise SnapshotError(f"Chave duplicada em {what}: {dups}. Dica: a chave {key} deve identificar uma "
                            "linha só; corrija os dados ou a chave configurada.")


def incremental_changes(previous: pa.Table, current: pa.Table, key: list[str]) -> pa.Table:
    """Rows turning ``previous`` into ``current``: new and changed rows as "upsert" (current values),
    keys of removed rows as "delete" (other columns null); schema ``incremental_schema(current)``.
    Nothing changed -> zero rows. NULL equals NULL; decimals compare exactly."""
    key = list(key)
    if sorted(previous.column_names) != sorted(current.column_names):
        raise SnapshotError(f"Colunas diferentes entre o estado anterior {previous.column_names} e o atual "
                            f"{current.column_names}. Dica: mudança de esquema exige um snapshot completo.")
    try:
        previous = previous.select(current.column_names).cast(current.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise SnapshotError(f"Tipos diferentes entre o estado anterior e o atual: {err}. Dica: mudança de "
                            "esquema exige um snapshot completo.") from None
    _check_key(previous, key, "estado anterior")
    _check_key(current, key, "estado atual")
    ch = diff_tables(current, previous, key)
    out = incremental_schema(current.schema, key)
    data_schema = pa.schema(list(out)[:-1], metadata=out.metadata)
    ups = pa.concat_tables([ch.inserts, ch.updates]).cast(data_schema)
    ups = ups.append_column(out.field(OPERACAO), pa.array([UPSERT] * ups.num_rows, pa.string()))
    n = ch.deletes.num_rows
    dels = pa.table([ch.deletes.column(f.name) if f.name in key else pa.nulls(n, f.type) for f in data_schema]
                    + [pa.array([DELETE] * n, pa.string())], schema=out)
    return pa.concat_tables([ups, dels])


def apply_incremental(state: pa.Table, changes: pa.Table, key: list[str], where: str = "incremental") -> pa.Table:
    """``state`` with ``changes`` applied: rows whose key appears in ``changes`` are removed, then
    the "upsert" rows are appended (a delete of an absent key is a no-op). Vectorised: a left-anti
    hash join on the key columns only. Row order of the result is unspecified."""
    key = list(key)
    if OPERACAO not in changes.column_names:
        raise SnapshotError(f"{where}: coluna {OPERACAO!r} ausente. Dica: um incremental precisa dela "
                            f"({UPSERT!r}/{DELETE!r}).")
    data_cols = [c for c in changes.column_names if c != OPERACAO]
    if sorted(data_cols) != sorted(state.column_names):
        raise SnapshotError(f"{where}: colunas {data_cols} diferentes do estado {state.column_names}. Dica: "
                            "mudança de esquema exige um snapshot completo.")
    ops = changes.column(OPERACAO)
    bad = pc.or_kleene(pc.is_null(ops), pc.invert(pc.is_in(ops, pa.array([UPSERT, DELETE]))))
    if pc.any(bad).as_py():
        sample = pc.unique(pc.filter(ops, bad)).to_pylist()[:5]
        raise SnapshotError(f"{where}: valores inválidos em {OPERACAO!r}: {sample}. Dica: use {UPSERT!r} ou {DELETE!r}.")
    _check_key(changes, key, where)
    try:
        upserts = changes.filter(pc.equal(ops, UPSERT)).select(state.column_names).cast(state.schema)
        keys = changes.select(key).cast(state.select(key).schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise SnapshotError(f"{where}: tipos diferentes do estado: {err}. Dica: mudança de esquema exige um "
                            "snapshot completo.") from None
    idx = state.select(key).append_column(_IDX, pa.array(range(state.num_rows), pa.int64()))
    kept = idx.join(keys, keys=key, join_type="left anti").column(_IDX)
    kept = pc.take(kept, pc.sort_indices(kept))      # keep the state's row order
    return pa.concat_tables([state.take(kept), upserts])


def materialize_chain(storage: LocalStorage, chain: list[Manifest], table: str) -> pa.Table:
    """``table`` as it was at the last snapshot of ``chain`` (from ``chain_for``), sorted by key.

    Starts from the full snapshot and applies each incremental in order; the key comes from the
    manifest. Each file is verified (sha256, origin) before it is parsed; call ``verify_chain``
    first to refuse the whole chain before restoring any table. Memory bound: one table at a
    time, i.e. the table's state plus one incremental file (its Parquet bytes and Arrow data),
    and about twice the state while an incremental is applied."""
    problems = _chain_problems(chain)
    if problems:
        raise SnapshotError("Cadeia de snapshots inválida:\n" + "\n".join(f"  - {p}" for p in problems)
                            + "\nDica: obtenha a cadeia com chain_for.", problems)
    base = chain[0]
    state = read_snapshot_table(storage, base, table)
    key = base.tables[table].key
    where = storage.describe(base.store, base.id, base.tables[table].file)
    if OPERACAO in state.column_names:
        raise SnapshotError(f"{where}: coluna {OPERACAO!r} num snapshot completo. Dica: o arquivo não é de "
                            "um snapshot completo; gere um novo.")
    _check_key(state, key, where)
    for m in chain[1:]:
        entry = m.tables.get(table)
        if entry is None:
            raise SnapshotError(f"A tabela {table!r} não está no snapshot incremental {m.id!r} da loja {m.store!r}. "
                                "Dica: cada incremental grava todas as tabelas do pai; gere um novo snapshot completo.")
        if entry.key != key:
            raise SnapshotError(f"Chave da tabela {table!r} mudou no snapshot {m.id!r}: {entry.key} (era {key}). "
                                "Dica: mudança de chave exige um snapshot completo.")
        changes = read_snapshot_table(storage, m, table)
        state = apply_incremental(state, changes, key, storage.describe(m.store, m.id, entry.file))
    return state.sort_by([(k, "ascending") for k in key]).combine_chunks()


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------
def _columns(schema: pa.Schema, drop: str | None = None) -> list[ColumnInfo]:
    return [ColumnInfo(f.name, str(f.type)) for f in schema if f.name != drop]


class SnapshotWriter:
    """Writes one snapshot atomically; see the module docstring.

        with SnapshotWriter(storage, "loja01", kind="completa", source_engine="sqlite",
                            cursors={"produtos": "2026-11-28T10:00:00"}) as w:
            w.write_table("produtos", batches, schema, key=["id"])
        w.result   # Manifest of the published snapshot

    Batches are written as they come (buffered up to ``ROW_GROUP_ROWS`` rows per row group),
    never concatenated into a whole table. ``cursors`` must be JSON-serialisable.
    """

    def __init__(self, storage: LocalStorage, store_id: str, kind: str, parent_id: str | None = None,
                 source_engine: str = "", cursors: dict[str, Any] | None = None):
        self.storage = storage
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
                    schema: pa.Schema, key: list[str]) -> TableEntry:
        """Stream ``batches`` (each cast to ``schema``) into ``<name>.parquet``; returns its entry.
        Incremental snapshots: ``schema`` must include ``_operacao`` (see ``incremental_schema``)."""
        if self._temp is None:
            raise SnapshotError("write_table fora do bloco 'with SnapshotWriter(...)'. Dica: use o writer "
                                "como gerenciador de contexto.")
        try:
            entry = self._write_table(name, batches, schema, list(key))
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
                                    f"({err}). Dica: converta os tipos na leitura (types.py).") from None
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
            if buffered >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(buffer, schema), row_group_size=ROW_GROUP_ROWS)
                buffer, buffered = [], 0
        if buffer:
            writer.write_table(pa.Table.from_batches(buffer, schema), row_group_size=ROW_GROUP_ROWS)

    def _write_table(self, name: str, batches: Any, schema: pa.Schema, key: list[str]) -> TableEntry:
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
                          checksum=checksum, bytes=size)


# ----------------------------------------------------------------------------------------------
# Retention
# ----------------------------------------------------------------------------------------------
def apply_retention(storage: LocalStorage, store_id: str, keep_full: int = 7) -> list[str]:
    """Keep the newest ``keep_full`` full snapshots with their incrementals; delete the older
    chains (and anything older than the oldest kept full). Returns the deleted ids.

    Call it only right after a new full snapshot completed: the function itself just keeps the
    newest N full chains, so calling it before would count a failed/absent new full as nothing.
    Deletes newest first, so an interruption leaves each remaining chain a valid prefix."""
    if not isinstance(keep_full, int) or isinstance(keep_full, bool) or keep_full < 1:
        raise SnapshotError(f"keep_full = {keep_full!r} inválido. Dica: use um inteiro >= 1 (padrão 7).")
    snaps = list_snapshots(storage, store_id)
    fulls = [m for m in snaps if m.kind == COMPLETA]
    if len(fulls) <= keep_full:
        return []
    kept_roots = {m.id for m in fulls[-keep_full:]}
    cutoff = fulls[-keep_full].id
    by_id = {m.id: m for m in snaps}

    def root(m: Manifest) -> str | None:
        seen = set()
        while m.kind == INCREMENTAL and m.parent_id in by_id and m.id not in seen:
            seen.add(m.id)
            m = by_id[m.parent_id]
        return m.id if m.kind == COMPLETA else None

    doomed = [m.id for m in snaps if m.id < cutoff or (root(m) is not None and root(m) not in kept_roots)]
    for snapshot_id in reversed(doomed):
        storage.delete_dir(store_id, snapshot_id)
    return doomed
