"""The per-store lock (``core.locks``): exclusive per store, independent across stores, released."""
from __future__ import annotations

import pytest

from sinc_pipeline.core.errors import LockedError
from sinc_pipeline.core.locks import store_lock


def test_store_lock_is_exclusive(tmp_path):
    with store_lock(tmp_path, "loja_01"):
        with pytest.raises(LockedError, match="loja_01"):
            with store_lock(tmp_path, "loja_01"):
                pass
        with store_lock(tmp_path, "loja_02"):
            pass
    with store_lock(tmp_path, "loja_01"):
        pass



def test_a_waiting_lock_is_taken_when_the_other_run_ends_and_gives_up_at_its_limit(tmp_path):
    import threading

    order = []
    held, release = threading.Event(), threading.Event()

    def first():
        with store_lock(tmp_path, "loja_01"):
            order.append("primeira")
            held.set()
            release.wait(5)

    t = threading.Thread(target=first)
    t.start()
    held.wait(5)
    with pytest.raises(LockedError, match="esperada por 0.3 s"):
        with store_lock(tmp_path, "loja_01", wait_s=0.3):
            pass
    threading.Timer(0.3, release.set).start()
    with store_lock(tmp_path, "loja_01", wait_s=10):   # taken once the first ends, not refused
        order.append("segunda")
    t.join()
    assert order == ["primeira", "segunda"]
