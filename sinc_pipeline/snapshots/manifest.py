"""The manifest of a snapshot, its id and the names it may use (pure, no I/O).

``snapshot_id`` is ``<UTC time to the microsecond>Z-<kind>``, e.g.
``20261128T101500123456Z-completa``: ids sort chronologically and are unique per store (a new id
is always later than every id already in the store). ``kind`` is ``completa`` (every row of
every table) or ``incremental`` (only the changes since ``parent_id``: each table carries an
extra column ``_operacao`` = ``upsert`` | ``delete``; delete rows carry only the key).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from sinc_pipeline.core.errors import SincError
from sinc_pipeline.io.checksum import CHECKSUM_VERSIONS
from sinc_pipeline.io.declared import Declared


COMPLETA, INCREMENTAL = "completa", "incremental"
KINDS = (COMPLETA, INCREMENTAL)
OPERACAO, UPSERT, DELETE = "_operacao", "upsert", "delete"
MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1
ROW_GROUP_ROWS = 128 * 1024          # rows buffered before a Parquet row group is written
_ID_RE = re.compile(r"^(\d{8}T\d{12})Z-(completa|incremental)$")
_STAMP_FMT = "%Y%m%dT%H%M%S%f"
_META_STORE, _META_SNAPSHOT, _META_TABLE = b"sinc.store", b"sinc.snapshot", b"sinc.table"
_IDX = "__sinc_snap_i"


class SnapshotError(SincError, ValueError):
    """A snapshot is missing, damaged, foreign or misused; ``problems`` lists every finding."""

    code = "snapshot"

    def __init__(self, message: str, problems: list[str] | None = None, **parts):
        self.problems = problems or [message]
        super().__init__(message, **parts)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "problemas": list(self.problems)}


# ----------------------------------------------------------------------------------------------
# Manifest
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str          # str(pyarrow type), e.g. "decimal128(10, 2)", "timestamp[us]"


@dataclass(frozen=True)
class TableEntry:
    rows: int
    columns: list[ColumnInfo]
    key: list[str]
    file: str          # file name inside the snapshot folder
    sha256: str        # of the Parquet file's bytes
    checksum: str      # table_checksum of the contents (order- and engine-independent)
    bytes: int
    declared: dict | None = None   # what the source table declares (io.declared.Declared.to_dict), if known
    checksum_version: int = 1      # io.checksum's algorithm of ``checksum``; absent (older manifests): 1


@dataclass(frozen=True)
class Manifest:
    id: str
    kind: str
    parent_id: str | None
    store: str
    created_at: str    # ISO 8601, UTC
    source_engine: str
    cursors: dict[str, Any]
    tables: dict[str, TableEntry] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Any, where: str = MANIFEST_FILE) -> Manifest:
        """Parse and validate; every problem found is named in one ``SnapshotError``."""
        problems: list[str] = []

        def get(obj: Any, name: str, types: type | tuple, ctx: str) -> Any:
            value = obj.get(name) if isinstance(obj, dict) else None
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
                problems.append(f"campo '{ctx}{name}' = {value!r} inválido (esperado {_type_names(types)})")
                return None
            return value

        if not isinstance(data, dict):
            raise SnapshotError(f"Manifesto inválido em {where}: o conteúdo não é um objeto JSON. "
                                "Dica: o arquivo foi corrompido; restaure-o de outra cópia ou apague o snapshot.")
        tables: dict[str, TableEntry] = {}
        for tname, t in (get(data, "tables", dict, "") or {}).items():
            ctx = f"tables.{tname}."
            cols = []
            for i, c in enumerate(get(t, "columns", list, ctx) or []):
                cname, ctype = get(c, "name", str, f"{ctx}columns[{i}]."), get(c, "type", str, f"{ctx}columns[{i}].")
                cols.append(ColumnInfo(cname, ctype))
            key = get(t, "key", list, ctx) or []
            if not all(isinstance(k, str) for k in key):
                problems.append(f"campo '{ctx}key' = {key!r} inválido (esperado lista de textos)")
            file = get(t, "file", str, ctx)
            if file is not None and ("/" in file or "\\" in file or file.startswith(".")):
                problems.append(f"campo '{ctx}file' = {file!r} inválido (deve ser um nome de arquivo da própria pasta)")
            declared = t.get("declared") if isinstance(t, dict) else None
            version = t.get("checksum_version", 1) if isinstance(t, dict) else 1
            if version not in CHECKSUM_VERSIONS or isinstance(version, bool):
                problems.append(f"campo '{ctx}checksum_version' = {version!r} inválido (esperado "
                                f"{' ou '.join(map(str, CHECKSUM_VERSIONS))})")
                version = 1
            Declared.from_dict(declared, problems, f"{ctx}declared.")
            tables[tname] = TableEntry(rows=get(t, "rows", int, ctx), columns=cols, key=list(key), file=file,
                                       sha256=get(t, "sha256", str, ctx), checksum=get(t, "checksum", str, ctx),
                                       bytes=get(t, "bytes", int, ctx), declared=declared,
                                       checksum_version=version)
        kind = get(data, "kind", str, "")
        if kind is not None and kind not in KINDS:
            problems.append(f"campo 'kind' = {kind!r} inválido (esperado {' ou '.join(KINDS)})")
        m = cls(id=get(data, "id", str, ""), kind=kind, parent_id=get(data, "parent_id", (str, type(None)), ""),
                store=get(data, "store", str, ""), created_at=get(data, "created_at", str, ""),
                source_engine=get(data, "source_engine", str, ""), cursors=get(data, "cursors", dict, "") or {},
                tables=tables, format=get(data, "format", int, "") or 0)
        if m.format and m.format > FORMAT_VERSION:
            problems.append(f"campo 'format' = {m.format} é mais novo que o suportado ({FORMAT_VERSION}); "
                            "atualize o sinc_pipeline")
        if kind == COMPLETA and m.parent_id is not None:
            problems.append(f"campo 'parent_id' = {m.parent_id!r}: um snapshot completo não tem pai")
        if kind == INCREMENTAL and m.parent_id is None:
            problems.append("campo 'parent_id' ausente: um snapshot incremental precisa do pai")
        if problems:
            raise SnapshotError(
                f"Manifesto inválido em {where}:\n" + "\n".join(f"  - {p}" for p in problems)
                + "\nDica: o manifesto foi editado ou corrompido; restaure-o de outra cópia ou apague o snapshot.",
                problems)
        return m


def _as_tuple(types: type | tuple) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types: type | tuple) -> str:
    names = {str: "texto", int: "inteiro", list: "lista", dict: "objeto", type(None): "null"}
    return " ou ".join(names.get(t, t.__name__) for t in _as_tuple(types))


# ----------------------------------------------------------------------------------------------
# Ids and names
# ----------------------------------------------------------------------------------------------
_id_lock = threading.Lock()
_last_stamp = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _stamp_of(snapshot_id: str) -> dt.datetime | None:
    m = _ID_RE.match(snapshot_id)
    return dt.datetime.strptime(m.group(1), _STAMP_FMT).replace(tzinfo=dt.timezone.utc) if m else None


def _new_stamp(floor_id: str | None) -> dt.datetime:
    """Now (UTC), but strictly later than ``floor_id`` and than any stamp issued by this process."""
    global _last_stamp
    with _id_lock:
        stamp = dt.datetime.now(dt.timezone.utc)
        floors = [_last_stamp] + ([_stamp_of(floor_id)] if floor_id and _stamp_of(floor_id) else [])
        floor = max(floors)
        if stamp <= floor:
            stamp = floor + dt.timedelta(microseconds=1)
        _last_stamp = stamp
        return stamp


def _check_name(value: Any, what: str) -> str:
    if (not isinstance(value, str) or not value or value.startswith(".") or value in ("..",)
            or any(ch in value for ch in "/\\\x00")):
        raise SnapshotError(f"Nome de {what} inválido: {value!r}. Dica: use um nome simples, sem '/', '\\' "
                            "e sem começar com '.'.")
    return value
