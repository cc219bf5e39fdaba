"""The probe's decision (``capture/probe.py`` ``decide``), branch by branch: idle only when every
table's saved position is a journal one, inside the producer's numbers, with no later entry
(PostgreSQL: none at or after it; a scoped table: none in the store's scope) and nothing else
asking for the normal path."""
from __future__ import annotations

from sinc_pipeline.capture.probe import IDLE_NOTE, ProbedTable, ProducerState, TargetState, decide

T = [ProbedTable("produtos", "produtos"), ProbedTable("precos_loja", "precos_loja", scope="1")]


def _target(**kw) -> TargetState:
    return TargetState(**{"positions": {"produtos": "100", "precos_loja": "100"}, **kw})


def _producer(engine="sqlite", **kw) -> ProducerState:
    return ProducerState(**{"engine": engine, "horizon": 50, "head": 120,
                            "latest": {("produtos", None): 100, ("precos_loja", "1"): 90}, **kw})


def test_idle_when_nothing_is_after_the_positions():
    p = decide(T, _target(), _producer())
    assert p.idle and p.reason == IDLE_NOTE and p.positions == {"produtos": "100", "precos_loja": "100"}


def test_an_entry_after_a_position_syncs_and_postgresql_counts_the_position_itself():
    assert not decide(T, _target(), _producer(latest={("produtos", None): 101})).idle
    assert decide(T, _target(), _producer("mysql", latest={("produtos", None): 100})).idle
    assert not decide(T, _target(), _producer("postgresql", latest={("produtos", None): 100})).idle
    assert decide(T, _target(), _producer("postgresql", latest={("produtos", None): 99})).idle


def test_a_scoped_table_counts_only_its_stores_entries():
    other = {("precos_loja", "2"): 500, ("precos_loja", None): 500}
    assert decide(T, _target(), _producer(latest=other)).idle
    assert not decide(T, _target(), _producer(latest={("precos_loja", "1"): 101})).idle


def test_everything_that_needs_the_normal_path_syncs():
    cases = {
        "loja nova": (_target(has_state=False, positions={}), _producer()),
        "retida": (_target(held=2), _producer()),
        "não instalada": (_target(), _producer(missing="a tabela sinc_alteracoes não existe")),
        "reparo": (_target(repair=frozenset({"precos_loja"})), _producer()),
        "sem posição": (_target(positions={"produtos": "100"}), _producer()),
        "sem posição salva": (_target(positions={"produtos": "2026-12-01T10:00:00", "precos_loja": "100"}),
                              _producer()),                                    # a cursor mode's position
        "horizonte": (_target(), _producer(horizon=101)),
        "numerou": (_target(), _producer(head=99, horizon=0)),
        "lacuna": (_target(positions={"produtos": "100/130@1700000000", "precos_loja": "100"}), _producer("mysql")),
    }
    for word, (target, producer) in cases.items():
        p = decide(T, target, producer)
        assert not p.idle and word in p.reason, (word, p.reason)
