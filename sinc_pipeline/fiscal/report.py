"""The back office's numbering report over the origin's fiscal documents (``lacunas_numeracao``).

``build_report`` reads the documents table at the origin (the columns ``fiscal.columns`` names)
and returns, through the pure functions of ``fiscal/rules.py`` and ``fiscal/numbering.py``:

* ``gaps``: per CNPJ, model and series, the missing number ranges with the deadline to void
  them (10th day of the next month) and the days left (negative: overdue);
* ``pending``: offline contingency NFC-e still waiting to be transmitted, with their age in
  hours, ``atrasado`` past ``fiscal.contingency_limit_hours``.

Each row names the store that owns the series (from the stores' configured series), when one
does. ``report_table`` puts both in one Arrow table (column ``tipo``) for the Parquet file.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from sinc_pipeline.settings import FiscalConfig, Settings
from sinc_pipeline.core.db import connect, redact
from sinc_pipeline.core.errors import ConfigError
from sinc_pipeline.fiscal.numbering import gap_report, pending_contingency
from sinc_pipeline.fiscal.rules import MODEL_NFCE, MODEL_NFE, normalize_cnpj
from sinc_pipeline.io.reader import read_table
from sinc_pipeline.core.layout import reflect_table, require_columns
from sinc_pipeline.core.types import arrow_type, warn_unknown_types

KIND_GAP, KIND_PENDING = "lacuna", "contingencia_pendente"


def _fiscal(settings: Settings) -> FiscalConfig:
    if settings.fiscal is None:
        raise ConfigError(["fiscal: valor None — seção ausente. Dica: acrescente 'fiscal:' à configuração "
                           "(table, columns); veja o README, Numeração fiscal"])
    return settings.fiscal


def local_now(settings: Settings) -> dt.datetime:
    """Now, naive, in the documents' time zone (``fiscal.timezone``)."""
    return dt.datetime.now(ZoneInfo(_fiscal(settings).timezone)).replace(tzinfo=None)


def read_documents(settings: Settings) -> pd.DataFrame:
    """The configured columns of every document at the origin (all stores)."""
    fiscal = _fiscal(settings)
    url = settings.origin.url
    names = list(dict.fromkeys(fiscal.columns.model_dump().values()))
    with connect(url, "de origem", snapshot=True) as conn:
        t = reflect_table(conn, fiscal.table, url, "de origem")
        require_columns(t, names, url, "de origem", "fiscal.columns")
        warn_unknown_types(t, names, f"de origem {redact(url)}")
        schema = pa.schema([(n, arrow_type(t.c[n].type)) for n in names])
        table = read_table(conn, sa.select(*[t.c[n] for n in names]), schema, settings.chunk_size)
    return table.to_pandas()


def series_owners(settings: Settings) -> dict[tuple[str, int, int], str]:
    """(CNPJ, model, series) -> store id, from each store's NF-e, NFC-e and contingency series."""
    owners = {}
    for s in settings.stores:
        for model, series in ((MODEL_NFE, s.nfe_series), (MODEL_NFCE, s.nfce_series),
                              (MODEL_NFCE, s.contingency_series)):
            if series is not None:
                owners[(normalize_cnpj(s.cnpj), model, series)] = s.id
    return owners


def _with_store(df: pd.DataFrame, owners: dict) -> pd.DataFrame:
    stores = [owners.get((c, _int(m), _int(s))) for c, m, s in zip(df["cnpj"], df["modelo"], df["serie"])]
    return df.assign(loja=pd.Series(stores, index=df.index, dtype=object))


def _int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


@dataclass
class FiscalReport:
    gaps: pd.DataFrame
    pending: pd.DataFrame
    documents: int
    generated_at: dt.datetime

    @property
    def overdue_gaps(self) -> int:
        return int((self.gaps["dias_restantes"].fillna(0) < 0).sum()) if len(self.gaps) else 0

    @property
    def late_pending(self) -> int:
        return int(self.pending["atrasado"].sum()) if len(self.pending) else 0


def build_report(settings: Settings, now: dt.datetime | None = None, docs: pd.DataFrame | None = None) -> FiscalReport:
    fiscal = _fiscal(settings)
    now = now or local_now(settings)
    docs = read_documents(settings) if docs is None else docs
    cols = fiscal.columns.model_dump()
    owners = series_owners(settings)
    gaps = _with_store(gap_report(docs, now.date(), columns=cols), owners)
    pending = _with_store(pending_contingency(docs, now, columns=cols, limit_hours=fiscal.contingency_limit_hours,
                                              pending_values=fiscal.pending_statuses), owners)
    return FiscalReport(gaps, pending, len(docs), now)


_SCHEMA = pa.schema([
    ("tipo", pa.string()), ("loja", pa.string()), ("cnpj", pa.string()), ("modelo", pa.int64()),
    ("serie", pa.int64()), ("inicio", pa.int64()), ("fim", pa.int64()), ("quantidade", pa.int64()),
    ("prazo_inutilizacao", pa.date32()), ("dias_restantes", pa.int64()), ("numero", pa.int64()),
    ("chave", pa.string()), ("emitido_em", pa.timestamp("us")), ("idade_horas", pa.float64()),
    ("atrasado", pa.bool_()), ("gerado_em", pa.timestamp("us")),
])


def _column(df: pd.DataFrame, name: str) -> list:
    if name not in df.columns:
        return [None] * len(df)
    return [None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)
            for v in df[name].astype(object).tolist()]


def report_table(report: FiscalReport) -> pa.Table:
    """Gaps and pending contingency documents in one table, told apart by ``tipo``."""
    parts = []
    for kind, df in ((KIND_GAP, report.gaps), (KIND_PENDING, report.pending)):
        data = {f.name: _column(df, f.name) for f in _SCHEMA if f.name not in ("tipo", "gerado_em")}
        data["tipo"] = [kind] * len(df)
        data["gerado_em"] = [report.generated_at] * len(df)
        parts.append(pa.table({f.name: pa.array(data[f.name], f.type) for f in _SCHEMA}, schema=_SCHEMA))
    return pa.concat_tables(parts)


def report_path(settings: Settings, generated_at: dt.datetime) -> Path:
    """One file per report, named by when it was made (local time of ``fiscal.timezone``)."""
    return Path(settings.reports_root) / "fiscal" / "lacunas_numeracao" / f"{generated_at:%Y-%m-%dT%H%M%S}.parquet"


def write_report(settings: Settings, report: FiscalReport) -> Path:
    """The report as Parquet, written whole or not at all (a reader never sees half a file)."""
    path = report_path(settings, report.generated_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(report_table(report), tmp)
    tmp.replace(path)
    return path
