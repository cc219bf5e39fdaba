"""Run by test_killed_run in its own process: ``python -m sinc_pipeline run ...`` whose first write
connection to the store blocks for ever (after writing a marker file), so the test can kill it
mid-run. Patched before anything imports ``connect`` by name."""
import contextlib
import pathlib
import runpy
import sys
import time

import sinc_pipeline.core.db as db

marker, store_url = pathlib.Path(sys.argv[1]), sys.argv[2]
real_connect = db.connect


@contextlib.contextmanager
def blocking_connect(url, role, *, write=False, snapshot=False):
    if write and url == store_url:
        marker.write_text("bloqueado", encoding="utf-8")
        while True:
            time.sleep(60)
    with real_connect(url, role, write=write, snapshot=snapshot) as conn:
        yield conn


db.connect = blocking_connect
sys.argv = ["sinc_pipeline", *sys.argv[3:]]
runpy.run_module("sinc_pipeline", run_name="__main__")
