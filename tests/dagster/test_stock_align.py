"""The ``alinhar_estoque`` job: simulate, align, its checks, and a divergence waiting for a held sale."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.cli.run import run_job
from sinc_pipeline.core.errors import SincError
from sinc_pipeline.fiscal.rules import build_access_key
from sinc_pipeline.stock.align import compute_divergences

from ..engines.test_stock_align import STORE, drift_stock, stocks_of
from ..helpers import execute, rows, small_demo


@pytest.fixture
def sqlite_demo(make_db, tmp_path):
    return small_demo(make_db, "sqlite", "sqlite", tmp_path)


def test_alinhar_estoque_job(sqlite_demo):
    s = sqlite_demo
    drift_stock(s)
    unsent = rows(s.store(STORE).url, "SELECT COUNT(*) FROM vendas")[0][0] - \
        rows(s.origin.url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1")[0][0]
    assert unsent > 0
    defs = build_defs(s)
    job = defs.resolve_job_def("alinhar_estoque")
    assert job.partitions_def.get_partition_keys() == ["loja_01", "loja_02"]
    before = stocks_of(s)[0]
    with DagsterInstance.ephemeral() as instance:
        sim = run_job(defs, "alinhar_estoque", STORE, {"simular": True}, instance)
        assert sim.success, sim.error
        assert sim.assets["enviar_vendas"]["inseridas"] == unsent          # pending sales sent first
        assert rows(s.origin.url, "SELECT COUNT(*) FROM vendas WHERE loja_id = 1")[0][0] == \
            rows(s.store(STORE).url, "SELECT COUNT(*) FROM vendas")[0][0]   # really sent, not previewed
        div = sim.assets["divergencias_estoque"]
        assert div["divergencias"] == 5 and div["soma_abs_diferencas"] == "4.502"
        assert div["somente_loja"] == 1 and div["somente_origem"] == 1
        assert "| 9001" in div["maiores_divergencias"] and pq.read_table(div["arquivo"]).num_rows == 5
        assert "ajustes_estoque" not in sim.assets and stocks_of(s)[0] == before

        real = run_job(defs, "alinhar_estoque", STORE, {}, instance)
        assert real.success, real.error
        adj = real.assets["ajustes_estoque"]
        assert (adj["atualizados"], adj["incluidos"], adj["registros_auditoria"]) == (4, 1, 5)
        assert real.checks["ajustes_estoque:nenhuma_divergencia_restante"]["passou"] is True
        assert compute_divergences(s, STORE).table.num_rows == 0

        again = run_job(defs, "alinhar_estoque", STORE, {}, instance)
        assert again.assets["divergencias_estoque"]["divergencias"] == 0
        assert again.assets["ajustes_estoque"]["registros_auditoria"] == 0
        with pytest.raises(SincError, match="simulate"):
            run_job(defs, "alinhar_estoque", STORE, {"simulate": True}, instance)


def test_check_fails_while_a_divergence_waits_for_a_held_sale(sqlite_demo):
    s = sqlite_demo
    store = s.store(STORE)
    key = build_access_key(35, "2611", store.cnpj, 65, 11, 1, 1, 99_999_999)
    original = rows(store.url, "SELECT numero, chave FROM documentos_fiscais WHERE id = 23")[0]
    execute(store.url, "UPDATE documentos_fiscais SET numero = 1, chave = :k WHERE id = 23", {"k": key})
    product = rows(store.url, "SELECT produto_id FROM venda_itens WHERE venda_id = 23 ORDER BY item")[0][0]
    execute(store.url, "UPDATE estoque SET quantidade = quantidade + 3 WHERE produto_id = :p", {"p": product})
    defs = build_defs(s)
    with DagsterInstance.ephemeral() as instance:
        res = run_job(defs, "alinhar_estoque", STORE, {}, instance)
        assert res.success, res.error
        assert res.assets["ajustes_estoque"]["adiados_quarentena_fiscal"] >= 1
        assert res.checks["ajustes_estoque:nenhuma_divergencia_restante"]["passou"] is False
        assert res.checks["enviar_documentos_fiscais:sem_documentos_em_quarentena"]["passou"] is False
        assert product in compute_divergences(s, STORE).table.column("produto_id").to_pylist()
        # fixed at the store: the sale is sent, released, and the stock is aligned
        execute(store.url, "UPDATE documentos_fiscais SET numero = :n, chave = :k WHERE id = 23",
                {"n": original[0], "k": original[1]})
        res = run_job(defs, "alinhar_estoque", STORE, {}, instance)
        assert res.checks["enviar_documentos_fiscais:sem_documentos_em_quarentena"]["passou"] is True
        assert res.checks["ajustes_estoque:nenhuma_divergencia_restante"]["passou"] is True

