"""Fiscal checks on every send of the documents table, and the quarantine at the origin.

``gate_for_unit(settings, unit)`` returns a gate (see ``sync/gate.py``) for a send unit that holds
``fiscal.table``. Before the unit is applied, the gate checks each document being inserted or
updated (``fiscal.rules.check_documents``: access key and its parts, the sending store's CNPJ and
series, the number not already held at the origin by another document). A failing document and
its whole group (the sale: the unit's rows linked by ``fiscal.sale_link``) are removed from the
changes and recorded in ``fiscal.quarantine_table`` at the origin, in the unit's transaction;
the cursors stay at the held rows, so the next run reads them again. A later run in which the
rows are written (or the origin holds them as the store does) releases the entries
(``quarantine.py`` holds the table and its statuses).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sinc_pipeline.core.db import redact
from sinc_pipeline.core.errors import SchemaError
from sinc_pipeline.core.layout import TablePlan
from sinc_pipeline.core.markdown import Markdown, markdown_table
from sinc_pipeline.core.owned import utcnow
from sinc_pipeline.fiscal.quarantine import (HELD, RELEASED, REPLACED, ensure_quarantine_table,
                                             quarantine_table)
from sinc_pipeline.fiscal.rules import _as_int, _missing, check_documents, documents_frame
from sinc_pipeline.settings import FiscalConfig, Settings, TableConfig
from sinc_pipeline.sync.diff import Changes
from sinc_pipeline.sync.gate import Gate, GateInput, GateOutput

@dataclass
class _Held:
    table: str
    registro: str
    grupo: str | None
    documento: str
    chave: str
    motivo: str
    dados: str


def _json(value) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def _origin_key(plan: TablePlan, row: dict) -> dict:
    """A row's key at the origin: store key values plus the filter values the store lacks."""
    return {k: row[k] if k in row else plan.mapping.constants.get(k, plan.origin_filter.get(k))
            for k in plan.mapping.key}


def _both(ch: Changes) -> pa.Table:
    """Inserts then updates (the rows that would be written), in that order."""
    return pa.concat_tables([ch.inserts, ch.updates]) if ch.updates.num_rows else ch.inserts


def _in(table: pa.Table, column: str | None, values: set) -> pa.Array:
    if column is None or not values or not table.num_rows:
        return pa.array([False] * table.num_rows, pa.bool_())
    col = table.column(column).combine_chunks()
    return pc.fill_null(pc.is_in(col, value_set=pa.array(list(values), type=col.type)), False)


def _describe(doc: dict, c: dict) -> str:
    return f"modelo {doc.get(c['model'])} série {doc.get(c['series'])} nº {doc.get(c['number'])}"


@dataclass
class _Failing:
    """What the checks found: failing documents by position in ``_both(changes)``, and groups."""
    docs: dict[int, dict]                 # position -> {documento, chave, motivo, grupo}
    groups: dict[object, list[dict]]      # sale id -> its failing documents


