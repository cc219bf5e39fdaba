"""Progress of the long jobs in the event log: per table and chunk, rows done of rows total."""
from __future__ import annotations

import re

from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.defs.progress import progress_line

from ..helpers import rows, small_demo

LINE = re.compile(r"Progresso (\S+): (\S+) — ([\d.]+) de ([\d.]+) linhas \((\d+)%\)")


def _progress(instance, run_id: str) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for ev in instance.all_logs(run_id):
        m = LINE.search(ev.user_message or "")
        if m:
            out.setdefault(m.group(2), []).append((int(m.group(3).replace(".", "")), int(m.group(4).replace(".", ""))))
    return out


def _check(progress: dict, url: str, tables: list[str], chunked: bool = True) -> None:
    assert set(tables) <= set(progress), progress
    for table in tables:
        steps = progress[table]
        (total,) = {t for _, t in steps}
        assert total == rows(url, f"SELECT COUNT(*) FROM {table}")[0][0]
        assert [d for d, _ in steps] == sorted(d for d, _ in steps) and steps[-1][0] == total
    assert not chunked or any(len(steps) > 1 for steps in progress.values())   # chunk by chunk


def test_progress_lines_of_gerar_restaurar_criar(make_db, tmp_path):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path).model_copy(update={"chunk_size": 10})   # unvalidated: tiny chunks
    defs = build_defs(st)
    store = st.store("loja_01").url
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "gerar_base_dados", "loja_01", {}, instance)
        assert res.success, res.error
        _check(_progress(instance, res.run_id), store, ["vendas", "venda_itens", "produto"])
        target = make_db("sqlite")
        res = run_job(defs, "restaurar_base", None, {"loja": "loja_01", "destino": target}, instance)
        assert res.success, res.error
        _check(_progress(instance, res.run_id), target, ["vendas", "produto"], chunked=False)  # restore: fixed batches
        fresh = st.model_copy(update={"stores": [s if s.id != "loja_02" else s.model_copy(
            update={"url": make_db("sqlite")}) for s in st.stores]})
        res = run_job(build_defs(fresh), "criar_base_loja", "loja_02", {}, instance)
        assert res.success, res.error
        _check(_progress(instance, res.run_id), fresh.store("loja_02").url, ["produto", "clientes"])


def test_progress_line_text():
    assert progress_line("loja_01", "produtos", 50_000, 120_000) == \
        "Progresso loja_01: produtos — 50.000 de 120.000 linhas (41%)"
    assert "total não conhecido" in progress_line("loja_01", "vendas", 10, 0)


def test_progress_lines_of_conferir_lojas(make_db, tmp_path):
    """conferir_lojas logs, per table and key range, the rows compared of the table's rows."""
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path).model_copy(update={"diff_chunk_rows": 10})
    defs = build_defs(st)
    store = st.store("loja_01").url
    with DagsterInstance.ephemeral() as instance:
        for job in ("forcar_atualizacao", "conferir_lojas"):
            res = run_job(defs, job, "loja_01", {}, instance)
            assert res.success, res.error
        progress = _progress(instance, res.run_id)
    assert {t.name for t in st.tables} <= set(progress), progress
    for table in ("vendas", "venda_itens"):          # the same name on both sides
        steps = progress[table]
        total = rows(store, f"SELECT COUNT(*) FROM {table}")[0][0]
        assert steps[0] == (0, total) and steps[-1] == (total, total) and len(steps) > 2, steps
        assert [d for d, _ in steps] == sorted(d for d, _ in steps)
