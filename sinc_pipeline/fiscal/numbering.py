"""Back-office fiscal reports (pure): numbering gaps with their voiding ("inutilização") deadline,
and offline contingency NFC-e still waiting to be transmitted."""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd

from sinc_pipeline.fiscal.rules import (TP_EMIS_OFFLINE, _as_int, _cols, _key_text, _missing, _normalized,
                                        normalize_cnpj)


def number_gaps(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Missing inclusive ranges between the smallest and largest of the distinct numbers."""
    distinct = sorted({i for i in (_as_int(v) for v in numbers) if i is not None})
    return [(a + 1, b - 1) for a, b in zip(distinct, distinct[1:]) if b - a > 1]


def void_deadline(issued_at: date | datetime) -> date:
    """10th day of the month after ``issued_at``'s month (last day to void a gap)."""
    y, m = (issued_at.year + 1, 1) if issued_at.month == 12 else (issued_at.year, issued_at.month + 1)
    return date(y, m, 10)


_GAP_COLUMNS = ["cnpj", "modelo", "serie", "inicio", "fim", "quantidade", "prazo_inutilizacao", "dias_restantes"]


def gap_report(docs: pd.DataFrame, today: date, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Gaps per CNPJ/model/series with their voiding deadline and the days left (negative: late).

    Every document, cancelled ones included, consumes its number. The deadline follows from
    the emission date of the document just before the gap (the earliest, if repeated).
    """
    c = _cols(columns)
    group = [c["cnpj"], c["model"], c["series"]]
    n = _normalized(docs, group + [c["number"]], c)
    n["__at"] = pd.to_datetime(docs[c["issued_at"]]).tolist() if len(docs) else []
    n = n.dropna(subset=group + [c["number"]])
    rows = []
    for (cnpj, model, series), grp in n.groupby(group, sort=True):
        first_at = grp.groupby(c["number"])["__at"].min()
        for start, end in number_gaps(grp[c["number"]]):
            at = first_at.get(start - 1)
            deadline = None if _missing(at) else void_deadline(at)
            left = None if deadline is None else (deadline - today).days
            rows.append([cnpj, model, series, start, end, end - start + 1, deadline, left])
    out = pd.DataFrame(rows, columns=_GAP_COLUMNS)
    out["dias_restantes"] = out["dias_restantes"].astype("Int64")
    return out


def _plain(text: Any) -> str:
    text = unicodedata.normalize("NFKD", str(text).strip().lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def pending_contingency(docs: pd.DataFrame, now: datetime, columns: Mapping[str, str] | None = None,
                        limit_hours: float = 24,
                        pending_values: Iterable[str] = frozenset({"contingencia", "pendente"})) -> pd.DataFrame:
    """Offline NFC-e (tpEmis 9) not yet transmitted, oldest first, with their age in hours.

    Statuses compare case- and accent-insensitively. ``atrasado`` is True past
    ``limit_hours``, and also when the emission time is unknown (cannot prove it is on time).
    """
    c = _cols(columns)
    pending = {_plain(v) for v in pending_values}
    tp = docs[c["emission_type"]].map(_as_int)
    status = docs[c["status"]].map(lambda v: None if _missing(v) else _plain(v))
    sel = docs[(tp == TP_EMIS_OFFLINE) & status.isin(pending)]
    at = pd.to_datetime(sel[c["issued_at"]])
    age = ((pd.Timestamp(now) - at).dt.total_seconds() / 3600).round(2)
    out = pd.DataFrame({
        "chave": sel[c["key"]].map(_key_text), "cnpj": sel[c["cnpj"]].map(normalize_cnpj),
        "modelo": sel[c["model"]].map(_as_int), "serie": sel[c["series"]].map(_as_int),
        "numero": sel[c["number"]].map(_as_int), "emitido_em": at,
        "idade_horas": age.astype(float), "atrasado": (age > limit_hours) | age.isna(),
    })
    return out.sort_values("idade_horas", ascending=False, na_position="first").reset_index(drop=True)
