"""The configuration file (ERP "Configuração"): pydantic models, loading and validation.

One YAML file, path from ``SINC_CONFIG`` (default ``data/sinc.yaml``). ``load_settings`` parses,
expands ``${VAR}`` in URLs from the environment and validates everything that can be checked
without touching a database. Every problem is reported at once, each naming the field path,
the value and a hint (``ConfigError``). What needs a database (tables and columns that exist)
is checked at run time by ``schema.py``, before anything is written.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, field_validator
from sqlalchemy.engine import make_url

from .errors import ConfigError
from .fiscal import SERIES_MAX, SERIES_MIN, is_valid_cnpj, normalize_cnpj

DEFAULT_CONFIG_PATH = "data/sinc.yaml"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Model):
    url: str


class Intervals(_Model):
    send_minutes: StrictInt = Field(5, ge=1, le=1440)
    receive_minutes: StrictInt = Field(5, ge=1, le=1440)


class StoreConfig(_Model):
    id: str
    url: str
    name: str | None = None
    filter: dict[str, StrictInt | str] = Field(default_factory=dict)
    cnpj: str
    nfe_series: StrictInt | None = Field(None, ge=SERIES_MIN, le=SERIES_MAX)
    nfce_series: StrictInt | None = Field(None, ge=SERIES_MIN, le=SERIES_MAX)
    contingency_series: StrictInt | None = Field(None, ge=SERIES_MIN, le=SERIES_MAX)

    @field_validator("cnpj", mode="before")
    @classmethod
    def _cnpj_text(cls, v: Any) -> Any:
        return normalize_cnpj(v) if isinstance(v, str) else v


class TableConfig(_Model):
    name: str
    direction: Literal["receive", "send"]
    key: list[str]
    store_table: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    scoped: StrictBool = False
    deletes: Literal["propagate", "ignore"] | None = None
    group: str | None = None
    cursor: str | None = None
    cursor_lookback: StrictInt = Field(
        300, ge=0,
        description="Re-read window below the saved cursor: seconds for date/time cursors, units for numeric ones.",
    )

    @property
    def target_name(self) -> str:
        """The store's name for the table."""
        return self.store_table or self.name

    @property
    def delete_policy(self) -> str:
        if self.deletes:
            return self.deletes
        return "propagate" if self.direction == "receive" else "ignore"

    def store_column(self, column: str) -> str:
        return self.columns.get(column, column)


class SnapshotsConfig(_Model):
    root: str = "data/snapshots"
    keep_full: StrictInt = Field(7, ge=1)


class StockConfig(_Model):
    table: str = "estoque"
    store_table: str | None = None
    key: list[str] = Field(default_factory=lambda: ["produto_id"])
    quantity: str = "quantidade"
    columns: dict[str, str] = Field(default_factory=dict)
    scoped: StrictBool = True
    adjustments_table: str = "ajustes_estoque"


class FiscalColumns(_Model):
    cnpj: str = "cnpj"
    model: str = "modelo"
    series: str = "serie"
    number: str = "numero"
    emission_type: str = "tp_emis"
    key: str = "chave"
    status: str = "status"
    issued_at: str = "emitido_em"


class FiscalConfig(_Model):
    table: str = "documentos_fiscais"
    columns: FiscalColumns = Field(default_factory=FiscalColumns)
    quarantine_table: str = "quarentena_fiscal"
    contingency_limit_hours: StrictInt = Field(24, ge=1)
    sale_link: dict[str, str] = Field(
        default_factory=lambda: {"vendas": "id", "venda_itens": "venda_id", "documentos_fiscais": "venda_id"},
        description="Table of the send unit -> its column holding the sale id: the rows held with a failing document.",
    )
    identity_includes_emission_type: StrictBool = Field(
        False, description="Ajuste SINIEF 19/19 states: tpEmis is part of a document's identity.")
    pending_statuses: list[str] = Field(
        default_factory=lambda: ["contingencia", "pendente"],
        description="Statuses of an offline NFC-e not yet transmitted (accent- and case-insensitive).",
    )
    timezone: str = Field("America/Sao_Paulo", description="Zone of the documents' naive timestamps.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from pydantic_core import PydanticCustomError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError("timezone", "fuso horário desconhecido. Dica: use um nome IANA, "
                                                  "ex.: America/Sao_Paulo ou America/Manaus") from None
        return v


