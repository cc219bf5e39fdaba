"""The three-way merge of two-way tables (twoway/merge.py): rules, ownership, deletes, convergence."""
import random

import pyarrow as pa
import pytest

from sinc_pipeline.twoway.merge import Rule, empty_base, merge

SCHEMA = pa.schema([("id", pa.int64()), ("nome", pa.string()), ("fone", pa.string()),
                    ("limite", pa.int64()), ("alterado", pa.int64())])
KEY = ["id"]


def t(rows):
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def r(i, nome="a", fone="1", limite=10, alterado=0):
    return {"id": i, "nome": nome, "fone": fone, "limite": limite, "alterado": alterado}


def apply(rows: dict, ch) -> dict:
    rows = dict(rows)
    for k in ch.deletes.column("id").to_pylist():
        rows.pop(k)
    for x in ch.inserts.to_pylist() + ch.updates.to_pylist():
        rows[x["id"]] = x
    return rows


def sync(o: dict, s: dict, base, rule=Rule(), oc=(), sc=(), waiting=None):
    m = merge(t(list(o.values())), t(list(s.values())), base, KEY, rule, oc, sc, waiting)
    drop = set(m.base_drop.to_pylist()) | set(m.base.column("chave").to_pylist())
    kept = base.filter(pa.array([k not in drop for k in base.column("chave").to_pylist()], pa.bool_()))
    return apply(o, m.to_origin), apply(s, m.to_store), pa.concat_tables([kept, m.base]), m


def test_one_side_changes_reach_the_other_and_second_sync_is_idle():
    o, s, b, m = sync({1: r(1), 2: r(2)}, {3: r(3)}, empty_base())
    assert o == s and set(o) == {1, 2, 3}
    o2, s2, b2, m2 = sync(o, s, b)
    assert m2.to_origin.empty and m2.to_store.empty and not m2.conflicts
    s2[1] = r(1, fone="9")
    o3, s3, b3, m3 = sync(o2, s2, b2)
    assert o3[1]["fone"] == "9" and not m3.conflicts and m3.to_store.empty


@pytest.mark.parametrize("rule,winner", [(Rule("origin_wins"), "O"), (Rule("store_wins"), "S"),
                                         (Rule("newest_wins", "alterado"), "S")])
def test_both_changed_is_a_conflict_decided_by_the_rule(rule, winner):
    o, s, b, _ = sync({1: r(1)}, {}, empty_base())
    o[1], s[1] = r(1, nome="O", alterado=1), r(1, nome="S", alterado=2)
    o, s, b, m = sync(o, s, b, rule)
    assert o == s and o[1]["nome"] == winner
    assert len(m.conflicts) == 1 and m.conflicts[0]["resultado"] == ("loja" if winner == "S" else "origem")
    assert not sync(o, s, b, rule)[3].conflicts


def test_manual_waits_and_leaves_the_row_alone_but_not_others():
    o, s, b, _ = sync({1: r(1), 2: r(2)}, {}, empty_base())
    o[1], s[1], o[2] = r(1, nome="O"), r(1, nome="S"), r(2, nome="novo")
    o2, s2, b2, m = sync(o, s, b, Rule("manual"))
    assert o2[1]["nome"] == "O" and s2[1]["nome"] == "S" and s2[2]["nome"] == "novo"
    assert [c["resultado"] for c in m.conflicts] == ["pendente"]
    m2 = sync(o2, s2, b2, Rule("manual"), waiting={"1"})[3]
    assert not m2.conflicts and m2.to_store.empty and m2.to_origin.empty


def test_column_ownership_merges_without_conflict():
    o, s, b, _ = sync({1: r(1)}, {}, empty_base())
    o[1], s[1] = r(1, limite=99), r(1, fone="555")
    o, s, b, m = sync(o, s, b, Rule(), oc=["limite"], sc=["fone"])
    assert not m.conflicts and o == s and o[1]["limite"] == 99 and o[1]["fone"] == "555"
    o[1], s[1] = r(1, limite=1, fone="x"), r(1, limite=2, fone="y")   # both edit owned columns
    o, s, b, m = sync(o, s, b, Rule(), oc=["limite"], sc=["fone"])
    assert not m.conflicts and o[1]["limite"] == 1 and o[1]["fone"] == "y" and o == s


def test_delete_against_update_the_update_wins():
    o, s, b, _ = sync({1: r(1), 2: r(2)}, {}, empty_base())
    del o[1]
    s[1] = r(1, nome="vivo")
    del s[2]
    o, s, b, m = sync(o, s, b)
    assert o == s and set(o) == {1} and o[1]["nome"] == "vivo"
    assert [c["tipo"] for c in m.conflicts] == ["exclusão"]


def test_random_histories_converge():
    rnd = random.Random(7)
    for rule in (Rule("origin_wins"), Rule("store_wins"), Rule("newest_wins", "alterado"), Rule("manual")):
        o, s, b, clock = {}, {}, empty_base(), 0
        waiting = set()
        for _ in range(30):
            for side in (o, s):
                for _ in range(rnd.randint(0, 4)):
                    clock += 1
                    i = rnd.randint(1, 25)
                    if i in side and rnd.random() < 0.2:
                        del side[i]
                    else:
                        side[i] = r(i, nome=rnd.choice("abc"), fone=rnd.choice("12"), alterado=clock)
            o, s, b, m = sync(o, s, b, rule, waiting=waiting)
            waiting |= {c["chave"] for c in m.conflicts if c["resultado"] == "pendente"}
            assert {k: v for k, v in o.items() if str(k) not in waiting} == \
                {k: v for k, v in s.items() if str(k) not in waiting}
            idle = sync(o, s, b, rule, waiting=waiting)[3]
            assert idle.to_origin.empty and idle.to_store.empty and not idle.conflicts
