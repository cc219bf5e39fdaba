"""Snapshots of a store's database as Parquet ("Gerar Base de Dados"), and their restore side.

Layout (through a ``Storage``, see ``storage.py``)::

    <root>/<store_id>/<snapshot_id>/<table>.parquet    one file per table
    <root>/<store_id>/<snapshot_id>/manifest.json      written last

Modules, all on Arrow data except ``dump`` and ``restore`` (which talk to databases):

* ``storage``: the file-access seam (``Storage`` protocol) and ``LocalStorage``;
* ``manifest``: the manifest, snapshot ids and kinds;
* ``catalog``: ``load_manifest`` / ``list_snapshots`` / ``latest`` / ``resolve`` / ``chain_for``;
* ``verify``: ``verify_chain`` (every file present, sha256, parent links, store; raises before
  anything is applied) and reading a table back;
* ``incremental``: ``incremental_changes`` / ``apply_incremental`` and ``materialize_chain``;
* ``writer``: ``SnapshotWriter``; ``retention``: ``apply_retention``;
* ``dump``: a store's database into a snapshot; ``restore``: a snapshot chain into a database.
"""
from __future__ import annotations

from sinc_pipeline.io.checksum import table_checksum
from sinc_pipeline.snapshots.catalog import chain_for, latest, list_snapshots, load_manifest, resolve
from sinc_pipeline.snapshots.incremental import (apply_incremental, incremental_changes, incremental_schema,
                                                 materialize_chain)
from sinc_pipeline.snapshots.manifest import (COMPLETA, DELETE, INCREMENTAL, KINDS, MANIFEST_FILE, OPERACAO, UPSERT,
                                              ColumnInfo, Manifest, SnapshotError, TableEntry)
from sinc_pipeline.snapshots.retention import apply_retention
from sinc_pipeline.snapshots.storage import LocalStorage, Storage
from sinc_pipeline.snapshots.verify import read_snapshot_table, snapshot_table_schema, verify_chain
from sinc_pipeline.snapshots.writer import SnapshotWriter

__all__ = [
    "COMPLETA", "INCREMENTAL", "KINDS", "OPERACAO", "UPSERT", "DELETE", "MANIFEST_FILE",
    "SnapshotError", "ColumnInfo", "TableEntry", "Manifest", "Storage", "LocalStorage", "SnapshotWriter",
    "table_checksum", "load_manifest", "list_snapshots", "latest", "resolve", "chain_for",
    "verify_chain", "read_snapshot_table", "snapshot_table_schema", "materialize_chain", "incremental_schema",
    "incremental_changes", "apply_incremental", "apply_retention",
]