class Settings(_Model):
    origin: DatabaseConfig
    intervals: Intervals = Field(default_factory=Intervals)
    stores: list[StoreConfig]
    tables: list[TableConfig]
    snapshots: SnapshotsConfig = Field(default_factory=SnapshotsConfig)
    stock: StockConfig | None = None
    fiscal: FiscalConfig | None = None
    chunk_size: StrictInt = Field(50_000, ge=100)
    diff_chunk_rows: StrictInt = Field(250_000, ge=1_000)
    dagster_home: str = "data/dagster"
    reports_root: str = "data/relatorios"

    def store(self, store_id: str) -> StoreConfig:
        for s in self.stores:
            if s.id == store_id:
                return s
        known = ", ".join(s.id for s in self.stores)
        raise ConfigError([f"loja: valor {store_id!r} não existe na configuração. Dica: use uma de: {known}"])

    def table(self, name: str) -> TableConfig:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def units(self, direction: str) -> list[list[TableConfig]]:
        """Tables of one direction grouped into apply units (a group, or a lone table), in config order."""
        units: list[list[TableConfig]] = []
        by_group: dict[str, list[TableConfig]] = {}
        for t in self.tables:
            if t.direction != direction:
                continue
            if t.group is None:
                units.append([t])
            elif t.group in by_group:
                by_group[t.group].append(t)
            else:
                by_group[t.group] = [t]
                units.append(by_group[t.group])
        return units


# --------------------------------------------------------------------------- loading

