"""The foreign-key planner (units, order, refusals) and the row order of self-references, without a database."""
from __future__ import annotations

import itertools
import random

import pyarrow as pa
import pytest

from sinc_pipeline.io.fkorder import member, reference_levels, with_nulls
from sinc_pipeline.settings.models import TableConfig
from sinc_pipeline.sync.plan import Edge, linked, plan_problems, plan_units


def table(name, group=None, deletes=None, direction="receive"):
    return TableConfig(name=name, direction=direction, key=["id"], group=group, deletes=deletes)


SHOP = [Edge("categorias", "categorias", ("pai_id",), ("id",)),
        Edge("produtos", "categorias", ("categoria_id",), ("id",)),
        Edge("itens_venda", "vendas", ("venda_id",), ("id",)),
        Edge("itens_venda", "produtos", ("produto_id",), ("id",), side="store"),
        Edge("precos", "produtos", ("produto_id",), ("id",))]
NAMES = ["categorias", "produtos", "vendas", "itens_venda", "precos", "clientes"]


def names(units):
    return [[t.name for t in u] for u in units]


@pytest.mark.parametrize("order", list(itertools.permutations(NAMES[:5])) + [tuple(reversed(NAMES))])
def test_linked_tables_form_one_unit_parents_first_in_any_config_order(order):
    tables = [table(n) for n in order] + ([] if "clientes" in order else [table("clientes")])
    units = names(plan_units(tables, SHOP))
    assert sorted(map(sorted, units)) == [["categorias", "itens_venda", "precos", "produtos", "vendas"], ["clientes"]]
    fk_unit = next(u for u in units if len(u) > 1)
    for e in SHOP:
        if e.child != e.parent:
            assert fk_unit.index(e.parent) < fk_unit.index(e.child), (e, fk_unit)
    assert plan_problems(tables, SHOP) == []


def test_config_order_breaks_ties_and_orders_the_units():
    tables = [table(n) for n in ["precos", "vendas", "clientes", "categorias", "produtos", "itens_venda"]]
    assert names(plan_units(tables, SHOP)) == [
        ["vendas", "categorias", "produtos", "precos", "itens_venda"], ["clientes"]]
    assert names(plan_units(tables, [])) == [[n] for n in
                                             ["precos", "vendas", "clientes", "categorias", "produtos", "itens_venda"]]


def test_groups_join_their_tables_and_absorb_linked_ungrouped_tables():
    tables = [table("precos"), table("produtos", group="catalogo"), table("clientes", group="catalogo"),
              table("avulsa")]
    edges = [Edge("precos", "produtos", ("produto_id",), ("id",))]
    assert names(plan_units(tables, edges)) == [["produtos", "precos", "clientes"], ["avulsa"]]
    assert linked(plan_units(tables, edges)[0], edges) and not linked(plan_units(tables, edges)[1], edges)
    assert linked([table("categorias")], SHOP)   # a self-reference links a lone table


def test_groups_joined_by_a_foreign_key_are_refused_naming_tables_and_constraint():
    tables = [table("produtos", group="catalogo"), table("categorias", group="arvore"), table("precos")]
    edges = [Edge("produtos", "categorias", ("categoria_id",), ("id",), name="fk_prod_cat")]
    [problem] = plan_problems(tables, edges)
    assert "'arvore'" in problem and "'catalogo'" in problem and "fk_prod_cat" in problem
    assert "produtos(categoria_id) → categorias(id)" in problem and "mesmo grupo" in problem
    # joined through an ungrouped table: the path is named
    tables = [table("vendas", group="a"), table("itens"), table("produtos", group="b")]
    edges = [Edge("itens", "vendas", ("venda_id",), ("id",)), Edge("itens", "produtos", ("produto_id",), ("id",))]
    [problem] = plan_problems(tables, edges)
    assert "itens(venda_id) → vendas(id)" in problem and "itens(produto_id) → produtos(id)" in problem


