"""Config problems in Portuguese: one line per problem naming the field path, the value and a hint."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sinc_pipeline.fiscal.rules import SERIES_MAX, SERIES_MIN

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
        if path.endswith(".cnpj") and isinstance(value, int) and not isinstance(value, bool):
            msg, hint = _cnpj_as_number(value)
        if isinstance(value, dict | list) and len(repr(value)) > 80:
            value = "…"
        problems.append(_problem(path or "(raiz)", value, msg, hint))
    return problems


def _cnpj_as_number(value: int) -> tuple[str, str]:
    """Why a CNPJ arrived as a number, and the quoted text to write: an unquoted CNPJ is a number
    to YAML, and one that starts with 0 and has only digits 0-7 is read as an OCTAL number."""
    from sinc_pipeline.fiscal.rules import is_valid_cnpj

    decimal, octal = f"{value:014d}", f"0{value:o}".zfill(14)
    if is_valid_cnpj(octal) and not is_valid_cnpj(decimal):
        return (f"o YAML leu o CNPJ sem aspas como um número octal (começa com 0 e só tem dígitos 0–7): "
                f"{value} em decimal", f'escreva-o entre aspas, ex.: cnpj: "{octal}"')
    return ("o YAML leu o CNPJ sem aspas como um número (zeros à esquerda e letras se perdem)",
            f'escreva-o entre aspas, ex.: cnpj: "{decimal}"')