_PT_MESSAGES = {
    "missing": ("campo obrigatório ausente", "acrescente-o ao arquivo"),
    "extra_forbidden": ("campo desconhecido", "verifique a grafia; os campos aceitos estão no README"),
    "int_type": ("deve ser um número inteiro", "escreva sem aspas nem casas decimais, ex.: 5"),
    "int_from_float": ("deve ser um número inteiro", "escreva sem casas decimais, ex.: 5"),
    "bool_type": ("deve ser true ou false", "escreva true ou false"),
    "string_type": ("deve ser um texto", "use aspas se necessário"),
    "list_type": ("deve ser uma lista", "use a forma [a, b] ou itens com '-'"),
    "dict_type": ("deve ser um mapa", "use a forma {chave: valor}"),
    "model_type": ("deve ser um mapa de campos", "veja o exemplo no README"),
    "literal_error": ("valor não permitido", None),
    "greater_than_equal": ("valor abaixo do mínimo", None),
    "less_than_equal": ("valor acima do máximo", None),
}


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("int", "str", "constrained-int") or str(part).startswith("function-"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _problem(path: str, value: Any, message: str, hint: str | None = None) -> str:
    text = f"{path}: valor {value!r} — {message}"
    return text + (f". Dica: {hint}" if hint else "")


def _pydantic_problems(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        path = _loc(e["loc"])
        msg, hint = _PT_MESSAGES.get(e["type"], (e["msg"], None))
        ctx = e.get("ctx") or {}
        if e["type"] == "greater_than_equal":
            hint = f"use um valor a partir de {ctx.get('ge')}"
        elif e["type"] == "less_than_equal":
            hint = f"use um valor até {ctx.get('le')}"
        elif e["type"] == "literal_error":
            hint = f"valores aceitos: {ctx.get('expected')}"
        if path.endswith("_series") and e["type"] in ("greater_than_equal", "less_than_equal"):
            hint = (f"séries de contribuinte com CNPJ vão de {SERIES_MIN} a {SERIES_MAX} "
                    "(890–999 são do fisco ou de emitentes CPF)")
        if path.startswith("intervals.") and e["type"] in ("greater_than_equal", "less_than_equal"):
            hint = "intervalos são minutos inteiros de 1 a 1440"
        value = e.get("input") if e["type"] != "missing" else None
        if isinstance(value, dict | list) and len(repr(value)) > 80:
            value = "…"
        problems.append(_problem(path or "(raiz)", value, msg, hint))
    return problems


def expand_env(text: str, path: str, problems: list[str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in os.environ:
            problems.append(_problem(path, m.group(0), f"a variável de ambiente {name} não está definida",
                                     f"exporte {name} antes de iniciar o Dagster"))
            return m.group(0)
        return os.environ[name]
    return ENV_VAR.sub(sub, text)


def _expand_urls(raw: dict, problems: list[str]) -> dict:
    if isinstance(raw.get("origin"), dict) and isinstance(raw["origin"].get("url"), str):
        raw["origin"]["url"] = expand_env(raw["origin"]["url"], "origin.url", problems)
    for i, store in enumerate(raw.get("stores") or []):
        if isinstance(store, dict) and isinstance(store.get("url"), str):
            store["url"] = expand_env(store["url"], f"stores[{i}].url", problems)
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


# --------------------------------------------------------------------------- semantic checks

def _check_url(path: str, url: str, problems: list[str]) -> None:
    try:
        u = make_url(url)
    except Exception:
        problems.append(_problem(path, url, "URL de banco inválida",
                                 "use uma URL SQLAlchemy, ex.: sqlite:///data/loja.db ou "
                                 "postgresql+psycopg://usuario@host/banco"))
        return
    backend = u.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql", "mariadb"):
        problems.append(_problem(path, u.render_as_string(hide_password=True), f"banco {backend!r} não suportado",
                                 "use sqlite, postgresql ou mysql/mariadb"))


def _check_ident(path: str, name: str, problems: list[str]) -> None:
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        problems.append(_problem(path, name, "nome de tabela/coluna inválido",
                                 "use letras, dígitos e '_', começando por letra ou '_'"))


def semantic_problems(s: Settings) -> list[str]:
    p: list[str] = []
    if s.origin is not None:
        _check_url("origin.url", s.origin.url, p)

    seen_ids: dict[str, int] = {}
    for i, st in enumerate(s.stores):
        if st is None:
            continue
        base = f"stores[{i}]"
        if not STORE_ID.match(st.id):
            p.append(_problem(f"{base}.id", st.id, "identificador de loja inválido (é a chave de partição no Dagster)",
                              "use letras, dígitos, '_' ou '-', ex.: loja_01"))
        if st.id in seen_ids:
            p.append(_problem(f"{base}.id", st.id, f"repetido (já usado em stores[{seen_ids[st.id]}])",
                              "cada loja precisa de um id único"))
        seen_ids.setdefault(st.id, i)
        _check_url(f"{base}.url", st.url, p)
        if not is_valid_cnpj(st.cnpj):
            p.append(_problem(f"{base}.cnpj", st.cnpj, "CNPJ inválido (dígitos verificadores não conferem)",
                              "confira o CNPJ; o formato alfanumérico de 2026 é aceito (12 caracteres A–Z/0–9 + 2 dígitos)"))
        for col in st.filter:
            _check_ident(f"{base}.filter.{col}", col, p)
        if st.contingency_series is not None and st.contingency_series == st.nfce_series:
            p.append(_problem(f"{base}.contingency_series", st.contingency_series,
                              "igual à série NFC-e da mesma loja",
                              "a série de contingência deve ser distinta de toda série NFC-e do mesmo CNPJ"))
    if not s.stores:
        p.append(_problem("stores", [], "nenhuma loja configurada", "acrescente ao menos uma loja"))

    # Series: within one CNPJ, each model-65 series (NFC-e or contingency) has one owner and
    # one purpose; each NF-e series has one owner.
    nfce_owner: dict[tuple[str, int], tuple[int, str]] = {}
    nfe_owner: dict[tuple[str, int], int] = {}
    for i, st in enumerate(s.stores):
        if st is None:
            continue
        for field, value in (("nfce_series", st.nfce_series), ("contingency_series", st.contingency_series)):
            if value is None:
                continue
            owner = nfce_owner.get((st.cnpj, value))
            if owner and owner[0] != i:
                other = s.stores[owner[0]]
                p.append(_problem(f"stores[{i}].{field}", value,
                                  f"série modelo 65 já usada por {other.id} ({owner[1]}) no CNPJ {st.cnpj}",
                                  "cada PDV do mesmo CNPJ precisa de séries NFC-e e de contingência próprias"))
            else:
                nfce_owner.setdefault((st.cnpj, value), (i, field))
        if st.nfe_series is not None:
            owner_i = nfe_owner.get((st.cnpj, st.nfe_series))
            if owner_i is not None and owner_i != i:
                p.append(_problem(f"stores[{i}].nfe_series", st.nfe_series,
                                  f"série NF-e já usada por {s.stores[owner_i].id} no CNPJ {st.cnpj}",
                                  "cada loja do mesmo CNPJ precisa de uma série NF-e própria"))
            else:
                nfe_owner.setdefault((st.cnpj, st.nfe_series), i)

    names: dict[str, int] = {}
    groups: dict[str, str] = {}
    any_scoped = False
    for i, t in enumerate(s.tables):
        if t is None:
            continue
        base = f"tables[{i}]"
        _check_ident(f"{base}.name", t.name, p)
        if t.store_table is not None:
            _check_ident(f"{base}.store_table", t.store_table, p)
        if t.name in names:
            p.append(_problem(f"{base}.name", t.name, f"tabela repetida (já em tables[{names[t.name]}])",
                              "cada tabela aparece uma vez"))
        names.setdefault(t.name, i)
        if not t.key:
            p.append(_problem(f"{base}.key", t.key, "chave vazia", "informe as colunas da chave primária, ex.: [id]"))
        for j, k in enumerate(t.key):
            _check_ident(f"{base}.key[{j}]", k, p)
            if k in t.exclude:
                p.append(_problem(f"{base}.exclude", k, "coluna de chave não pode ser excluída",
                                  "retire-a de exclude"))
        for src, dst in t.columns.items():
            _check_ident(f"{base}.columns.{src}", src, p)
            _check_ident(f"{base}.columns.{src}", dst, p)
            if src in t.exclude:
                p.append(_problem(f"{base}.columns.{src}", dst, "coluna mapeada e excluída ao mesmo tempo",
                                  "retire-a de columns ou de exclude"))
        for j, c in enumerate(t.exclude):
            _check_ident(f"{base}.exclude[{j}]", c, p)
        if t.cursor is not None:
            _check_ident(f"{base}.cursor", t.cursor, p)
            if t.cursor in t.exclude:
                p.append(_problem(f"{base}.cursor", t.cursor, "a coluna de cursor está em exclude",
                                  "o cursor precisa ser sincronizado; retire-o de exclude"))
        if t.direction == "send" and not t.scoped:
            p.append(_problem(f"{base}.scoped", t.scoped,
                              "uma tabela enviada (send) precisa ser escopada por loja",
                              "use scoped: true para que uma loja nunca altere linhas de outra loja"))
        if t.group is not None:
            if t.group in groups and groups[t.group] != t.direction:
                p.append(_problem(f"{base}.group", t.group, "o grupo mistura direções send e receive",
                                  "tabelas de um mesmo grupo devem ter a mesma direção"))
            groups.setdefault(t.group, t.direction)
        any_scoped = any_scoped or t.scoped
    if any_scoped:
        filter_cols = {tuple(sorted(st.filter)) for st in s.stores if st is not None}
        for i, st in enumerate(s.stores):
            if st is None:
                continue
            if not st.filter:
                scoped = [t.name for t in s.tables if t is not None and t.scoped]
                p.append(_problem(f"stores[{i}].filter", st.filter,
                                  f"filtro vazio, mas há tabelas escopadas ({', '.join(scoped)})",
                                  "informe as colunas que selecionam as linhas da loja, ex.: {loja_id: 1}"))
        if len(filter_cols) > 1:
            p.append(_problem("stores[*].filter", sorted(filter_cols), "as lojas usam colunas de filtro diferentes",
                              "todas as lojas devem filtrar pelas mesmas colunas, ex.: loja_id"))
        values: dict[tuple, str] = {}
        for i, st in enumerate(s.stores):
            if st is None:
                continue
            v = tuple(sorted(st.filter.items()))
            if v and v in values:
                p.append(_problem(f"stores[{i}].filter", st.filter, f"mesmo filtro da loja {values[v]}",
                                  "cada loja precisa de um filtro que selecione só as suas linhas"))
            values.setdefault(v, st.id)
    if not s.tables:
        p.append(_problem("tables", [], "nenhuma tabela configurada", "acrescente ao menos uma tabela"))
    return p
