"""Benchmark: one tick of `receber_dados` and `enviar_dados` for N SQLite stores (issue #10).

A SQLite origin with a 100,000-row `produtos` (received, journal mode) and per-store sales
(`vendas` + `venda_itens`, sent, journal mode, capture installed at every store). One store is
built and synced for real (full compare, positions saved), then its file is copied N times and
its state renamed per store (bulk SQL), so set-up does not cost N first syncs.

Each tick runs as Dagster runs it: the tick job, ONE run for all N stores (``cli/run.py``
``run_tick``, in process) against a real DagsterInstance in a temporary DAGSTER_HOME (SQLite
storage, the CLI's dagster.yaml). Per N it prints, next to the targets:

* a tick with changes (0.5% of the catalog updated at the origin, 3 sales of 2 items per store):
  wall and CPU seconds (this process + children, ``resource.getrusage``, live helper processes
  included) of the receive and the send tick, runs launched per tick;
* an idle tick (nothing changed anywhere): per-store CPU, with the probe (``capture/probe.py``)
  and, as the baseline measured in the same run, with ``tick.probe: false`` (every store synced);
* event-log rows per tick run and per day (5-minute intervals: 288 ticks × 2 jobs), and the
  instance's growth (bytes of the DAGSTER_HOME files) per 1,000 store-ticks.

Targets: a 300-store tick < 60 s wall; ≤ 2 runs per tick (one per job); idle per-store cost
< 0.15 s CPU. The machine is shared: single runs, noisy; compare within a run.

    .venv/bin/python bench/scale_bench.py [--stores 20,100,300] [--catalog 100000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sinc_pipeline.capture.install import install_capture  # noqa: E402
from sinc_pipeline.core.db import dispose_all, get_engine  # noqa: E402
from sinc_pipeline.demo.generate import products_table  # noqa: E402
from sinc_pipeline.demo.schema import origin_metadata, store_metadata  # noqa: E402
from sinc_pipeline.io.bulk import bulk_insert  # noqa: E402
from sinc_pipeline.settings import parse_settings  # noqa: E402
from sinc_pipeline.sync.direction import sync_direction  # noqa: E402

HISTORY = 200           # sales already at the origin per store
SALES_PER_TICK = 3      # new sales per store between ticks (2 items each)
TICKS_PER_DAY = 24 * 60 // 5
TARGET_WALL_300, TARGET_RUNS, TARGET_IDLE_CPU = 60.0, 2, 0.15
TPL = "loja_001"


def store_id(i: int) -> str:
    return f"loja_{i:03d}"


def settings_for(work: Path, origin: Path, stores: list[tuple[str, Path, int]], home: Path, probe: bool = True):
    table = {"direction": "send", "scoped": True, "group": "venda", "capture": "journal"}
    return parse_settings({
        "origin": {"url": f"sqlite:///{origin}"},
        "dagster_home": str(home), "reports_root": str(work / "relatorios"),
        "snapshots": {"root": str(work / "snapshots")},
        "tick": {"probe": probe},
        "stores": [{"id": s, "url": f"sqlite:///{p}", "filter": {"loja_id": n}, "cnpj": "11222333000181"}
                   for s, p, n in stores],
        "tables": [{"name": "produtos", "direction": "receive", "key": ["id"], "store_table": "produto",
                    "columns": {"preco": "preco_venda"}, "exclude": ["custo"], "capture": "journal"},
                   {"name": "vendas", "key": ["loja_id", "id"], **table},
                   {"name": "venda_itens", "key": ["loja_id", "venda_id", "item"], **table}],
    })


def _checkpoint(path: Path) -> None:
    c = sqlite3.connect(path)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


def _ts(t: dt.datetime) -> str:
    return t.isoformat(sep=" ", timespec="microseconds")


def add_sales(path: Path, first_id: int, n: int, when: dt.datetime) -> None:
    """``n`` sales of 2 items each at a store, as its POS writes them (the triggers capture them)."""
    c = sqlite3.connect(path)
    with c:
        c.executemany("INSERT INTO vendas (id, cliente_id, emitida_em, total, status, atualizado_em) "
                      "VALUES (?, ?, ?, ?, 'concluida', ?)",
                      [(first_id + k, 1 + k % 50, _ts(when), "21.00", _ts(when)) for k in range(n)])
        c.executemany("INSERT INTO venda_itens (venda_id, item, produto_id, quantidade, preco_unitario, total, "
                      "atualizado_em) VALUES (?, ?, ?, '1.000', '10.50', '10.50', ?)",
                      [(first_id + k, i, 1 + (first_id + k * 7 + i) % 1000, _ts(when)) for k in range(n)
                       for i in (1, 2)])
    c.close()


def build_template(work: Path, catalog: int) -> tuple[Path, Path]:
    """The origin and one store, capture installed and synced once in both directions."""
    origin, store = work / "tpl_origem.db", work / "tpl_loja.db"
    o, s = get_engine(f"sqlite:///{origin}"), get_engine(f"sqlite:///{store}")
    origin_metadata().create_all(o)
    store_metadata().create_all(s)
    base = products_table(catalog)
    with o.begin() as c:
        bulk_insert(c, "produtos", base)
    with s.begin() as c:
        bulk_insert(c, "produto", base.drop_columns(["custo"]), {"preco": "preco_venda"})
    dispose_all()
    st = settings_for(work, origin, [(TPL, store, 1)], work / "tpl_dagster")
    install_capture(st)
    add_sales(store, 1, HISTORY, dt.datetime(2026, 11, 30, 12, 0))
    for d in ("send", "receive"):          # the first syncs: compared in full, positions saved
        _, errors = sync_direction(st, TPL, d, keep_going=True)
        assert not errors, errors
    dispose_all()
    _checkpoint(origin)
    _checkpoint(store)
    return origin, store


def make_stores(work: Path, tpl_origin: Path, tpl_store: Path, n: int) -> tuple[Path, list]:
    """N stores from the template: file copies, the template's state renamed per store (bulk SQL)."""
    folder = work / f"n{n}"
    folder.mkdir()
    origin = folder / "origem.db"
    shutil.copy(tpl_origin, origin)
    stores = []
    for i in range(1, n + 1):
        sid, path = store_id(i), folder / f"{store_id(i)}.db"
        shutil.copy(tpl_store, path)
        if i > 1:
            c = sqlite3.connect(path)
            with c:
                for t in ("sinc_estado", "sinc_captura_posicoes"):
                    c.execute(f"UPDATE {t} SET loja = ? WHERE loja = ?", (sid, TPL))
            c.close()
        stores.append((sid, path, i))
    c = sqlite3.connect(origin)
    with c:
        others = [(store_id(i), i) for i in range(2, n + 1)]
        cols_v = "id, cliente_id, emitida_em, total, status, atualizado_em"
        cols_i = "venda_id, item, produto_id, quantidade, preco_unitario, total, atualizado_em"
        for sid, i in others:
            c.execute(f"INSERT INTO vendas (loja_id, {cols_v}) SELECT ?, {cols_v} FROM vendas WHERE loja_id = 1", (i,))
            c.execute(f"INSERT INTO venda_itens (loja_id, {cols_i}) SELECT ?, {cols_i} FROM venda_itens "
                      "WHERE loja_id = 1", (i,))
            for t, cols in (("sinc_estado", "tabela, direcao, cursor_valor, cursor_tipo, atualizado_em, run_id"),
                            ("sinc_captura_posicoes", "tabela, direcao, posicao, atualizado_em")):
                c.execute(f"INSERT INTO {t} (loja, {cols}) SELECT ?, {cols} FROM {t} WHERE loja = ?", (sid, TPL))
    c.close()
    return origin, stores


