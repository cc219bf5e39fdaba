"""The probe in a real tick run (``receber_dados`` / ``enviar_dados`` on an instance): an idle
journal-mode store records one materialization per table on its partition saying nothing
changed, the freshness checks are evaluated fresh, the post-sync check is not re-run and the
store's latest check stays the passing one; a store with a change in the same run is synced."""
from __future__ import annotations

from dagster import AssetCheckKey, AssetKey, DagsterEventType, DagsterInstance

from sinc_pipeline import build_defs
from sinc_pipeline.capture.probe import IDLE_NOTE
from sinc_pipeline.cli.run import run_tick
from sinc_pipeline.defs.freshness import CHECK_NAME
from sinc_pipeline.defs.health_assets import last_sync
from sinc_pipeline.defs.sync_assets import CHECK, keys_for

from ..engines.journal_helpers import all_journal
from ..helpers import execute, rows

STORES = ["loja_01", "loja_02"]


def _state(st, store: str) -> list[tuple]:
    return rows(st.store(store).url, "SELECT tabela, cursor_valor, run_id FROM sinc_estado WHERE loja = :l "
                                     "ORDER BY tabela", l=store)


def test_an_idle_store_is_probed_in_the_tick_and_a_changed_one_synced(make_db, tmp_path):
    st = all_journal(make_db, "sqlite", tmp_path)
    defs = build_defs(st)
    keys = keys_for(st, "receive")
    off = build_defs(st.model_copy(update={"tick": st.tick.model_copy(update={"probe": False})}))
    with DagsterInstance.ephemeral() as instance:
        base = run_tick(off, "receber_dados", STORES, {}, instance)      # probe off: synced, checks evaluated
        assert all(s.success and s.checks and not any(md.get("situacao") for md in s.assets.values()) for s in base)
        first = run_tick(defs, "receber_dados", STORES, {}, instance)     # nothing changed since: idle
        assert all(s.success for s in first)
        for s in first:
            assert {a: md.get("situacao") for a, md in s.assets.items()} == {
                k.to_user_string(): IDLE_NOTE for k in keys}
            assert not s.checks                                         # origem_e_loja_conferem not re-run
            assert all(c.inserted == c.updated == c.deleted == c.compared == 0 for c in s.syncs.values())
        run_id = first[0].run_id
        fresh = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        assert {e.dagster_event.event_specific_data.asset_key for e in fresh
                if e.dagster_event.event_specific_data.check_name == CHECK_NAME} == set(keys)
        synced_at = last_sync(instance, keys, STORES)
        assert all(synced_at[s] is not None for s in STORES)            # saude_lojas sees both stores as synced

        before = {s: _state(st, s) for s in STORES}
        execute(st.origin.url, "UPDATE precos_loja SET preco = 12 WHERE loja_id = 2 AND produto_id = 1")
        second = {s.store: s for s in run_tick(defs, "receber_dados", STORES, {}, instance)}
        idle, changed = second["loja_01"], second["loja_02"]
        assert all(md.get("situacao") == IDLE_NOTE for md in idle.assets.values()) and not idle.checks
        assert _state(st, "loja_01") == before["loja_01"]
        assert not any(md.get("situacao") for md in changed.assets.values())
        assert changed.syncs["receber_precos_loja"].updated == 1
        assert changed.checks and all(c["passou"] for c in changed.checks.values())
        assert _state(st, "loja_02") != before["loja_02"]
        assert {r[2] for r in _state(st, "loja_02")} == {changed.run_id}
        # the idle store's latest check evaluation is still the passing one of its first sync
        info = instance.event_log_storage.get_asset_check_partition_info(
            [AssetCheckKey(AssetKey("receber_precos_loja"), CHECK)], partition_keys=["loja_01"])
        assert [i.latest_execution_status.value for i in info] == ["SUCCEEDED"]

        sent = run_tick(defs, "enviar_dados", STORES, {}, instance)     # send: idle too
        assert all(md.get("situacao") == IDLE_NOTE for s in sent for md in s.assets.values())
        assert not any(s.checks for s in sent)                          # nor the quarantine check
