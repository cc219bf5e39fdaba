"""One run per store at a time: an exclusive, non-blocking file lock per store.

Held for the whole run (see ``defs/resources.py``); a second run for the same store fails at
once with a clear message instead of interleaving with the first. Across machines, the run
queue's per-partition tag limit (README, "Produção") gives the same guarantee.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sinc_pipeline.core.errors import LockedError


@contextlib.contextmanager
def store_lock(folder: str | os.PathLike, store_id: str) -> Iterator[None]:
    path = Path(folder) / "locks" / f"{store_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(
                f"Outra execução para a loja {store_id} está em andamento (trava {path}). "
                "Dica: aguarde o fim dela; execuções da mesma loja nunca se sobrepõem."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
