"""Where snapshot files live: the small file-access seam under ``snapshots/``.

The snapshot modules never touch paths themselves; they ask a ``Storage`` for the few operations
below, always addressed as (store id, folder name, file name) relative to the storage root::

    <root>/<store_id>/<snapshot_id>/<table>.parquet
    <root>/<store_id>/<snapshot_id>/manifest.json
    <root>/<store_id>/.tmp-<...>/                    a write in progress (or a crashed one)

``Storage`` is that seam (a ``typing.Protocol``); ``LocalStorage`` is the local-disk implementation. A snapshot is written into a temporary
folder whose name starts with ``.tmp-`` and renamed into place in one step when finished, so a
reader sees either the whole snapshot or nothing. ``list_dirs`` never returns ``.tmp-*`` (or any
hidden) folder, and ``clean_temp`` removes the leftovers of a crashed write; ``SnapshotWriter``
calls it when it starts. Writes for one store are expected to be serialised (the store lock of
``core/locks.py`` held by the run); two concurrent writers for the same store would clean each
other's temporary folders.

Next step behind this seam: an ``S3Storage`` (``s3://bucket/prefix``) built on
``pyarrow.fs.S3FileSystem``, whose streams are the same ``pyarrow.NativeFile`` objects returned
here. S3 has no atomic folder rename: there ``publish`` would copy the objects under the final
prefix and ``manifest.json`` last, and ``list_dirs`` would return only prefixes that hold a
``manifest.json``, so the manifest written last plays the role of the rename.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Protocol, runtime_checkable

import pyarrow as pa

TEMP_PREFIX = ".tmp-"


def _component(name: str, what: str, allow_hidden: bool = False) -> str:
    """Guard: ``name`` must be one plain path component (no separators, no '..')."""
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or "\x00" in name or (name.startswith(".") and not allow_hidden)):
        raise ValueError(
            f"Nome inválido para {what}: {name!r}. Dica: use um nome simples, sem '/', '\\', "
            "'..' e sem começar com '.'."
        )
    return name


@runtime_checkable
class Storage(Protocol):
    """What the snapshot modules need from where the files live; addressed by (store, folder, file)."""

    def describe(self, store_id: str, dirname: str | None = None, filename: str | None = None) -> str:
        """A human-readable location for messages (a path, a URL)."""

    def make_temp_dir(self, store_id: str, label: str = "") -> str:
        """Create a hidden temporary folder for a write in progress; returns its name."""

    def open_write(self, store_id: str, dirname: str, filename: str) -> pa.NativeFile: ...

    def write_bytes(self, store_id: str, dirname: str, filename: str, data: bytes) -> None: ...

    def publish(self, store_id: str, temp_name: str, final_name: str) -> None:
        """Make a finished temporary folder visible under its final name, all at once."""

    def list_dirs(self, store_id: str) -> list[str]:
        """Published folders of the store, sorted; never a temporary or hidden one."""

    def list_temp_dirs(self, store_id: str) -> list[str]: ...

    def exists(self, store_id: str, dirname: str, filename: str | None = None) -> bool: ...

    def size(self, store_id: str, dirname: str, filename: str) -> int: ...

    def open_read(self, store_id: str, dirname: str, filename: str) -> pa.NativeFile: ...

    def read_bytes(self, store_id: str, dirname: str, filename: str) -> bytes: ...

    def delete_dir(self, store_id: str, dirname: str) -> None: ...

    def clean_temp(self, store_id: str, keep: str | None = None) -> list[str]:
        """Remove the leftovers of crashed writes (except ``keep``); returns their names."""


class LocalStorage:
    """Snapshots on the local disk under ``root`` (created on first write)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    # -- paths ---------------------------------------------------------------------------------
    def _store(self, store_id: str) -> Path:
        return self.root / _component(store_id, "loja")

    def _dir(self, store_id: str, dirname: str) -> Path:
        return self._store(store_id) / _component(dirname, "pasta de snapshot", allow_hidden=True)

    def _file(self, store_id: str, dirname: str, filename: str) -> Path:
        return self._dir(store_id, dirname) / _component(filename, "arquivo")

    def describe(self, store_id: str, dirname: str | None = None, filename: str | None = None) -> str:
        """Human-readable location, for error messages."""
        path = self._store(store_id)
        if dirname is not None:
            path = path / dirname
        if filename is not None:
            path = path / filename
        return str(path)

    # -- writing -------------------------------------------------------------------------------
    def make_temp_dir(self, store_id: str, label: str = "") -> str:
        """Create an empty temporary folder for a write; returns its name (``.tmp-...``)."""
        name = f"{TEMP_PREFIX}{label}-{uuid.uuid4().hex[:8]}" if label else f"{TEMP_PREFIX}{uuid.uuid4().hex}"
        path = self._dir(store_id, name)
        path.mkdir(parents=True)
        return name

    def open_write(self, store_id: str, dirname: str, filename: str) -> pa.NativeFile:
        """A new file opened for streaming writes (use as a context manager)."""
        return pa.OSFile(str(self._file(store_id, dirname, filename)), "wb")

    def write_bytes(self, store_id: str, dirname: str, filename: str, data: bytes) -> None:
        self._file(store_id, dirname, filename).write_bytes(data)

    def publish(self, store_id: str, temp_name: str, final_name: str) -> None:
        """Atomically rename a finished temporary folder to its final name (after an fsync)."""
        temp, final = self._dir(store_id, temp_name), self._dir(store_id, _component(final_name, "snapshot"))
        if final.exists():
            raise FileExistsError(f"A pasta {final} já existe. Dica: ids de snapshot devem ser únicos.")
        for child in temp.iterdir():
            _fsync(child)
        _fsync(temp)
        os.rename(temp, final)
        _fsync(final.parent)

    # -- reading -------------------------------------------------------------------------------
    def list_dirs(self, store_id: str) -> list[str]:
        """Names of the store's finished snapshot folders, sorted; hidden and ``.tmp-*`` excluded."""
        store = self._store(store_id)
        if not store.is_dir():
            return []
        return sorted(p.name for p in store.iterdir() if p.is_dir() and not p.name.startswith("."))

    def list_temp_dirs(self, store_id: str) -> list[str]:
        store = self._store(store_id)
        if not store.is_dir():
            return []
        return sorted(p.name for p in store.iterdir() if p.is_dir() and p.name.startswith(TEMP_PREFIX))

    def exists(self, store_id: str, dirname: str, filename: str | None = None) -> bool:
        path = self._dir(store_id, dirname) if filename is None else self._file(store_id, dirname, filename)
        return path.exists()

    def size(self, store_id: str, dirname: str, filename: str) -> int:
        return self._file(store_id, dirname, filename).stat().st_size

    def open_read(self, store_id: str, dirname: str, filename: str) -> pa.NativeFile:
        """A file opened for (random-access) reading; raises FileNotFoundError when absent."""
        return pa.OSFile(str(self._file(store_id, dirname, filename)), "rb")

    def read_bytes(self, store_id: str, dirname: str, filename: str) -> bytes:
        return self._file(store_id, dirname, filename).read_bytes()

    # -- deleting ------------------------------------------------------------------------------
    def delete_dir(self, store_id: str, dirname: str) -> None:
        """Remove a folder. A snapshot folder is first renamed to ``.tmp-del-...`` so that it
        disappears from listings in one step; a crash during removal leaves only a temp folder."""
        path = self._dir(store_id, dirname)
        if not path.exists():
            return
        if not dirname.startswith(TEMP_PREFIX):
            doomed = self._dir(store_id, f"{TEMP_PREFIX}del-{dirname}-{uuid.uuid4().hex[:8]}")
            os.rename(path, doomed)
            path = doomed
        shutil.rmtree(path)

    def clean_temp(self, store_id: str, keep: str | None = None) -> list[str]:
        """Remove leftover ``.tmp-*`` folders of crashed writes (except ``keep``); returns their names."""
        removed = [name for name in self.list_temp_dirs(store_id) if name != keep]
        for name in removed:
            shutil.rmtree(self._dir(store_id, name), ignore_errors=True)
        return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
