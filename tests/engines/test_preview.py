"""simular (preview) of one-way syncs: computes the changes, writes nothing on either side, and
counts what the real run then writes."""
from __future__ import annotations

import sqlalchemy as sa

from sinc_pipeline.core.db import get_engine
from sinc_pipeline.sync.direction import sync_direction
from sinc_pipeline.twoway.preview import preview_rows

from ..helpers import small_demo


def checksum(url):
    eng = get_engine(url)
    with eng.connect() as c:
        q = eng.dialect.identifier_preparer.quote
        return {n: sorted(map(repr, c.exec_driver_sql(f"SELECT * FROM {q(n)}")))
                for n in sa.inspect(c).get_table_names()}


def test_preview_writes_nothing_and_counts_what_the_run_writes(make_db, tmp_path):
    st = small_demo(make_db, "sqlite", "sqlite", tmp_path)
    store = st.stores[0]
    urls = [st.origin.url, store.url]
    for direction in ("receive", "send"):
        before = {u: checksum(u) for u in urls}
        preview, errors = sync_direction(st, store.id, direction, simulate=True)
        assert not errors
        assert before == {u: checksum(u) for u in urls}
        real = {r.table: r for r in sync_direction(st, store.id, direction)[0]}
        for r in preview:
            assert (r.inserted, r.updated, r.deleted) == (real[r.table].inserted, real[r.table].updated,
                                                          real[r.table].deleted), r.table
            assert preview_rows(r).num_rows == r.changed
        assert sum(r.changed for r in preview) > 0 or direction == "send"


def test_preview_in_journal_mode_moves_no_position_and_writes_nothing(make_db, tmp_path):
    from decimal import Decimal

    from ..helpers import execute
    from .journal_helpers import journal_demo
    st = journal_demo(make_db, "sqlite", "sqlite", tmp_path)
    store = st.stores[0]
    sync_direction(st, store.id, "receive")                       # positions taken
    execute(st.origin.url, "UPDATE produtos SET preco = :p WHERE id = 5", {"p": Decimal("4.44")})
    execute(st.origin.url, "DELETE FROM produtos WHERE id = 6")
    urls = [st.origin.url, store.url]
    before = {u: checksum(u) for u in urls}                         # sinc_estado, sinc_alteracoes included
    preview = {r.table: r for r in sync_direction(st, store.id, "receive", simulate=True)[0]}
    assert before == {u: checksum(u) for u in urls}
    assert (preview["produtos"].updated, preview["produtos"].deleted) == (1, 1)
    real = {r.table: r for r in sync_direction(st, store.id, "receive")[0]}
    assert (real["produtos"].updated, real["produtos"].deleted) == (1, 1)
