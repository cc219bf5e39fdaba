"""``resolver_conflitos``: settle pending conflicts of two-way tables, without Dagster.

Each conflict is settled by the side to keep (``origem`` / ``loja``: that side's CURRENT row,
or its absence) or by a merged value (a dict of the row's columns). The value is written at the
store, then at the origin together with the new base and the conflict's status (``resolvido``),
so a crash in between is settled again by the same call. A natural-key conflict
(``chave_natural``) is only marked resolved: merging two customers is a person's work.
"""
from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa

from sinc_pipeline.capture.applying import applying
from sinc_pipeline.core.db import connect
from sinc_pipeline.core.errors import ConfigError
from sinc_pipeline.core.layout import resolve_plan
from sinc_pipeline.io.writer import apply
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.diff import Changes
from sinc_pipeline.sync.sides import sides_for, target_for
from sinc_pipeline.twoway.merge import SEP, base_table, groups_of, hashes
from sinc_pipeline.twoway.tables import conflict_rows, conflicts_table, now, write_base

SIDES = ("origem", "loja")


def key_values(text: str, schema: pa.Schema, key: list[str]) -> pa.Table:
    parts = text.split(SEP) if len(key) > 1 else [text]
    return pa.table({k: pa.array([v], pa.string()).cast(schema.field(k).type) for k, v in zip(key, parts)})


def resolve_conflicts(settings: Settings, ids: list[int], keep: str | None = None, value: dict | None = None,
                      run_id: str | None = None) -> list[dict]:
    """Settle ``ids`` (pending conflicts) keeping ``keep`` or writing ``value``; returns them settled."""
    if (keep is None) == (value is None) or (keep is not None and keep not in SIDES):
        raise ConfigError([f"resolver_conflitos: informe lado ({' ou '.join(SIDES)}) ou valor (a linha mesclada), "
                           f"não os dois; recebido lado={keep!r}. Dica: lado: origem"])
    with connect(settings.origin.url, "de origem") as oc:
        found = {c["id"]: c for c in conflict_rows(oc, ids)}
    missing = [i for i in ids if i not in found or found[i]["status"] != "pendente"]
    if missing:
        raise ConfigError([f"resolver_conflitos.ids: valor {missing} não são conflitos pendentes. Dica: veja o "
                           "asset conflitos_sincronizacao"])
    done = []
    for i in ids:
        done.append(_resolve_one(settings, found[i], keep, value))
    return done


def _resolve_one(settings: Settings, c: dict, keep: str | None, value: dict | None) -> dict:
    cfg, store = settings.table(c["tabela"]), settings.store(c["loja"])
    outcome = keep or "mesclado"
    if c["tipo"] != "chave_natural":
        as_receive = cfg.model_copy(update={"direction": "receive"})
        with connect(settings.origin.url, "de origem", snapshot=True) as oc, \
                connect(store.url, f"da loja {store.id}", snapshot=True) as sc:
            plan = resolve_plan(as_receive, store, oc, settings.origin.url, sc, store.url)
            o_side, s_side = sides_for(plan, "receive", oc, sc, settings.chunk_size)
            keys = key_values(c["chave"], o_side.schema, o_side.key)
            current = {"origem": o_side.read_keys_in(keys), "loja": s_side.read_keys_in(keys)}
        if value is not None:
            row = pa.Table.from_pylist([{**current["origem"].to_pylist()[0], **value}
                                        if current["origem"].num_rows else value], schema=o_side.schema)
        else:
            row = current[keep]
        store_ch, origin_ch = (_changes(row, current[s], o_side.key) for s in ("loja", "origem"))
        with connect(store.url, f"da loja {store.id}", write=True) as sc, applying(sc):
            apply(sc, [(target_for(plan, "receive"), store_ch)])
    with connect(settings.origin.url, "de origem", write=True) as oc:
        if c["tipo"] != "chave_natural":
            with applying(oc):
                apply(oc, [(target_for(plan, "send"), origin_ch)])
            groups = groups_of(row.column_names, o_side.key, cfg.origin_columns, cfg.store_columns)
            chave = pa.array([c["chave"]], pa.string())
            if row.num_rows:
                write_base(oc, store.id, cfg.name, base_table(chave, hashes(row, groups)), pa.array([], pa.string()))
            else:
                write_base(oc, store.id, cfg.name, base_table(pa.array([], pa.string()), hashes(row, groups)), chave)
        t = conflicts_table
        oc.execute(sa.update(t).where(t.c.id == c["id"]).values(status="resolvido", resultado=outcome,
                                                                 resolvido_em=now()))
    return {**c, "status": "resolvido", "resultado": outcome}


def _changes(row: pa.Table, current: pa.Table, key: list[str]) -> Changes:
    """What makes ``current`` (0 or 1 row) equal to ``row`` (0 or 1 row)."""
    empty = row.slice(0, 0) if row.num_rows else current.slice(0, 0)
    if not row.num_rows:
        return Changes(empty, empty, current.select(key))
    if not current.num_rows:
        return Changes(row, empty, empty.select(key))
    return Changes(empty, row, empty.select(key))
