"""Checks of two-way tables (``direction: both``) that need no database."""
from __future__ import annotations

from sinc_pipeline.settings.messages import _problem


def twoway_problems(s) -> list[str]:
    p: list[str] = []
    filter_cols = {c for st in (s.stores or []) if st is not None for c in st.filter}
    for i, t in enumerate(s.tables or []):
        if t is None or t.direction != "both":
            continue
        base = f"tables[{i}]"
        if not t.scoped:
            p.append(_problem(f"{base}.scoped", t.scoped, "uma tabela bidirecional (both) precisa ser escopada por loja",
                              "use scoped: true: cada loja sincroniza só as suas linhas"))
        if t.cursor is not None:
            p.append(_problem(f"{base}.cursor", t.cursor, "uma tabela bidirecional não usa cursor",
                              "retire 'cursor': a comparação usa a base da última sincronização"))
        if not (set(t.key) & filter_cols) and t.key_scheme is None:
            p.append(_problem(f"{base}.key", t.key, "chave de tabela bidirecional que não se torna única por loja "
                              "(as lojas e a origem criam linhas: duas poderiam escolher a mesma chave)",
                              f"inclua a coluna de filtro da loja na chave (ex.: [{next(iter(sorted(filter_cols)), 'loja_id')}, id]), "
                              "ou use key_scheme: uuid (UUID) ou key_scheme: store_prefix (texto com o id da loja "
                              "na frente)"))
        both = set(t.origin_columns) & set(t.store_columns)
        if both:
            p.append(_problem(f"{base}.store_columns", sorted(both), "coluna com dois donos",
                              "cada coluna está em origin_columns ou em store_columns, não nas duas"))
        for name in ("origin_columns", "store_columns", "natural_key"):
            for c in getattr(t, name):
                if c in t.key or c in t.exclude:
                    p.append(_problem(f"{base}.{name}", c, "coluna de chave ou excluída",
                                      "liste só colunas sincronizadas que não são da chave"))
        if isinstance(t.conflicts, dict):
            col = t.conflicts.get("newest_wins")
            if col in t.exclude or col in t.key:
                p.append(_problem(f"{base}.conflicts.newest_wins", col, "coluna excluída ou da chave",
                                  "use uma coluna sincronizada de data/hora ou versão, ex.: alterado_em"))
    for i, t in enumerate(s.tables or []):
        if t is not None and t.direction != "both" and (t.origin_columns or t.store_columns or t.natural_key
                                                        or t.conflicts != "origin_wins"):
            p.append(_problem(f"tables[{i}].conflicts", t.conflicts, "regras de conflito numa tabela de uma direção",
                              "use direction: both, ou retire conflicts/origin_columns/store_columns/natural_key"))
    return p
