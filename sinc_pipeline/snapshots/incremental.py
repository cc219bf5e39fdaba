"""Incremental snapshots: "what changed" / "apply it" on Arrow tables, and a chain's end state."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sinc_pipeline.snapshots.manifest import _IDX, DELETE, OPERACAO, UPSERT, Manifest, SnapshotError
from sinc_pipeline.snapshots.storage import Storage
from sinc_pipeline.snapshots.verify import _chain_problems, read_snapshot_table
from sinc_pipeline.sync.diff import check_key, diff_tables

def incremental_schema(schema: pa.Schema, key: list[str]) -> pa.Schema:
    """``schema`` of an incremental table: non-key columns nullable, plus ``_operacao`` (string)."""
    fields = [f if f.name in key else f.with_nullable(True) for f in schema]
    return pa.schema(fields + [pa.field(OPERACAO, pa.string())], metadata=schema.metadata)


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
    check_key(previous, key, "estado anterior", error=SnapshotError)
    check_key(current, key, "estado atual", error=SnapshotError)
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
    check_key(changes, key, where, error=SnapshotError)
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


def materialize_chain(storage: Storage, chain: list[Manifest], table: str) -> pa.Table:
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
    check_key(state, key, where, error=SnapshotError)
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