def test_a_cycle_between_tables_is_refused_a_self_reference_is_not():
    tables = [table("a"), table("b"), table("c")]
    edges = [Edge("a", "b", ("b_id",), ("id",)), Edge("b", "c", ("c_id",), ("id",)),
             Edge("c", "a", ("a_id",), ("id",), name="fk_c_a"), Edge("a", "a", ("pai",), ("id",))]
    [problem] = plan_problems(tables, edges)
    assert "ciclo" in problem and "fk_c_a" in problem and "a(b_id) → b(id)" in problem
    assert plan_problems(tables, edges[:2] + edges[3:]) == []


def test_child_ignoring_deletes_of_a_propagating_parent_is_refused_unless_the_constraint_cascades():
    tables = [table("produtos"), table("precos", deletes="ignore")]
    store_fk = Edge("precos", "produtos", ("produto_id",), ("id",), name="fk_preco", side="store")
    [problem] = plan_problems(tables, [store_fk])
    assert "'produtos'" in problem and "'precos'" in problem and "fk_preco" in problem
    assert plan_problems(tables, [Edge(**{**store_fk.__dict__, "ondelete": "CASCADE"})]) == []
    assert plan_problems(tables, [Edge(**{**store_fk.__dict__, "side": "origin"})]) == []   # not the written side


def test_edges_to_tables_outside_the_direction_are_ignored():
    tables = [table("vendas", direction="send")]
    edges = [Edge("vendas", "produtos", ("produto_id",), ("id",))]
    assert names(plan_units(tables, edges)) == [["vendas"]] and plan_problems(tables, edges) == []


# ----------------------------------------------------------------------------- row order

def _levels_respect(rows: pa.Table, levels) -> None:
    placed: set = set()
    ids, parents = rows.column("id").to_pylist(), rows.column("pai_id").to_pylist()
    pending = set(ids)
    for level in levels:
        for i in level.to_pylist():
            assert parents[i] is None or parents[i] not in pending or parents[i] in placed
        placed |= {ids[i] for i in level.to_pylist()}


def test_reference_levels_put_parents_before_children_in_any_row_order():
    rnd = random.Random(7)
    ids = list(range(1, 301))
    parents = [None if i < 5 or rnd.random() < 0.1 else rnd.randrange(1, i) for i in ids]
    parents[10] = 999                                       # a parent already at the target
    order = list(range(len(ids)))
    rnd.shuffle(order)
    rows = pa.table({"id": [ids[i] for i in order], "pai_id": pa.array([parents[i] for i in order], pa.int64())})
    levels, cycle = reference_levels(rows, [(["pai_id"], ["id"])])
    assert len(cycle) == 0 and sum(len(lv) for lv in levels) == rows.num_rows
    _levels_respect(rows, levels)
    # deletes: children first (a row goes once no remaining row points at it)
    levels, cycle = reference_levels(rows, [(["id"], ["pai_id"])])
    gone: set = set()
    for level in levels:
        for i in level.to_pylist():
            assert not any(p == rows.column("id")[i].as_py() for j, p in enumerate(rows.column("pai_id").to_pylist())
                           if rows.column("id")[j].as_py() not in gone and j != i)
        gone |= {rows.column("id")[i].as_py() for i in level.to_pylist()}


def test_a_cycle_of_rows_is_left_over_and_can_be_inserted_with_nulls():
    rows = pa.table({"id": [1, 2, 3, 4, 5], "pai_id": pa.array([2, 3, 1, None, 5], pa.int64())})
    levels, cycle = reference_levels(rows, [(["pai_id"], ["id"])])
    assert [lv.to_pylist() for lv in levels] == [[3]] and sorted(cycle.to_pylist()) == [0, 1, 2, 4]
    assert with_nulls(rows, ["pai_id"]).column("pai_id").null_count == 5


def test_member_composite_and_nulls_never_match():
    rows = pa.table({"a": [1, 1, None], "b": pa.array([1, 2, 1], pa.int32())})
    others = pa.table({"x": [1, 1], "y": pa.array([2, 1], pa.int64())})
    assert member(rows, ["a", "b"], others, ["x", "y"]).to_pylist() == [True, True, False]
    assert member(rows, ["a"], others.slice(0, 0), ["x"]).to_pylist() == [False, False, False]
