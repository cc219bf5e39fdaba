"""saude_lojas rows from facts: lag, status, fiscal risks per store; retention's protected runs."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from sinc_pipeline.health.failures import RunFailure, append_failure, latest_failure_by_store, read_failures
from sinc_pipeline.health.report import StoreFacts, fiscal_by_store, health_frame, health_table, lag_minutes
from sinc_pipeline.health.retention import AssetEvent, protected_runs, runs_to_delete

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.timezone.utc)


def _ago(minutes):
    return NOW - dt.timedelta(minutes=minutes)


def test_lag_is_minutes_past_the_interval():
    assert lag_minutes(_ago(3), NOW, 5) == 0.0
    assert lag_minutes(_ago(12), NOW, 5) == 7.0
    assert lag_minutes(None, NOW, 5) is None


def test_status_per_store():
    facts = [StoreFacts("ok", _ago(2), _ago(4), pending=0, held=0),
             StoreFacts("late", _ago(8), _ago(4), held=2),
             StoreFacts("stale", _ago(16), _ago(4)),
             StoreFacts("never", None, _ago(1)),
             StoreFacts("fiscal", _ago(1), _ago(1), contingency_pending=2, contingency_late=1)]
    df = health_frame(facts, NOW, 5, 5).set_index("loja")
    assert df.loc["ok", "situacao"] == "ok" and df.loc["ok", "problemas"] == ""
    assert df.loc["late", "situacao"] == "atencao" and df.loc["late", "atraso_envio_min"] == 3.0
    assert "2 linha(s) retida(s)" in df.loc["late", "problemas"]
    assert df.loc["stale", "situacao"] == "critico" and "envio parado há 16 min" in df.loc["stale", "problemas"]
    assert df.loc["never", "situacao"] == "critico" and "envio nunca concluído" in df.loc["never", "problemas"]
    assert df.loc["fiscal", "situacao"] == "critico" and "1 NFC-e em contingência além do prazo" in \
        df.loc["fiscal", "problemas"]
    table = health_table(df.reset_index())
    assert table.num_rows == 5 and table.schema.field("ultimo_envio").type.tz == "UTC"


def test_a_failure_older_than_the_last_sync_is_not_a_problem():
    old = StoreFacts("a", _ago(1), _ago(1), last_failure="receber_dados: caiu", last_failure_at=_ago(30))
    new = StoreFacts("b", _ago(10), _ago(10), last_failure="receber_dados: caiu", last_failure_at=_ago(1))
    df = health_frame([old, new], NOW, 15, 15).set_index("loja")
    assert df.loc["a", "situacao"] == "ok"
    assert df.loc["b", "situacao"] == "atencao" and "última falha: receber_dados: caiu" in df.loc["b", "problemas"]


def test_fiscal_by_store_counts_late_and_overdue():
    pending = pd.DataFrame({"loja": ["l1", "l1", None], "atrasado": [True, False, True]})
    gaps = pd.DataFrame({"loja": ["l1", "l2"], "dias_restantes": [-2, 5]})
    out = fiscal_by_store(gaps, pending)
    assert out["l1"] == {"contingencia_pendente": 2, "contingencia_atrasada": 1, "lacunas_numeracao": 1,
                         "lacunas_vencidas": 1}
    assert out["l2"]["lacunas_numeracao"] == 1 and out["l2"]["lacunas_vencidas"] == 0


def test_failures_store_round_trip_skips_a_torn_line(tmp_path):
    append_failure(tmp_path, RunFailure("r1", "receber_dados", ["l1", "l2"], "erro 1", NOW.isoformat()))
    append_failure(tmp_path, RunFailure("r2", "enviar_dados", ["l2"], "erro 2", NOW.isoformat()))
    with (tmp_path / "falhas_execucao.jsonl").open("a") as fh:
        fh.write('{"run_id": "r3", "jo')
    got = read_failures(tmp_path)
    assert [f.run_id for f in got] == ["r1", "r2"]
    latest = latest_failure_by_store(got)
    assert latest["l1"].run_id == "r1" and latest["l2"].run_id == "r2"


def test_protected_runs_hold_the_latest_event_per_partition():
    ev = [AssetEvent("materializacao", "a", "l1", 1, "r1"), AssetEvent("materializacao", "a", "l1", 5, "r2"),
          AssetEvent("materializacao", "a", "l2", 2, "r1"), AssetEvent("verificacao", "a:c", "l1", 3, "r3"),
          AssetEvent("materializacao", "b", None, 4, "r4"), AssetEvent("materializacao", "b", None, 6, "r5")]
    assert protected_runs(ev) == {"r2", "r1", "r3", "r5"}
    assert runs_to_delete(["r4", "r1", "r6"], protected_runs(ev)) == ["r4", "r6"]


def test_counted_reports_after_each_batch_and_closes_the_source():
    import pyarrow as pa

    from sinc_pipeline.core.progress import counted
    closed, calls = [], []

    def source():
        try:
            for n in (3, 2, 4):
                yield pa.record_batch([pa.array(range(n))], names=["x"])
        finally:
            closed.append(True)
    stream = counted(source(), "t", 9, lambda *a: calls.append(a))
    assert sum(b.num_rows for b in stream) == 9
    assert calls == [("t", 3, 9), ("t", 5, 9), ("t", 9, 9)] and closed == [True]
    early = counted(source(), "t", 0, lambda *a: calls.append(a))
    next(early)
    early.close()
    assert closed == [True, True]
