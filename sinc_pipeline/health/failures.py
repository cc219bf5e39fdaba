"""The failures store the run-failure sensor writes and ``saude_lojas`` reads: JSON lines under the
Dagster home (``falhas_execucao.jsonl``), plus the optional webhook POST. No dagster import."""
from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

FILE = "falhas_execucao.jsonl"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job: str
    stores: list[str]
    error: str
    at: str                   # ISO 8601, UTC

    def message(self) -> str:
        where = ", ".join(self.stores) if self.stores else "(sem loja)"
        return f"Execução {self.run_id[:8]} do job {self.job} falhou (loja(s): {where}): {self.error}"


def failures_path(dagster_home: str | Path) -> Path:
    return Path(dagster_home) / FILE


def append_failure(dagster_home: str | Path, failure: RunFailure) -> Path:
    path = failures_path(dagster_home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(asdict(failure), ensure_ascii=False) + "\n")
    return path


def read_failures(dagster_home: str | Path) -> list[RunFailure]:
    """Every failure recorded, oldest first; a torn last line (a crash mid-write) is skipped."""
    path = failures_path(dagster_home)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(RunFailure(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return out


def latest_failure_by_store(failures: list[RunFailure]) -> dict[str, RunFailure]:
    out: dict[str, RunFailure] = {}
    for f in failures:
        for s in f.stores:
            out[s] = f
    return out


def post_webhook(url: str, failure: RunFailure, timeout_s: float) -> str | None:
    """POST the failure as JSON; return None on a 2xx, else the problem (never raises)."""
    body = json.dumps({**asdict(failure), "mensagem": failure.message()}, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            if 200 <= resp.status < 300:
                return None
            return f"HTTP {resp.status}"
    except Exception as err:  # noqa: BLE001 - an alert channel must never break the sensor
        return f"{type(err).__name__}: {err}"
