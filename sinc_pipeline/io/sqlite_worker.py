"""The helper process that reads SQLite files with the ADBC SQLite driver (``io/sqlite_helper.py``).

Run as a script (``python sqlite_worker.py``), never imported by the sync: the ADBC driver links
its own copy of the SQLite library, and two copies in one process do not share WAL locks. In a
process of its own it is just another reader of the file, like any other program.

Protocol, one JSON line per request on stdin, one JSON header line per reply on stdout:

- ``{"op": "open", "path": ..., "busy_ms": ...}``: open the file and start a read transaction
  whose snapshot is fixed at once (the schema is read), so every later read sees one state;
- ``{"op": "read", "sql": ..., "params": [...], "file": ...}``: the rows, read whole (so an error
  mid-way is still reported), written as an Arrow IPC file at ``file`` (in ``/dev/shm``: the
  parent maps it, no copy through a pipe), or after the header as an IPC stream when ``file`` is
  null;
- ``{"op": "close"}``: end the read transaction and close the file.

A header is ``{"ok": true}`` or ``{"ok": false, "error": "..."}``. EOF on stdin ends the process.
Imports only pyarrow and the ADBC driver manager (about 0.2 s to start).
"""
from __future__ import annotations

import json
import sys

BATCH_ROWS = 65_536     # rows per Arrow batch (the driver's default, 1,024, makes a thousand chunks per million rows)


def _driver() -> str:
    import importlib.util
    import os
    spec = importlib.util.find_spec("adbc_driver_sqlite")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("adbc_driver_sqlite não instalado")
    return os.path.join(list(spec.submodule_search_locations)[0], "libadbc_driver_sqlite.so")


class Worker:
    def __init__(self):
        import adbc_driver_manager._lib as lib
        import pyarrow as pa
        self.lib, self.pa = lib, pa
        self.db = self.conn = None

    def _query(self, sql: str, params: list | None = None):
        st = self.lib.AdbcStatement(self.conn)
        try:
            st.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
            st.set_sql_query(sql)
            if params:
                pa = self.pa
                st.bind(pa.record_batch([pa.array([v]) for v in params], names=[f"p{i}" for i in range(len(params))]))
            handle, _ = st.execute_query()
            return self.pa.RecordBatchReader._import_from_c(handle.address).read_all()
        finally:
            st.close()

    def open(self, path: str, busy_ms: int) -> None:
        self.close()
        self.db = self.lib.AdbcDatabase(driver=_driver(), uri=path)
        self.conn = self.lib.AdbcConnection(self.db)
        self._query(f"PRAGMA busy_timeout={int(busy_ms)}")
        self._query("BEGIN")
        self._query("SELECT count(*) FROM sqlite_master")   # the snapshot is taken here, not at BEGIN

    def read(self, sql: str, params: list):
        if self.conn is None:
            raise RuntimeError("nenhum arquivo aberto")
        return self._query(sql, params)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self._query("ROLLBACK")
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self.conn.close()
            self.db.close()
        self.db = self.conn = None


def main() -> None:
    out = sys.stdout.buffer
    inp = sys.stdin.buffer

    def header(**kw) -> None:
        out.write(json.dumps(kw).encode() + b"\n")
        out.flush()

    try:
        worker = Worker()
    except Exception as err:  # noqa: BLE001 - told to the parent on its first request
        worker, failure = None, f"{type(err).__name__}: {err}"
    for line in inp:
        try:
            req = json.loads(line)
            if worker is None:
                raise RuntimeError(failure)
            op = req.get("op")
            if op == "open":
                worker.open(req["path"], req.get("busy_ms", 30_000))
            elif op == "read":
                table = worker.read(req["sql"], req.get("params") or [])
                pa = worker.pa
                if req.get("file"):
                    with pa.OSFile(req["file"], "wb") as f, pa.ipc.new_file(f, table.schema) as w:
                        w.write_table(table)
                    del table
                else:
                    header(ok=True)
                    with pa.ipc.new_stream(out, table.schema) as w:
                        w.write_table(table)
                    out.flush()
                    continue
            elif op == "close":
                worker.close()
            else:
                raise ValueError(f"operação desconhecida {op!r}")
            header(ok=True)
        except Exception as err:  # noqa: BLE001 - every failure goes back to the parent
            header(ok=False, error=f"{type(err).__name__}: {err}".strip()[:2000])
    if worker is not None:
        worker.close()


if __name__ == "__main__":
    main()
