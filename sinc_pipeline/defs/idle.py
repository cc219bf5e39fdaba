"""What a tick records for a store the probe found idle (``capture/probe.py``): per table one
materialization on the store's partition, with the same metadata keys as a sync (counts 0, the
saved position as ``cursor``) and ``situacao: sem alterações (sondagem)``. The freshness checks
and ``saude_lojas`` read materializations, so they see the store as up to date (it is: the journal
says nothing changed since its position). The check ``origem_e_loja_conferem`` is not evaluated
again: nothing was written, so its previous evaluation (which passed: a failed one marks the
table for repair, and a marked table is never idle) still describes the store."""
from __future__ import annotations

from dagster import AssetMaterialization, MetadataValue

from sinc_pipeline.capture.probe import Probe
from sinc_pipeline.defs.metadata import result_metadata
from sinc_pipeline.defs.sync_assets import table_key
from sinc_pipeline.settings import Settings
from sinc_pipeline.sync.unit import TableResult

IDLE_KEY = "situacao"


def idle_events(settings: Settings, store_id: str, direction: str, probe: Probe) -> list[AssetMaterialization]:
    out = []
    for t in settings.tables:
        if t.direction != direction:
            continue
        r = TableResult(t.name, direction, store_id, "journal", cursor=probe.positions.get(t.name))
        out.append(AssetMaterialization(asset_key=table_key(t), partition=store_id, metadata={
            **result_metadata(r), IDLE_KEY: MetadataValue.text(probe.reason)}))
    return out
