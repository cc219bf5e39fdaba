"""``python -m sinc_pipeline check --databases``: the real schemas, before any run.

Connects to the origin and every store and, for every configured table, runs what a sync runs
before writing (``core/layout.py`` ``resolve_plan``: names that must exist, type pairings, and
the compatibility preflight of ``core/probes.py``: charsets, fractional seconds, key
collations), collecting every finding instead of stopping at the first. Nothing is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sinc_pipeline.core.db import connect
from sinc_pipeline.core.errors import DatabaseUnreachable, SincError
from sinc_pipeline.core.layout import resolve_plan
from sinc_pipeline.core.preflight import Finding
from sinc_pipeline.settings import Settings


@dataclass
class DatabaseReport:
    findings: list[Finding] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)     # messages
    tables: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "erro"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "aviso"]


def check_databases(settings: Settings) -> DatabaseReport:
    """Every store's every table, as a sync would check them before writing."""
    out = DatabaseReport()
    try:
        with connect(settings.origin.url, "de origem", snapshot=True) as origin:
            for store in settings.stores:
                try:
                    with connect(store.url, f"da loja {store.id}", snapshot=True) as local:
                        for table in settings.tables:
                            out.tables += 1
                            out.findings += _table(settings, table, store, origin, local)
                except DatabaseUnreachable as err:
                    if "de origem" in err.what:        # the origin went away: stop
                        raise
                    out.unreachable.append(f"loja {store.id}: {err}")
    except DatabaseUnreachable as err:
        out.unreachable.append(f"origem: {err}")
    return out


def _table(settings: Settings, table, store, origin, local) -> list[Finding]:
    try:
        return resolve_plan(table, store, origin, settings.origin.url, local, store.url, strict=False).findings
    except DatabaseUnreachable:
        raise
    except SincError as err:
        return [Finding("erro", "esquema", store.id, table.name, "-", str(err))]


def print_report(report: DatabaseReport, settings: Settings, out, err) -> None:
    for f in report.findings:
        print(f.line(), file=out)
    for u in report.unreachable:
        print(f"[INACESSÍVEL] {u}", file=err)
    print(f"Bancos conferidos: origem e {len(settings.stores)} loja(s), {report.tables} tabela(s): "
          f"{len(report.errors)} erro(s), {len(report.warnings)} aviso(s)"
          + (f", {len(report.unreachable)} loja(s) inacessível(is)" if report.unreachable else "") + ".", file=out)
