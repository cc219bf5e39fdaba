"""Shared test helpers: a small demo on any engines, settings for it, and table reads."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import yaml
import sqlalchemy as sa

from sinc_pipeline.settings import Settings, parse_settings
from sinc_pipeline.core.db import get_engine
from sinc_pipeline.demo.generate import config_text, demo_stores, populate
from sinc_pipeline.sync.direction import sync_direction

SMALL = {"products": 60, "customers": 20, "sales_per_store": 24}


def small_demo(make_db, origin_engine: str, store_engine: str, tmp_path, customers_twoway: bool = False,
               **sizes) -> Settings:
    """The demo on any engines, no table in journal mode (journal tests opt in); ``clientes`` one-way
    (receive, scoped) unless ``customers_twoway`` (the demo's own two-way ``clientes``, diff mode)."""
    stores = demo_stores()
    for s in stores:
        s["url"] = make_db(store_engine)
    demo = populate(make_db(origin_engine), stores, **(sizes or SMALL))
    raw = yaml.safe_load(config_text(demo, sales_journal=False, customers_twoway=customers_twoway))
    raw["dagster_home"] = str(tmp_path / "dagster")
    raw["snapshots"]["root"] = str(tmp_path / "snapshots")
    raw["reports_root"] = str(tmp_path / "relatorios")
    return parse_settings(raw)


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
