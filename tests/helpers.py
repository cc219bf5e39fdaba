"""Shared test helpers: a small demo on any engines, settings for it, and table reads."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import yaml
import sqlalchemy as sa

from sinc_pipeline.settings import Settings, parse_settings
from sinc_pipeline.core.db import get_engine
from sinc_pipeline.demo.generate import config_text, demo_stores, populate, store_cnpj
from sinc_pipeline.sync.direction import sync_direction

SMALL = {"products": 60, "customers": 20, "sales_per_store": 24}


def small_demo(make_db, origin_engine: str, store_engine: str, tmp_path, customers_twoway: bool = False,
               **sizes) -> Settings:
    """The demo on any engines, no table in journal mode (journal tests opt in); ``clientes`` one-way
    (receive, scoped) unless ``customers_twoway`` (the demo's own two-way ``clientes``, diff mode)."""
    return parse_settings(demo_raw(make_db, origin_engine, store_engine, tmp_path,
                                   customers_twoway=customers_twoway, **sizes))


def many_stores(n: int) -> list[dict]:
    """``n`` demo stores (``loja_01``…), each its own CNPJ and series, in the demo's layout."""
    base = demo_stores()[0]
    return [dict(base, id=f"loja_{i:02d}", loja_id=i, nome=f"Mercado Central — Filial {i}", cnpj=store_cnpj(i),
                 nfe_series=i, nfce_series=100 + i, contingency_series=200 + i) for i in range(1, n + 1)]


def demo_raw(make_db, origin_engine: str, store_engine: str, tmp_path, stores: list[dict] | None = None,
             customers_twoway: bool = False, **sizes) -> dict:
    """The demo's config as parsed YAML (before validation), its databases created and filled."""
    stores = stores or demo_stores()
    for s in stores:
        s["url"] = make_db(store_engine)
    demo = populate(make_db(origin_engine), stores, **(sizes or SMALL))
    raw = yaml.safe_load(config_text(demo, sales_journal=False, customers_twoway=customers_twoway))
    raw["dagster_home"] = str(tmp_path / "dagster")
    raw["snapshots"]["root"] = str(tmp_path / "snapshots")
    raw["reports_root"] = str(tmp_path / "relatorios")
    return raw


def sync_all(settings: Settings, store_id: str, directions=("send", "receive"), hook=None) -> dict:
    out = {}
    for d in directions:
        for r in sync_direction(settings, store_id, d, hook=hook)[0]:
            out[r.table] = r
    return out


def rows(url: str, sql: str, **params) -> list[tuple]:
    with get_engine(url).connect() as c:
        return [tuple(r) for r in c.execute(sa.text(sql), params)]


def execute(url: str, sql: str, params=None) -> None:
    """Run raw SQL; on SQLite, bind values the way SQLAlchemy's typed columns store them."""
    params = dict(params or {})
    if url.startswith("sqlite"):
        for k, v in params.items():
            if isinstance(v, Decimal):
                params[k] = str(v)
            elif isinstance(v, dt.datetime):
                params[k] = v.isoformat(sep=" ", timespec="microseconds")
    with get_engine(url).begin() as c:
        c.execute(sa.text(sql), params)
