"""One run per store at a time: an exclusive, non-blocking file lock per store.

Held for the whole run (see ``defs/resources.py``); a second run for the same store fails at
once with a clear message instead of interleaving with the first. Across machines, the run
queue's per-partition tag limit (README, "Produção") gives the same guarantee.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sinc_pipeline.core.errors import LockedError


@contextlib.contextmanager
def store_lock(folder: str | os.PathLike, store_id: str, wait_s: float = 0.0) -> Iterator[None]:
    """``wait_s``: how long to wait for the other run to end before giving up (0: not at all). The
    tick runs wait (send and receive of one store then go one after the other, as the run queue's
    per-store limit makes the single-store runs do)."""
    path = Path(folder) / "locks" / f"{store_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                raise LockedError(
                    f"Outra execução para a loja {store_id} está em andamento (trava {path})"
                    + (f", esperada por {wait_s:g} s" if wait_s else "") + ". "
                    "Dica: aguarde o fim dela; execuções da mesma loja nunca se sobrepõem."
                ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
