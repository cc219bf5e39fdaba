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

