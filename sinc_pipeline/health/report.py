"""``saude_lojas``: one row per store from facts gathered elsewhere (pure, no database, no dagster).

Lag: minutes since the last successful send/receive minus the configured interval (0 when on
time; None when the store never synced). A store's "last send" is the *oldest* of its send
tables' latest materializations: the moment as of which every table was sent. ``situacao`` is
``ok``, ``atencao`` (lag over one interval, a failing check, held rows, quarantined documents,
stock divergences, a failed run newer than the last sync, fiscal documents near their limit) or
``critico`` (lag over three intervals = stale, overdue contingency documents, overdue gaps,
never synced).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

COLUMNS = ["loja", "situacao", "ultimo_envio", "atraso_envio_min", "ultimo_recebimento", "atraso_recebimento_min",
           "alteracoes_pendentes", "linhas_retidas", "documentos_em_quarentena", "verificacoes_falhando",
           "idade_snapshot_h", "divergencias_estoque", "contingencia_pendente", "contingencia_atrasada",
           "lacunas_numeracao", "lacunas_vencidas", "ultima_falha", "problemas"]

SCHEMA = pa.schema([
    ("loja", pa.string()), ("situacao", pa.string()), ("ultimo_envio", pa.timestamp("us", tz="UTC")),
    ("atraso_envio_min", pa.float64()), ("ultimo_recebimento", pa.timestamp("us", tz="UTC")),
    ("atraso_recebimento_min", pa.float64()), ("alteracoes_pendentes", pa.int64()), ("linhas_retidas", pa.int64()),
    ("documentos_em_quarentena", pa.int64()), ("verificacoes_falhando", pa.int64()),
    ("idade_snapshot_h", pa.float64()), ("divergencias_estoque", pa.int64()), ("contingencia_pendente", pa.int64()),
    ("contingencia_atrasada", pa.int64()), ("lacunas_numeracao", pa.int64()), ("lacunas_vencidas", pa.int64()),
    ("ultima_falha", pa.string()), ("problemas", pa.string()),
])

STALE_INTERVALS = 3


@dataclass
class StoreFacts:
    """What is known of one store; None = unknown or not applicable (e.g. no journal tables)."""
    store: str
    last_send: dt.datetime | None = None
    last_receive: dt.datetime | None = None
    has_send: bool = True
    has_receive: bool = True
    pending: int | None = None
    held: int | None = None
    quarantined: int | None = None
    failing_checks: list[str] = field(default_factory=list)
    snapshot_at: dt.datetime | None = None
    divergences: int | None = None
    contingency_pending: int = 0
    contingency_late: int = 0
    gaps: int = 0
    gaps_overdue: int = 0
    last_failure: str | None = None
    last_failure_at: dt.datetime | None = None
    read_errors: list[str] = field(default_factory=list)


def lag_minutes(last: dt.datetime | None, now: dt.datetime, interval_min: int) -> float | None:
    if last is None:
        return None
    return round(max(0.0, (now - last).total_seconds() / 60 - interval_min), 1)


def fiscal_by_store(gaps: pd.DataFrame, pending: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per store (``loja`` column of ``fiscal/report.build_report``'s frames): contingency documents
    pending and late (past the 24-hour limit), numbering gaps and gaps past the voiding deadline."""
    out: dict[str, dict[str, int]] = {}

    def slot(store) -> dict[str, int]:
        return out.setdefault(str(store), {"contingencia_pendente": 0, "contingencia_atrasada": 0,
                                           "lacunas_numeracao": 0, "lacunas_vencidas": 0})
    for row in pending[["loja", "atrasado"]].itertuples(index=False) if len(pending) else ():
        if isinstance(row.loja, str):
            s = slot(row.loja)
            s["contingencia_pendente"] += 1
            s["contingencia_atrasada"] += int(bool(row.atrasado))
    for row in gaps[["loja", "dias_restantes"]].itertuples(index=False) if len(gaps) else ():
        if isinstance(row.loja, str):
            s = slot(row.loja)
            s["lacunas_numeracao"] += 1
            s["lacunas_vencidas"] += int(pd.notna(row.dias_restantes) and row.dias_restantes < 0)
    return out


def _problems(f: StoreFacts, lag_s: float | None, lag_r: float | None, send_min: int, recv_min: int):
    critical, attention = [], []
    for name, has, last, lag, interval in (("envio", f.has_send, f.last_send, lag_s, send_min),
                                           ("recebimento", f.has_receive, f.last_receive, lag_r, recv_min)):
        if not has:
            continue
        if last is None:
            critical.append(f"{name} nunca concluído")
        elif lag > (STALE_INTERVALS - 1) * interval:
            critical.append(f"{name} parado há {lag + interval:.0f} min")
        elif lag > 0:
            attention.append(f"{name} atrasado {lag:.0f} min")
    if f.contingency_late:
        critical.append(f"{f.contingency_late} NFC-e em contingência além do prazo")
    if f.gaps_overdue:
        critical.append(f"{f.gaps_overdue} lacuna(s) de numeração com prazo vencido")
    if f.failing_checks:
        attention.append("verificação falhando: " + ", ".join(f.failing_checks))
    for n, what in ((f.held, "linha(s) retida(s)"), (f.quarantined, "documento(s) em quarentena"),
                    (f.divergences, "divergência(s) de estoque"), (f.contingency_pending - f.contingency_late,
                                                                  "NFC-e em contingência no prazo"),
                    (f.gaps - f.gaps_overdue, "lacuna(s) de numeração no prazo")):
        if n:
            attention.append(f"{n} {what}")
    synced = [t for t in (f.last_send, f.last_receive) if t is not None]
    if f.last_failure and (f.last_failure_at is None or not synced or f.last_failure_at > min(synced)):
        attention.append(f"última falha: {f.last_failure[:200]}")
    attention += [f"não lido: {e}" for e in f.read_errors]
    return critical, attention


def health_frame(facts: list[StoreFacts], now: dt.datetime, send_min: int, recv_min: int) -> pd.DataFrame:
    rows = []
    for f in facts:
        lag_s = lag_minutes(f.last_send, now, send_min) if f.has_send else None
        lag_r = lag_minutes(f.last_receive, now, recv_min) if f.has_receive else None
        critical, attention = _problems(f, lag_s, lag_r, send_min, recv_min)
        age = None if f.snapshot_at is None else round((now - f.snapshot_at).total_seconds() / 3600, 1)
        rows.append({
            "loja": f.store, "situacao": "critico" if critical else ("atencao" if attention else "ok"),
            "ultimo_envio": f.last_send, "atraso_envio_min": lag_s,
            "ultimo_recebimento": f.last_receive, "atraso_recebimento_min": lag_r,
            "alteracoes_pendentes": f.pending, "linhas_retidas": f.held, "documentos_em_quarentena": f.quarantined,
            "verificacoes_falhando": len(f.failing_checks), "idade_snapshot_h": age,
            "divergencias_estoque": f.divergences, "contingencia_pendente": f.contingency_pending,
            "contingencia_atrasada": f.contingency_late, "lacunas_numeracao": f.gaps,
            "lacunas_vencidas": f.gaps_overdue, "ultima_falha": f.last_failure,
            "problemas": "; ".join(critical + attention)})
    return pd.DataFrame(rows, columns=COLUMNS)


def health_table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