# ----------------------------------------------------------------------------------- measuring

_TICK = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *_descendants(k)]
    return out


def cpu_seconds() -> float:
    """This process and its children: finished ones (RUSAGE_CHILDREN) and live ones (/proc)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    live = 0
    for pid in _descendants(os.getpid()):
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            live += int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            continue
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + live / _TICK


def home_bytes(home: Path) -> int:
    """The instance's storage on disk, its SQLite write-ahead logs checkpointed first (a WAL's
    size is where the last checkpoint left it, not what the runs added)."""
    for db in home.rglob("*.db"):
        c = sqlite3.connect(db)
        try:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass
        finally:
            c.close()
    return sum(p.stat().st_size for p in home.rglob("*") if p.is_file())


def run_one(defs, job: str, stores: list[str], instance, home: Path) -> dict:
    from sinc_pipeline.cli.run import run_tick
    runs0, bytes0 = instance.get_runs_count(), home_bytes(home)
    c0, t0 = cpu_seconds(), time.perf_counter()
    out = run_tick(defs, job, stores, {}, instance)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    failed = [s for s in out if not s.success]
    if failed:
        raise SystemExit(f"{job}: {len(failed)} loja(s) falharam, a primeira {failed[0].store}: {failed[0].error}")
    idle = sum(all(md.get("situacao") for md in s.assets.values()) for s in out)
    changed = sum(c.inserted + c.updated + c.deleted for s in out for c in s.syncs.values())
    events = len(instance.all_logs(out[0].run_id))
    return {"wall": wall, "cpu": cpu, "runs": instance.get_runs_count() - runs0, "idle": idle,
            "changed": changed, "events": events, "bytes": home_bytes(home) - bytes0, "n": len(stores)}


def bench_n(work: Path, tpl: tuple[Path, Path], n: int) -> dict:
    from dagster import DagsterInstance

    from sinc_pipeline.cli.instance import ensure_home
    from sinc_pipeline.defs import build_defs
    t0 = time.perf_counter()
    origin, stores = make_stores(work, *tpl, n)
    home = work / f"n{n}" / "dagster"
    os.environ["DAGSTER_HOME"] = str(home)
    ensure_home(home)
    st = settings_for(work / f"n{n}", origin, stores, home)
    defs, defs_off = build_defs(st), build_defs(st.model_copy(update={"tick": st.tick.model_copy(
        update={"probe": False})}))
    ids = [s for s, _, _ in stores]
    print(f"  [N={n}] set-up {time.perf_counter() - t0:.1f} s", flush=True)
    out = {}
    with DagsterInstance.from_config(str(home)) as instance:
        for job in ("receber_dados", "enviar_dados"):          # warm-up (first run of the instance), idle
            r = run_one(defs, job, ids, instance, home)
            assert r["idle"] == n, f"{job}: {n - r['idle']} loja(s) não ociosas depois da preparação"
        now = dt.datetime(2026, 12, 3, 12, 0)
        with get_engine(f"sqlite:///{origin}").begin() as c:   # 0.5% of the catalog changed at the origin
            c.exec_driver_sql("UPDATE produtos SET preco = preco + 0.01, atualizado_em = ? WHERE id % 200 = 7",
                              (_ts(now),))
        for _, path, _ in stores:
            add_sales(path, 100_000, SALES_PER_TICK, now)
        dispose_all()
        out["recv"] = run_one(defs, "receber_dados", ids, instance, home)
        out["send"] = run_one(defs, "enviar_dados", ids, instance, home)
        print(f"  [N={n}] changed ticks done", flush=True)
        out["recv_one"] = run_one(defs, "receber_dados", ids[:1], instance, home)   # a run's fixed cost
        out["send_one"] = run_one(defs, "enviar_dados", ids[:1], instance, home)
        out["recv_idle"] = run_one(defs, "receber_dados", ids, instance, home)
        out["send_idle"] = run_one(defs, "enviar_dados", ids, instance, home)
        out["recv_off"] = run_one(defs_off, "receber_dados", ids, instance, home)
        out["send_off"] = run_one(defs_off, "enviar_dados", ids, instance, home)
    dispose_all()
    shutil.rmtree(work / f"n{n}", ignore_errors=True)
    return out


def report(n: int, r: dict, catalog: int) -> None:
    ok = lambda good: "OK" if good else "MISSED"   # noqa: E731
    print(f"\nN = {n} stores, {catalog:,}-row catalog (SQLite origin and stores, tick.workers 4)")
    print(f"  {'tick':<34} {'wall s':>8} {'CPU s':>8} {'CPU/store':>10} {'runs':>5} {'idle':>5} {'rows':>7} "
          f"{'events':>7} {'KB':>8}")
    labels = {"recv": "receive, 0.5% catalog changed", "send": f"send, {SALES_PER_TICK} sales/store",
              "recv_idle": "receive idle, probe", "send_idle": "send idle, probe",
              "recv_off": "receive idle, probe off (baseline)", "send_off": "send idle, probe off (baseline)"}
    for k, label in labels.items():
        x = r[k]
        print(f"  {label:<34} {x['wall']:8.2f} {x['cpu']:8.2f} {x['cpu'] / n:10.3f} {x['runs']:5d} {x['idle']:5d} "
              f"{x['changed']:7d} {x['events']:7d} {x['bytes'] / 1024:8.0f}")
    worst = max(r["recv"]["wall"], r["send"]["wall"])
    at300 = worst * 300 / n
    print(f"  slowest tick (with changes) {worst:.1f} s" + ("" if n == 300 else f", {at300:.0f} s if linear to 300 stores")
          + f"; target < {TARGET_WALL_300:.0f} s at 300: {ok(at300 < TARGET_WALL_300)}")
    print(f"  runs per tick: {max(r[k]['runs'] for k in labels)} (target ≤ {TARGET_RUNS} for both jobs, 1 each): "
          f"{ok(max(r[k]['runs'] for k in labels) <= 1)}")
    for d in ("recv", "send"):
        one = r[f"{d}_one"]["cpu"]
        on, off = r[f"{d}_idle"]["cpu"] / n, r[f"{d}_off"]["cpu"] / n
        marginal = (r[f"{d}_idle"]["cpu"] - one) / max(n - 1, 1)
        print(f"  idle {d} CPU per store: {on:.3f} s with the probe ({marginal:.3f} s beyond a 1-store run's "
              f"{one:.2f} s), {off:.3f} s without ({off / max(on, 1e-9):.1f}×); target < {TARGET_IDLE_CPU} s: "
              f"{ok(on < TARGET_IDLE_CPU)}")
    for kind, (a, b) in (("changed", ("recv", "send")), ("idle, probe", ("recv_idle", "send_idle")),
                         ("idle, probe off", ("recv_off", "send_off"))):
        events = r[a]["events"] + r[b]["events"]
        growth = (r[a]["bytes"] + r[b]["bytes"]) / (2 * n) * 1000
        print(f"  {kind:<16} per day ({TICKS_PER_DAY} ticks × 2 jobs): {2 * TICKS_PER_DAY} runs, "
              f"{events * TICKS_PER_DAY:,} event-log rows ({events} per tick pair); instance growth "
              f"{growth / 1e6:.2f} MB per 1,000 store-ticks ({growth * n * 2 * TICKS_PER_DAY / 1000 / 1e9:.2f} GB/day)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stores", default="20,100,300")
    ap.add_argument("--catalog", type=int, default=100_000)
    args = ap.parse_args()
    sizes = [int(x) for x in args.stores.split(",") if x.strip()]
    work = Path(tempfile.mkdtemp(prefix="sinc_scale_"))
    print(f"scale_bench: N = {sizes}, catalog {args.catalog:,}, work dir {work}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    try:
        t0 = time.perf_counter()
        tpl = build_template(work, args.catalog)
        print(f"  template (origin + one synced store) {time.perf_counter() - t0:.1f} s", flush=True)
        results = {n: bench_n(work, tpl, n) for n in sizes}
        for n, r in results.items():
            report(n, r, args.catalog)
        print(f"\nload average at the end {os.getloadavg()[0]:.1f} (2 shared cores: figures are noisy)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
