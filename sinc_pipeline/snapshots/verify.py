"""Verifying a chain before it is used, and reading a snapshot's table back into Arrow."""
from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq

from sinc_pipeline.snapshots.catalog import load_manifest
from sinc_pipeline.snapshots.manifest import (_META_SNAPSHOT, _META_STORE, _META_TABLE, COMPLETA, INCREMENTAL,
                                              MANIFEST_FILE, Manifest, SnapshotError, TableEntry)
from sinc_pipeline.snapshots.storage import Storage
from sinc_pipeline.snapshots.trust import content_problems, manifest_problems

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
        if not prev.id < m.id:
            problems.append(f"{m.id!r} não é posterior ao seu pai {prev.id!r} (laço na cadeia)")
    ids = [m.id for m in chain]
    if len(set(ids)) != len(ids):
        problems.append(f"a cadeia repete snapshots: {ids} (laço)")
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


def _file_problem(storage: Storage, m: Manifest, table: str, entry: TableEntry, data: bytes | None = None) -> str | None:
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


def verify_chain(storage: Storage, chain: list[Manifest], contents: bool = False) -> None:
    """Check a chain before it is used: links, order and stores consistent, every manifest still
    the one on disk and every field a restore trusts sound (``trust.manifest_problems``), every
    file present with its recorded sha256 and written for this store/snapshot/table; with
    ``contents``, each file's rows, columns and content checksum are the manifest's too (parses
    every file: the restore asks for it). Reads every file once. Raises ``SnapshotError`` listing
    every problem (each naming the file)."""
    problems = _chain_problems(chain)
    for m in chain:
        where = storage.describe(m.store, m.id, MANIFEST_FILE)
        try:
            on_disk = load_manifest(storage, m.store, m.id)
            if on_disk != m:
                problems.append(f"{where}: manifesto mudou desde que foi lido")
        except SnapshotError as err:
            problems.append(str(err))
            continue
        problems += [f"{where}: {p}" for p in manifest_problems(m)]
        for table, entry in m.tables.items():
            data = None
            if contents:
                try:
                    data = storage.read_bytes(m.store, m.id, entry.file)
                except FileNotFoundError:
                    pass
            problem = _file_problem(storage, m, table, entry, data)
            if problem:
                problems.append(problem)
            elif data is not None:
                parsed = pq.ParquetFile(pa.BufferReader(data)).read()
                problems += content_problems(entry, parsed, storage.describe(m.store, m.id, entry.file))
                del parsed
    if problems:
        raise SnapshotError(
            f"Verificação da cadeia de snapshots {' -> '.join(repr(m.id) for m in chain)} falhou:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nDica: nada foi aplicado. Restaure os arquivos de outra cópia ou escolha outro snapshot "
              "(de preferência um completo mais recente).", problems)


def _strip_sinc_metadata(schema: pa.Schema) -> dict | None:
    meta = {k: v for k, v in (schema.metadata or {}).items() if not k.startswith(b"sinc.")}
    return meta or None


def read_snapshot_table(storage: Storage, m: Manifest, table: str) -> pa.Table:
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


def snapshot_table_schema(storage: Storage, m: Manifest, table: str) -> pa.Schema:
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
