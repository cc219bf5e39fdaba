"""Sync one two-way table (``direction: both``) for one store, without Dagster.

Read the store's scoped rows at the origin (O), the store's rows (S) and the base (B, each
row's hashes at the last sync, ``sinc_base`` at the origin), merge them (``twoway/merge.py``)
and write, in this order, each step its own transaction:

1. the conflicts found, at the origin (``conflitos_sincronizacao``; a conflict already recorded
   is not recorded again);
2. the store's changes (with the capture's echo suppressed: ``capture/applying.py``);
3. the origin's changes and the new base, together.

A crash after 1 or 2 is safe to rerun: the merge starts again from O, S and B; a row the store
already took now equals the origin's (in sync: only its base is written), a conflict already
recorded is found by its signature. ``simulate``: compute everything, write nothing.

In journal mode (``capture: journal``, ``twoway/journal.py``) O, S and B are read for just the
keys journaled on either side since the store's positions, and the positions are written in
step 3 with the base; a store the journal cannot tell about is compared in full once.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pyarrow as pa
import sqlalchemy as sa

from sinc_pipeline.capture.applying import applying
from sinc_pipeline.capture.install import ORIGIN, STORE
from sinc_pipeline.capture.maintenance import record_and_prune
from sinc_pipeline.core.db import connect
from sinc_pipeline.core.layout import resolve_plan
from sinc_pipeline.io.writer import apply
from sinc_pipeline.settings import Settings, TableConfig
from sinc_pipeline.sync.sides import sides_for, target_for
from sinc_pipeline.sync.state import ensure_state_table
from sinc_pipeline.sync.unit import TableResult, fast_readers
from sinc_pipeline.twoway.merge import Merge, Rule, key_text, merge
from sinc_pipeline.twoway.journal import JournalKeys, read_changed_keys, save_positions
from sinc_pipeline.twoway.tables import ensure_tables, read_base, record_conflicts, waiting_keys, write_base

log = logging.getLogger(__name__)


@dataclass
class TwoWayPlan:
    """What a two-way sync of one table would do (also what ``simulate`` returns)."""
    table: str
    store: str
    merge: Merge
    compared: int
    natural: list[dict] = field(default_factory=list)
    plan: object = None
    journal: JournalKeys | None = None      # journal mode: the keys read and the new positions
    base_keys: pa.Array | None = None       # the keys the base held when read (write_base's ``existing``)


def plan_twoway(settings: Settings, store_id: str, cfg: TableConfig) -> TwoWayPlan:
    """Read O, S and B (journal mode: for the journaled keys only) and merge them; writes nothing."""
    store = settings.store(store_id)
    as_receive = cfg.model_copy(update={"direction": "receive"})
    with connect(settings.origin.url, "de origem", snapshot=True) as oc, \
            connect(store.url, f"da loja {store.id}", snapshot=True) as sc, \
            fast_readers(settings.origin.url, store.url) as fast:
        plan = resolve_plan(as_receive, store, oc, settings.origin.url, sc, store.url)
        o_side, s_side = sides_for(plan, "receive", oc, sc, settings.chunk_size, fast)
        jk = None
        if cfg.capture == "journal":   # first: rows read after the entries can only be newer
            jk = read_changed_keys(plan, o_side, s_side, store.id, settings.journal.gap_wait_seconds)
        if jk is None or jk.keys is None:
            o, s = o_side.read(), s_side.read()
            base = read_base(oc, store.id, cfg.name, fast=fast[0], chunk_rows=settings.chunk_size)
            compared = o.num_rows + s.num_rows
        else:
            o, s = o_side.read_keys_in(jk.keys), s_side.read_keys_in(jk.keys)
            base = read_base(oc, store.id, cfg.name, key_text(jk.keys, o_side.key).to_pylist())
            compared = jk.keys.num_rows
        waiting = waiting_keys(oc, store.id, cfg.name)
        m = merge(o, s, base, o_side.key, Rule.parse(cfg.conflicts), cfg.origin_columns, cfg.store_columns,
                  waiting)
        natural = natural_duplicates(oc, plan, m.to_origin.inserts, o_side.key) if cfg.natural_key else []
    return TwoWayPlan(cfg.name, store.id, m, compared, natural, plan, jk, base.column("chave"))


def natural_duplicates(oc, plan, inserts: pa.Table, key: list[str]) -> list[dict]:
    """Rows the store creates whose natural key (e.g. ``cpf``) the origin already holds under
    another key, at any store: each a conflict for a person to merge (the row still syncs)."""
    nk = list(plan.config.natural_key)
    if not inserts.num_rows:
        return []
    t = plan.origin
    values = inserts.select(nk).to_pylist()
    cond = sa.tuple_(*[t.c[c] for c in nk]).in_([tuple(v[c] for c in nk) for v in values]) if len(nk) > 1 \
        else t.c[nk[0]].in_([v[nk[0]] for v in values])
    found = {}
    for row in oc.execute(sa.select(*[t.c[c] for c in nk + plan.mapping.key]).where(cond)).mappings():
        found.setdefault(tuple(row[c] for c in nk), []).append({c: row[c] for c in plan.mapping.key})
    out = []
    keys = key_text(inserts, key).to_pylist()
    for chave, row in zip(keys, inserts.to_pylist()):
        hit = found.get(tuple(row[c] for c in nk))
        if hit:
            out.append({"chave": chave, "tipo": "chave_natural", "versao_origem": hit, "versao_loja": row,
                        "hash_base": None, "regra": f"natural_key: {', '.join(nk)}", "resultado": "pendente",
                        "assinatura": "natural|" + "|".join(str(row[c]) for c in nk)})
    return out


def sync_twoway(settings: Settings, store_id: str, cfg: TableConfig, *, run_id: str | None = None,
                simulate: bool = False, hook=None) -> TableResult:
    """Sync one two-way table for one store (see the module docstring); ``hook(step)`` is called
    after each committed step (tests use it to simulate a crash)."""
    t0 = time.perf_counter()
    p = plan_twoway(settings, store_id, cfg)
    m, store = p.merge, settings.store(store_id)
    result = preview_result(p, cfg)
    result.duration_s = 0.0
    if simulate:
        result.duration_s = round(time.perf_counter() - t0, 4)
        result.preview = p
        return result
    conflicts = m.conflicts + p.natural
    with connect(settings.origin.url, "de origem", write=True) as oc:
        ensure_tables(oc)
        if p.journal is not None:
            ensure_state_table(oc)      # DDL here, not in step 3's transaction (MariaDB commits on DDL)
        new = record_conflicts(oc, store.id, cfg.name, conflicts)
    result.extra["conflitos_novos"] = len(new)
    _log_conflicts(cfg.name, store.id, new)
    if hook:
        hook("conflitos")
    if not m.to_store.empty:
        with connect(store.url, f"da loja {store.id}", write=True) as sc, applying(sc):
            apply(sc, [(target_for(p.plan, "receive"), m.to_store)])
    if hook:
        hook("loja")
    with connect(settings.origin.url, "de origem", write=True) as oc:
        if not m.to_origin.empty:
            with applying(oc):
                apply(oc, [(target_for(p.plan, "send"), m.to_origin)])   # adds the store's filter values
        write_base(oc, store.id, cfg.name, m.base, m.base_drop, p.base_keys)
        if p.journal is not None:
            save_positions(oc, store.id, cfg.name, p.journal, run_id)
    if p.journal is not None:      # each producer's copy of the positions, and pruning (best effort)
        seqs = p.journal.seqs()
        record_and_prune(settings, store, ORIGIN, "both", {cfg.name: seqs[ORIGIN]})
        record_and_prune(settings, store, STORE, "both", {cfg.target_name: seqs[STORE]})
    result.duration_s = round(time.perf_counter() - t0, 4)
    return result


def _log_conflicts(table: str, store_id: str, new: list[dict]) -> None:
    """One WARNING per run and table naming the conflicts recorded now (up to 10)."""
    if not new:
        return
    outcome = {"origem": "vence a origem", "loja": "vence a loja", "pendente": "aguarda resolver_conflitos"}
    parts = [f"chave {c['chave']}: {c['tipo']}, {c['regra']} → {outcome.get(c['resultado'], c['resultado'])}"
             for c in new[:10]]
    log.warning("%s (loja %s): %d conflito(s) registrado(s) em conflitos_sincronizacao — %s%s", table, store_id,
                len(new), "; ".join(parts), " …" if len(new) > 10 else "")


def counts(m: Merge) -> dict[str, int]:
    return {"loja_inserir": m.to_store.inserts.num_rows, "loja_atualizar": m.to_store.updates.num_rows,
            "loja_excluir": m.to_store.deletes.num_rows, "origem_inserir": m.to_origin.inserts.num_rows,
            "origem_atualizar": m.to_origin.updates.num_rows, "origem_excluir": m.to_origin.deletes.num_rows}


def preview_result(p: TwoWayPlan, cfg: TableConfig) -> TableResult:
    m = p.merge
    c = counts(m)
    pending = sum(1 for x in m.conflicts + p.natural if x["resultado"] == "pendente")
    extra = {**c, "conflitos": len(m.conflicts) + len(p.natural), "conflitos_pendentes": pending}
    return TableResult(cfg.name, "both", p.store, cfg.capture or "diff", p.compared,
                       cursor=None if p.journal is None else p.journal.cursor(),
                       inserted=c["loja_inserir"] + c["origem_inserir"],
                       updated=c["loja_atualizar"] + c["origem_atualizar"],
                       deleted=c["loja_excluir"] + c["origem_excluir"], extra=extra,
                       levels={"conflitos_pendentes"})
