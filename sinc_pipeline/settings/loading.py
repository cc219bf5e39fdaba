"""Loading ``sinc.yaml``: YAML, ``${VAR}`` expansion in URLs, model validation and semantic checks."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from pydantic import BaseModel, ValidationError

from sinc_pipeline.core.errors import ConfigError
from sinc_pipeline.settings.messages import _problem, _pydantic_problems
from sinc_pipeline.settings.models import (DEFAULT_CONFIG_PATH, ENV_VAR, DatabaseConfig, Settings, StoreConfig,
                                           TableConfig)
from sinc_pipeline.settings.validation import semantic_problems

def _userinfo_span(text: str) -> tuple[int, int]:
    """Where a URL's ``user:password`` part is in ``text`` (before expansion), or (0, 0)."""
    start = text.find("://")
    if start < 0:
        return 0, 0
    start += 3
    end = text.find("/", start)
    at = text.rfind("@", start, end if end >= 0 else len(text))
    return (start, at) if at >= 0 else (0, 0)


def expand_env(text: str, path: str, problems: list[str]) -> str:
    """``${VAR}`` replaced by the environment's value; inside the URL's user or password part the
    value is URL-encoded, so a password with ``@``, ``:`` or ``/`` keeps the URL whole (and hidden)."""
    lo, hi = _userinfo_span(text)

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in os.environ:
            problems.append(_problem(path, m.group(0), f"a variável de ambiente {name} não está definida",
                                     f"exporte {name} antes de iniciar o Dagster"))
            return m.group(0)
        value = os.environ[name]
        return quote(value, safe="") if lo <= m.start() < hi else value
    return ENV_VAR.sub(sub, text)


def _expand_urls(raw: dict, problems: list[str]) -> dict:
    if isinstance(raw.get("origin"), dict) and isinstance(raw["origin"].get("url"), str):
        raw["origin"]["url"] = expand_env(raw["origin"]["url"], "origin.url", problems)
    for i, store in enumerate(raw.get("stores") or []):
        if isinstance(store, dict) and isinstance(store.get("url"), str):
            store["url"] = expand_env(store["url"], f"stores[{i}].url", problems)
    celery = (raw.get("tick") or {}).get("celery") if isinstance(raw.get("tick"), dict) else None
    for key in ("broker", "backend"):
        if isinstance(celery, dict) and isinstance(celery.get(key), str):
            celery[key] = expand_env(celery[key], f"tick.celery.{key}", problems)
    alerts = raw.get("alerts")
    if isinstance(alerts, dict) and isinstance(alerts.get("webhook_url"), str):
        alerts["webhook_url"] = expand_env(alerts["webhook_url"], "alerts.webhook_url", problems)
    return raw


def parse_settings(raw: Any, source: str = "configuração") -> Settings:
    """Validate a parsed YAML document; raise ``ConfigError`` listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError([_problem("(raiz)", type(raw).__name__, "o arquivo deve conter um mapa de campos",
                                    "comece por 'origin:', 'stores:' e 'tables:'")], source)
    problems: list[str] = []
    raw = _expand_urls(raw, problems)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as err:
        problems += _pydantic_problems(err)
        partial = _partial(raw)
        problems += [p for p in semantic_problems(partial) if p not in problems]
        raise ConfigError(problems, source) from None
    problems += semantic_problems(settings)
    if problems:
        raise ConfigError(problems, source)
    return settings


def _valid_or_none(model: type[BaseModel], value: Any):
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _partial(raw: dict) -> Settings:
    """The parts of a broken config that do parse (None where an item does not), for more checks."""
    stores = raw.get("stores") if isinstance(raw.get("stores"), list) else []
    tables = raw.get("tables") if isinstance(raw.get("tables"), list) else []
    return Settings.model_construct(
        origin=_valid_or_none(DatabaseConfig, raw.get("origin")),
        stores=[_valid_or_none(StoreConfig, x) for x in stores],
        tables=[_valid_or_none(TableConfig, x) for x in tables],
    )


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    path = Path(path or os.environ.get("SINC_CONFIG") or DEFAULT_CONFIG_PATH)
    if not path.exists():
        raise ConfigError([_problem("SINC_CONFIG", str(path), "arquivo não encontrado",
                                    "rode 'make demo' para gerar data/sinc.yaml ou aponte SINC_CONFIG para o seu arquivo")],
                          str(path))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"linha {mark.line + 1}, coluna {mark.column + 1}" if mark else "?"
        raise ConfigError([_problem(where, getattr(err, "problem", str(err)), "YAML malformado",
                                    "verifique a indentação e os dois-pontos nessa linha")], str(path)) from None
    return parse_settings(raw, str(path))
