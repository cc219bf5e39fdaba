"""Checks across fields that need no database: ids, URLs, names, series, filters, groups."""
from __future__ import annotations

import re

from sqlalchemy.engine import make_url

from sinc_pipeline.core.engines import SUPPORTED_HINT, is_supported
from sinc_pipeline.fiscal.rules import is_valid_cnpj
from sinc_pipeline.settings.messages import _problem
from sinc_pipeline.settings.models import IDENTIFIER, STORE_ID, Settings

STORE_ID_MAX = 64      # sinc_estado.loja and the quarantine's loja are VARCHAR(64)

def _mask_password(url: str) -> str:
    """A URL that does not parse, with whatever stands where its password would be hidden."""
    return re.sub(r"^([^:/@]+://[^:/@]*:).*@", r"\1***@", url) if isinstance(url, str) else url


def _check_url(path: str, url: str, problems: list[str]) -> None:
    try:
        u = make_url(url)
    except Exception:
        problems.append(_problem(path, _mask_password(url), "URL de banco inválida",
                                 "use uma URL SQLAlchemy, ex.: sqlite:///data/loja.db ou "
                                 "postgresql+psycopg://usuario@host/banco"))
        return
    backend = u.get_backend_name()
    if not is_supported(backend):
        problems.append(_problem(path, u.render_as_string(hide_password=True), f"banco {backend!r} não suportado",
                                 SUPPORTED_HINT))


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
        if isinstance(st.id, str) and len(st.id) > STORE_ID_MAX:
            p.append(_problem(f"{base}.id", st.id, f"identificador de loja com {len(st.id)} caracteres (máximo "
                              f"{STORE_ID_MAX}, o tamanho da coluna loja de sinc_estado)",
                              f"use um id de até {STORE_ID_MAX} caracteres, ex.: loja_01"))
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
    p += _fiscal_series_problems(s)

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
        if t.capture is not None and t.cursor is not None:
            p.append(_problem(f"{base}.capture", t.capture, "o modo journal não se combina com cursor",
                              "retire 'cursor' (o journal já lê só o que mudou) ou retire 'capture'"))
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
    from sinc_pipeline.twoway.checks import twoway_problems   # here: twoway imports settings
    p += twoway_problems(s)
    return p


def _fiscal_series_problems(s: Settings) -> list[str]:
    """With a ``fiscal`` section whose documents table is sent, every store sends documents: it
    needs its NFC-e and contingency series, or each of its documents would be held."""
    fiscal = getattr(s, "fiscal", None)
    tables = [t for t in (getattr(s, "tables", None) or []) if t is not None]
    if fiscal is None or not any(t.name == fiscal.table and t.direction == "send" for t in tables):
        return []
    out = []
    for i, st in enumerate(s.stores or []):
        if st is None:
            continue
        for field, what in (("nfce_series", "NFC-e"), ("contingency_series", "contingência")):
            if getattr(st, field) is None:
                out.append(_problem(f"stores[{i}].{field}", None,
                                    f"a loja {st.id} envia {fiscal.table!r} (seção fiscal), mas não tem série de {what}",
                                    f"informe {field} (0..889) da loja; sem ela todo documento da loja seria retido "
                                    "na quarentena fiscal"))
    return out
