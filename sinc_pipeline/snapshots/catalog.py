"""Finding snapshots in a storage: load a manifest, list, latest, resolve a reference, the chain."""
from __future__ import annotations

import json

from sinc_pipeline.snapshots.manifest import (_ID_RE, INCREMENTAL, KINDS, MANIFEST_FILE, Manifest, SnapshotError,
                                              _check_name)
from sinc_pipeline.snapshots.storage import Storage

def load_manifest(storage: Storage, store_id: str, snapshot_id: str) -> Manifest:
    """Read ``<store_id>/<snapshot_id>/manifest.json``; refuses a manifest of another store/snapshot."""
    _check_name(store_id, "loja")
    _check_name(snapshot_id, "snapshot")
    where = storage.describe(store_id, snapshot_id, MANIFEST_FILE)
    if not storage.exists(store_id, snapshot_id):
        raise SnapshotError(f"Snapshot {snapshot_id!r} da loja {store_id!r} não encontrado "
                            f"({storage.describe(store_id, snapshot_id)}). Dica: veja os snapshots disponíveis "
                            "com list_snapshots; os antigos podem ter sido apagados pela retenção.")
    try:
        raw = storage.read_bytes(store_id, snapshot_id, MANIFEST_FILE)
    except FileNotFoundError:
        raise SnapshotError(f"Manifesto ausente: {where}. Dica: a pasta não é um snapshot completo "
                            "(cópia interrompida?); restaure-a de outra cópia ou apague-a.") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SnapshotError(f"Manifesto ilegível em {where}: {err}. Dica: o arquivo foi corrompido; "
                            "restaure-o de outra cópia ou apague o snapshot.") from None
    m = Manifest.from_dict(data, where)
    if m.store != store_id or m.id != snapshot_id:
        raise SnapshotError(
            f"Manifesto estrangeiro em {where}: ele descreve o snapshot {m.id!r} da loja {m.store!r}, mas está "
            f"na pasta do snapshot {snapshot_id!r} da loja {store_id!r}. Dica: um arquivo foi copiado de outra "
            "loja/snapshot; restaure a pasta original ou apague-a.")
    if _ID_RE.match(m.id) is None or _ID_RE.match(m.id).group(2) != m.kind:
        raise SnapshotError(f"Manifesto inválido em {where}: id {m.id!r} não combina com kind {m.kind!r}. "
                            "Dica: o manifesto foi editado; restaure-o de outra cópia.")
    return m


def list_snapshots(storage: Storage, store_id: str) -> list[Manifest]:
    """Every finished snapshot of the store, oldest first (``.tmp-*`` folders are ignored)."""
    _check_name(store_id, "loja")
    return [load_manifest(storage, store_id, name) for name in storage.list_dirs(store_id) if _ID_RE.match(name)]


def latest(storage: Storage, store_id: str, kind: str | None = None) -> Manifest | None:
    """The newest snapshot of the store (of ``kind`` when given), or None."""
    if kind is not None and kind not in KINDS:
        raise SnapshotError(f"Tipo de snapshot inválido: {kind!r}. Dica: use {' ou '.join(KINDS)}.")
    found = [m for m in list_snapshots(storage, store_id) if kind is None or m.kind == kind]
    return found[-1] if found else None


def resolve(storage: Storage, store_id: str, ref: str) -> Manifest:
    """``"latest"`` or a snapshot id -> its manifest; a clear error when there is none."""
    if ref == "latest":
        m = latest(storage, store_id)
        if m is None:
            raise SnapshotError(f"Nenhum snapshot da loja {store_id!r} em {storage.describe(store_id)}. "
                                "Dica: rode 'Gerar Base de Dados' (snapshot completo) primeiro.")
        return m
    if not isinstance(ref, str) or _ID_RE.match(ref) is None:
        raise SnapshotError(f"Snapshot {ref!r} inválido para a loja {store_id!r}. Dica: use 'latest' ou um id "
                            "como 20261128T101500123456Z-completa.")
    return load_manifest(storage, store_id, ref)


def chain_for(storage: Storage, store_id: str, snapshot_id: str) -> list[Manifest]:
    """The full snapshot, then each incremental up to ``snapshot_id`` (or "latest"), via parent_id."""
    chain = [resolve(storage, store_id, snapshot_id)]
    while chain[-1].kind == INCREMENTAL:
        child = chain[-1]
        pid = child.parent_id
        if _ID_RE.match(pid or "") is None or pid >= child.id:
            raise SnapshotError(
                f"Pai inválido no manifesto {storage.describe(store_id, child.id, MANIFEST_FILE)}: parent_id = "
                f"{pid!r} (deve ser um snapshot anterior). Dica: o manifesto foi editado; gere um novo snapshot completo.")
        try:
            chain.append(load_manifest(storage, store_id, pid))
        except SnapshotError as err:
            raise SnapshotError(f"Cadeia do snapshot {snapshot_id!r} quebrada: o pai {pid!r} de {child.id!r} não "
                                f"pôde ser lido. {err}") from None
    return chain[::-1]