class FiscalGate:
    """The gate for one send unit holding the documents table (see the module docstring).

    Built once with the definitions and called by every run: it keeps no state between calls.
    """

    def __init__(self, settings: Settings, unit: list[TableConfig]):
        self.settings = settings
        self.fiscal: FiscalConfig = settings.fiscal
        self.unit = [t.name for t in unit]
        self.cols = self.fiscal.columns.model_dump()

    def __call__(self, inp: GateInput) -> GateOutput:
        if inp.direction != "send":
            return GateOutput(changes=inp.changes)
        plans = {p.config.name: p for p in inp.plans}
        self._require(plans[self.fiscal.table], list(self.cols.values()), "fiscal.columns")
        for name, plan in plans.items():
            if name in self.fiscal.sale_link:
                self._require(plan, [self.fiscal.sale_link[name]], f"fiscal.sale_link.{name}")
        docs = _both(inp.changes[self.fiscal.table])
        failing = self._check(inp, plans[self.fiscal.table], docs)
        changes, held = self._split(inp.changes, failing)
        entries = self._entries(plans, held, failing)
        write, released, still_open = self._bookkeeping(inp, plans, changes, entries)
        report = {name: {"linhas_retidas": sum(len(rows) for rows in held[name])} for name in plans}
        report[self.fiscal.table].update({
            "documentos_verificados": docs.num_rows,
            "documentos_retidos": len(failing.docs),
            "quarentena_linhas_liberadas": released,
            "quarentena_linhas_em_aberto": still_open,
        })
        if failing.docs:
            report[self.fiscal.table]["documentos_retidos_lista"] = _md_list(list(failing.docs.values()))
        return GateOutput(changes=changes, held_cursor=self._held_cursor(plans, held), write=write, report=report,
                          levels=frozenset({"quarentena_linhas_em_aberto", "documentos_retidos_lista"}))

    # -- checks -----------------------------------------------------------------------------
    def _require(self, plan: TablePlan, columns: Iterable[str], what: str) -> None:
        for c in columns:
            if c not in plan.schema.names:
                raise SchemaError(
                    f"Coluna {c!r} ({what}) não existe entre as colunas sincronizadas da tabela "
                    f"{plan.config.name!r} (origem {redact(self.settings.origin.url)}): "
                    f"{', '.join(plan.schema.names)}. Dica: corrija {what} na configuração.")

    def _identity(self) -> list[str]:
        c = self.cols
        ident = [c["cnpj"], c["model"], c["series"], c["number"]]
        return ident + [c["emission_type"]] if self.fiscal.identity_includes_emission_type else ident

    def _existing(self, conn: Connection, plan: TablePlan, docs: pd.DataFrame) -> pd.DataFrame | None:
        """Origin documents (of any store) sharing a CNPJ/model/series and number range with ``docs``,
        except the very rows being written (an update may change its own key)."""
        c, t, key = self.cols, plan.origin, plan.mapping.key
        names = list(dict.fromkeys(self._identity() + [c["emission_type"], c["key"]] + key))
        own = {tuple(_origin_key(plan, r)[k] for k in key) for r in docs.to_dict("records")}
        def part(col: str, top: int) -> list:     # a value that is not a number in range is left out
            return [i if i is not None and 0 <= i <= top else None for i in map(_as_int, docs[col])]

        usable = pd.DataFrame({"cnpj": [None if _missing(v) else str(v) for v in docs[c["cnpj"]]],
                               "model": part(c["model"], 99), "series": part(c["series"], 999),
                               "number": part(c["number"], 999_999_999)}, dtype=object).dropna()
        rows = []
        for (cnpj, model_i, series_i), grp in usable.groupby(["cnpj", "model", "series"], sort=False):
            numbers = grp["number"]
            stmt = sa.select(*[t.c[n] for n in names]).where(
                t.c[c["cnpj"]] == str(cnpj), t.c[c["model"]] == int(model_i), t.c[c["series"]] == int(series_i),
                t.c[c["number"]].between(int(numbers.min()), int(numbers.max())))
            rows += [r for r in (dict(x._mapping) for x in conn.execute(stmt)) if tuple(r[k] for k in key) not in own]
        return pd.DataFrame(rows, columns=names) if rows else None

    def _check(self, inp: GateInput, plan: TablePlan, docs_arrow: pa.Table) -> _Failing:
        if not docs_arrow.num_rows:
            return _Failing({}, {})
        c, store = self.cols, inp.store
        docs = documents_frame(docs_arrow)
        found = check_documents(
            docs, store_nfe_series=_series(store.nfe_series), store_nfce_series=_series(store.nfce_series),
            store_contingency_series=_series(store.contingency_series), existing=self._existing(inp.target, plan, docs),
            key_cols=self._identity(), columns=self.cols, store_cnpj=store.cnpj)
        link = self.fiscal.sale_link.get(self.fiscal.table)
        failing = _Failing({}, {})
        for pos, motivo in zip(found["indice"], found["motivo"]):
            doc = docs.iloc[int(pos)].to_dict()
            info = {"documento": _describe(doc, c), "chave": str(doc.get(c["key"]) or ""), "motivo": motivo,
                    "grupo": doc.get(link) if link else None}
            failing.docs[int(pos)] = info
            if info["grupo"] is not None:
                failing.groups.setdefault(info["grupo"], []).append(info)
        return failing

    # -- holding ----------------------------------------------------------------------------
    def _split(self, all_changes: dict[str, Changes], failing: _Failing):
        """(changes without the held rows, held rows per table as [(position, row)] per part)."""
        changes, held = {}, {}
        for name, ch in all_changes.items():
            link = self.fiscal.sale_link.get(name)
            kept, held_parts, offset = [], [], 0
            for part in (ch.inserts, ch.updates):
                mask = _in(part, link, set(failing.groups))
                if name == self.fiscal.table and failing.docs:
                    flags = mask.to_pylist()
                    for p in failing.docs:
                        if offset <= p < offset + part.num_rows:
                            flags[p - offset] = True
                    mask = pa.array(flags, pa.bool_())
                idx = pc.indices_nonzero(mask)
                held_parts.append(list(zip((offset + i for i in idx.to_pylist()), part.take(idx).to_pylist())))
                kept.append(part.filter(pc.invert(mask)))
                offset += part.num_rows
            changes[name] = Changes(kept[0], kept[1], ch.deletes)
            held[name] = held_parts
        return changes, held

    def _entries(self, plans: dict, held: dict, failing: _Failing) -> list[_Held]:
        out = []
        for name, parts in held.items():
            plan, link = plans[name], self.fiscal.sale_link.get(name)
            for pos, row in (item for part in parts for item in part):
                g = row.get(link) if link else None
                own = failing.docs.get(pos) if name == self.fiscal.table else None
                if own is not None:
                    documento, chave, motivo = own["documento"], own["chave"], own["motivo"]
                else:
                    docs = failing.groups.get(g, [])
                    documento = "; ".join(d["documento"] for d in docs)
                    chave = "; ".join(d["chave"] for d in docs if d["chave"])
                    motivo = f"venda {g} retida: " + "; ".join(f"documento {d['documento']}: {d['motivo']}"
                                                              for d in docs)
                out.append(_Held(name, _json(_origin_key(plan, row)), None if g is None else str(g),
                                 documento[:255], chave[:255], motivo, _json(row)))
        return out

    def _held_cursor(self, plans: dict, held: dict) -> dict:
        out = {}
        for name, parts in held.items():
            cur = plans[name].config.cursor
            values = [row.get(cur) for part in parts for _, row in part] if cur else []
            values = [v for v in values if v is not None]
            if values:
                out[name] = min(values)
        return out

    # -- the quarantine table ---------------------------------------------------------------
    def _bookkeeping(self, inp: GateInput, plans: dict, changes: dict, entries: list[_Held]):
        """The quarantine writes of this run (new holds, repeated holds, releases), as a function
        run by ``sync_unit`` in the unit's transaction; plus the counts released / still open."""
        q = quarantine_table(self.fiscal.quarantine_table)
        conn, store, run_id, now = inp.target, inp.store.id, inp.run_id, utcnow()
        if sa.inspect(conn).has_table(q.name):
            open_rows = self._open(conn, q, store)
        else:
            if not entries:
                return None, 0, 0
            ensure_quarantine_table(self.settings, conn)
            open_rows = {}     # just created: nothing open (and MariaDB must not read it in this transaction)
        inserts, updates, held_now = [], [], set()
        for e in entries:
            held_now.add((e.table, e.registro))
            old = open_rows.get((e.table, e.registro))
            if old is not None and old["motivo"] == e.motivo:
                updates.append((old["id"], {"ultimo_run_id": run_id, "verificado_em": now,
                                            "tentativas": old["tentativas"] + 1, "dados": e.dados}))
                continue
            if old is not None:
                updates.append((old["id"], {"status": REPLACED, "encerrado_em": now, "encerrado_run_id": run_id}))
            inserts.append({"loja": store, "tabela": e.table, "registro": e.registro, "grupo": e.grupo,
                            "documento": e.documento or None, "chave_acesso": e.chave or None, "motivo": e.motivo,
                            "dados": e.dados, "status": HELD, "run_id": run_id, "retido_em": now,
                            "ultimo_run_id": run_id, "verificado_em": now, "tentativas": 1})
        pending = {k: v for k, v in open_rows.items() if k not in held_now}
        written = self._written(plans, changes) if pending else set()
        released = 0
        for (table, registro), old in pending.items():
            if (table, registro) in written or self._at_origin(conn, plans.get(table), registro):
                updates.append((old["id"], {"status": RELEASED, "encerrado_em": now, "encerrado_run_id": run_id}))
                released += 1

        def write(target: Connection) -> None:
            if inserts:
                target.execute(sa.insert(q), inserts)
            for ident, values in updates:
                target.execute(sa.update(q).where(q.c.id == ident).values(**values))

        return write, released, len(held_now) + len(pending) - released

    def _open(self, conn: Connection, q: sa.Table, store: str) -> dict:
        stmt = sa.select(q.c.id, q.c.tabela, q.c.registro, q.c.motivo, q.c.tentativas).where(
            q.c.loja == store, q.c.status == HELD, q.c.tabela.in_(self.unit))
        return {(r.tabela, r.registro): dict(r._mapping) for r in conn.execute(stmt)}

    @staticmethod
    def _written(plans: dict, changes: dict) -> set:
        return {(name, _json(_origin_key(plans[name], r)))
                for name, ch in changes.items() for r in _both(ch).select(plans[name].mapping.store_key).to_pylist()}

    @staticmethod
    def _at_origin(conn: Connection, plan: TablePlan | None, registro: str) -> bool:
        """Does the origin hold this row? It is not among this run's changes, so the store's row
        equals the origin's: nothing is held any more."""
        if plan is None:
            return False
        try:
            key = json.loads(registro)
        except ValueError:
            return False
        if set(key) != set(plan.mapping.key):
            return False
        t = plan.origin
        stmt = sa.select(sa.func.count()).select_from(t).where(*[t.c[k] == v for k, v in key.items()])
        return bool(conn.execute(stmt).scalar())


def _series(value: int | None) -> set[int]:
    return set() if value is None else {value}


def _md_list(failing: list[dict], limit: int = 50) -> Markdown:
    rows = [[f["documento"], f["chave"] or None, f["grupo"], f["motivo"]] for f in failing]
    return Markdown(markdown_table(rows, ["documento", "chave de acesso", "venda", "motivo"], limit=limit))


def gate_for_unit(settings: Settings, unit: list[TableConfig]) -> Gate | None:
    """A fiscal gate for a send unit containing the documents table; None otherwise."""
    fiscal = settings.fiscal
    if fiscal is None or not unit or unit[0].direction != "send":
        return None
    if fiscal.table not in {t.name for t in unit}:
        return None
    return FiscalGate(settings, unit)


