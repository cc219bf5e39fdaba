"""Benchmark: memory of sending a store's backlog (25k / 50k / 100k pending sales).

A SQLite store holds N sales not yet at the origin (each with its items and a valid NFC-e);
``enviar_dados``'s units are run for it (``sync_unit``, the fiscal gate included), each in a
forked child whose peak RSS is reported. The baseline, measured in the same run, is a child that
opens both databases and counts the pending sales (what every run pays before any row moves).

Target (issue #12): the peak stays flat with the backlog — at 100k at most 1.5× the peak at 25k.

    .venv/bin/python bench/backlog_bench.py [--sizes 25000,50000,100000]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import measured  # noqa: E402
from sinc_pipeline.core.db import dispose_all, get_engine  # noqa: E402
from sinc_pipeline.demo.generate import _sales, config_text, demo_stores, products_table  # noqa: E402
from sinc_pipeline.demo.schema import origin_metadata, store_metadata  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.settings import parse_settings  # noqa: E402
from sinc_pipeline.sync.unit import sync_unit  # noqa: E402

import sqlalchemy as sa  # noqa: E402

FLAT = 1.5


def build(folder: Path, pending: int) -> dict:
    stores = demo_stores()
    for s in stores:
        s["url"] = f"sqlite:///{folder / (s['id'] + '.db')}"
    origin_url = f"sqlite:///{folder / 'origem.db'}"
    origin_metadata().create_all(get_engine(origin_url))
    prods = products_table(400)
    with get_engine(origin_url).begin() as c:
        bulk_insert(c, "produtos", prods)
    price = {r["id"]: r["preco"] for r in prods.select(["id", "preco"]).to_pylist()}
    store = get_engine(stores[0]["url"])
    store_metadata().create_all(store)
    sales, items, docs = _sales(random.Random(3), stores[0], price, pending, 100)
    with store.begin() as c:
        for table, data in (("vendas", sales), ("venda_itens", items), ("documentos_fiscais", docs)):
            for i in range(0, len(data), 50_000):
                bulk_insert(c, table, pa.Table.from_pylist(data[i:i + 50_000]))
    for s in stores[1:]:
        store_metadata().create_all(get_engine(s["url"]))
    dispose_all()
    raw = yaml.safe_load(config_text({"origin_url": origin_url, "stores": stores}, sales_journal=False))
    raw["reports_root"] = str(folder / "relatorios")
    raw["dagster_home"] = str(folder / "dagster")
    return raw


def send(raw: dict) -> int:
    st = parse_settings(raw)
    return sum(r.inserted for unit in st.units("send") for r in sync_unit(st, "loja_01", unit))


def idle(raw: dict) -> int:
    st = parse_settings(raw)
    with get_engine(st.origin.url).connect() as o, get_engine(st.store("loja_01").url).connect() as s:
        o.execute(sa.text("SELECT COUNT(*) FROM vendas")).scalar_one()
        return s.execute(sa.text("SELECT COUNT(*) FROM vendas")).scalar_one()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="25000,50000,100000")
    sizes = [int(x) for x in ap.parse_args().sizes.split(",")]
    peaks = {}
    print(f"{'vendas pendentes':>17} {'linhas enviadas':>16} {'tempo (s)':>10} {'pico (MB)':>10} {'base (MB)':>10}")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="backlog_bench_") as tmp:
            raw = build(Path(tmp), n)
            _, _, base = measured(idle, raw)
            sent, secs, peak = measured(send, raw)
            peaks[n] = peak
            print(f"{n:>17,} {sent:>16,} {secs:>10.2f} {peak:>10.0f} {base:>10.0f}")
    lo, hi = peaks[min(peaks)], peaks[max(peaks)]
    ratio = hi / lo
    print(f"pico em {max(peaks):,} / pico em {min(peaks):,} = {ratio:.2f}× (alvo: ≤ {FLAT}×)")
    return 0 if ratio <= FLAT else 1


if __name__ == "__main__":
    raise SystemExit(main())
