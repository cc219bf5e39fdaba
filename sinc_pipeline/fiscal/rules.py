"""Pure fiscal rules for Brazilian NF-e (model 55) and NFC-e (model 65) documents.

* CNPJ / CPF check digits, including the alphanumeric CNPJ (July 2026): a letter counts as
  ``ord(c) - 48`` in the módulo-11 sums.
* Access key (chave de acesso, 44 characters): check digit, building and parsing, and its
  structure (``key_structure_problems``: IBGE state code, AAMM month 01-12 and not after the
  emission, model 55/65, a known tpEmis, the embedded CNPJ's check digits).
* ``check_documents``: what must hold before a store sends its fiscal documents to the
  origin (valid key agreeing with the row, series owned by the store, number not already
  used by another document). Any unexpected value (a series written '²', a number that is
  not a number, a NULL) is a reason to hold the document, never an exception.
* Back-office reports (``numbering.py``): numbering gaps with their voiding ("inutilização")
  deadline, and offline contingency NFC-e still waiting to be transmitted.

CNPJs and keys are always handled as text, never as integers. The facts behind these rules
are in ``/work/shared/notes/fiscal-domain.md``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

SERIES_MIN = 0      # taxpayer (CNPJ) series range; 890-919 are the tax authority's,
SERIES_MAX = 889    # 920-969 are for CPF issuers
MODEL_NFE, MODEL_NFCE = 55, 65
TP_EMIS_OFFLINE = 9  # offline NFC-e contingency
_NOT_FOR_NFE = {9}
_NOT_FOR_NFCE = {2, 5, 6, 7}
KNOWN_TP_EMIS = frozenset({1, 2, 3, 4, 5, 6, 7, 9})   # NF-e manual; 8 is not used
UF_CODES = frozenset([*range(11, 18), *range(21, 30), 31, 32, 33, 35, 41, 42, 43, 50, 51, 52, 53])   # IBGE
_ASCII_DIGITS = re.compile(r"[0-9]+")

DEFAULT_COLUMNS: dict[str, str] = {
    "cnpj": "cnpj", "model": "modelo", "series": "serie", "number": "numero",
    "emission_type": "tp_emis", "key": "chave", "issued_at": "emitido_em", "status": "status",
}

_CNPJ_RE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
_KEY43_RE = re.compile(r"[0-9]{6}[0-9A-Z]{12}[0-9]{25}")
_KEY44_RE = re.compile(r"[0-9]{6}[0-9A-Z]{12}[0-9]{26}")
_CNPJ_W1 = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_W2 = (6,) + _CNPJ_W1


# ---------------------------------------------------------------- small helpers
def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _as_int(v: Any) -> int | None:
    """int for integral numbers or digit strings, else None (missing or invalid)."""
    if _missing(v) or isinstance(v, bool):
        return None
    if isinstance(v, str):
        v = v.strip()       # ASCII digits only: '²'.isdigit() is True, int('²') fails
        return int(v) if _ASCII_DIGITS.fullmatch(v) else None
    try:
        i = int(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return i if i == v else None


def _mod11(values: Iterable[int], weights: Iterable[int]) -> int:
    r = sum(v * w for v, w in zip(values, weights)) % 11
    return 0 if r < 2 else 11 - r


def _cols(columns: Mapping[str, str] | None) -> dict[str, str]:
    return {**DEFAULT_COLUMNS, **(columns or {})}


# ---------------------------------------------------------------- CNPJ / CPF
def normalize_cnpj(value: Any) -> str:
    """Strip '.', '/', '-' and whitespace and upper-case. Integers are zero-padded to 14."""
    if _missing(value):
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:014d}"
    return re.sub(r"[./\-\s]", "", str(value)).upper()


def cnpj_check_digits(base12: str) -> str:
    """The two check digits of a 12-character CNPJ base (digits or A-Z)."""
    if not isinstance(base12, str) or not re.fullmatch(r"[0-9A-Z]{12}", base12):
        raise ValueError(f"base de CNPJ inválida: {base12!r} (esperados 12 caracteres 0-9 ou A-Z)")
    values = [ord(c) - 48 for c in base12]
    d1 = _mod11(values, _CNPJ_W1)
    d2 = _mod11(values + [d1], _CNPJ_W2)
    return f"{d1}{d2}"


def is_valid_cnpj(value: Any) -> bool:
    v = normalize_cnpj(value)
    if not _CNPJ_RE.fullmatch(v) or len(set(v)) == 1:
        return False
    return cnpj_check_digits(v[:12]) == v[12:]


def is_valid_cpf(value: Any) -> bool:
    v = "" if _missing(value) else re.sub(r"[.\-\s]", "", str(value))
    if not re.fullmatch(r"[0-9]{11}", v) or len(set(v)) == 1:
        return False
    digits = [int(c) for c in v]
    d1 = _mod11(digits[:9], range(10, 1, -1))
    d2 = _mod11(digits[:10], range(11, 1, -1))
    return digits[9:] == [d1, d2]


# ---------------------------------------------------------------- access key
@dataclass(frozen=True)
class AccessKey:
    cuf: int
    aamm: str
    cnpj: str
    model: int
    series: int
    number: int
    tp_emis: int
    cnf: str
    dv: int

    @property
    def key(self) -> str:
        return (f"{self.cuf:02d}{self.aamm}{self.cnpj}{self.model:02d}{self.series:03d}"
                f"{self.number:09d}{self.tp_emis}{self.cnf}{self.dv}")


def access_key_check_digit(first43: str) -> int:
    """Módulo 11 over the first 43 characters, weights 2..9 from the right."""
    if not isinstance(first43, str) or not _KEY43_RE.fullmatch(first43):
        raise ValueError("início de chave de acesso inválido: esperados 43 caracteres "
                         "(dígitos; letras maiúsculas apenas no CNPJ)")
    total = sum((ord(c) - 48) * (2 + i % 8) for i, c in enumerate(reversed(first43)))
    r = total % 11
    return 0 if r < 2 else 11 - r


def _fixed(value: Any, width: int, name: str) -> str:
    if isinstance(value, str) and _ASCII_DIGITS.fullmatch(value) and len(value) <= width:
        return value.zfill(width)
    i = _as_int(value)
    if i is None or i < 0 or i >= 10 ** width:
        raise ValueError(f"{name} inválido para a chave de acesso: {value!r} (até {width} dígitos)")
    return f"{i:0{width}d}"


def build_access_key(cuf: int, aamm: str, cnpj: str, model: int, series: int, number: int,
                     tp_emis: int, cnf: int | str) -> str:
    """The 44-character key, zero padded, with its check digit."""
    aamm_s = _fixed(aamm, 4, "AAMM")
    if not 1 <= int(aamm_s[2:]) <= 12:
        raise ValueError(f"AAMM inválido para a chave de acesso: {aamm!r} (mês deve ser 01 a 12)")
    cnpj_s = normalize_cnpj(cnpj)
    if not _CNPJ_RE.fullmatch(cnpj_s):
        raise ValueError(f"CNPJ inválido para a chave de acesso: {cnpj!r}")
    first43 = (_fixed(cuf, 2, "cUF") + aamm_s + cnpj_s + _fixed(model, 2, "modelo")
               + _fixed(series, 3, "série") + _fixed(number, 9, "número")
               + _fixed(tp_emis, 1, "tpEmis") + _fixed(cnf, 8, "cNF"))
    return first43 + str(access_key_check_digit(first43))


def parse_access_key(key: Any) -> AccessKey:
    """Split a key into its parts; ``ValueError`` (pt-BR reason) if it is not a valid key."""
    if _missing(key):
        raise ValueError("chave de acesso ausente")
    k = str(key).strip()
    if len(k) != 44:
        raise ValueError(f"chave de acesso deve ter 44 caracteres, tem {len(k)}")
    if not _KEY44_RE.fullmatch(k):
        raise ValueError("chave de acesso contém caracteres inválidos "
                         "(só dígitos; letras maiúsculas apenas no CNPJ)")
    dv = access_key_check_digit(k[:43])
    if dv != int(k[43]):
        raise ValueError(f"dígito verificador da chave de acesso inválido: esperado {dv}, encontrado {k[43]}")
    return AccessKey(cuf=int(k[0:2]), aamm=k[2:6], cnpj=k[6:20], model=int(k[20:22]),
                     series=int(k[22:25]), number=int(k[25:34]), tp_emis=int(k[34]),
                     cnf=k[35:43], dv=dv)


def _emission_month(v: Any) -> str | None:
    """YYMM of an emission timestamp (datetime, date, pandas Timestamp or ISO text), else None."""
    if _missing(v):
        return None
    try:
        ts = pd.Timestamp(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if pd.isna(ts) else f"{ts.year % 100:02d}{ts.month:02d}"


def key_structure_problems(k: AccessKey, issued_at: Any = None, check_issued: bool = False) -> list[str]:
    """What is wrong with a key whose check digit is right: the state code (IBGE cUF), AAMM (month
    01-12, not after the document's emission), the model, tpEmis, the embedded CNPJ."""
    out = []
    if k.cuf not in UF_CODES:
        out.append(f"cUF {k.cuf:02d} da chave não é um código de UF do IBGE")
    month = int(k.aamm[2:])
    if not 1 <= month <= 12:
        out.append(f"AAMM {k.aamm} da chave tem mês {k.aamm[2:]} (deve ser 01 a 12)")
    elif check_issued:
        emitted = _emission_month(issued_at)
        if emitted is None:
            out.append(f"data de emissão ausente ou inválida ({issued_at!r})")
        elif k.aamm > emitted:
            out.append(f"AAMM {k.aamm} da chave é posterior à emissão do documento ({emitted}, {issued_at})")
    if k.model not in (MODEL_NFE, MODEL_NFCE):
        out.append(f"modelo {k.model:02d} da chave não é NF-e (55) nem NFC-e (65)")
    if k.tp_emis not in KNOWN_TP_EMIS:
        out.append(f"tpEmis {k.tp_emis} da chave não é um tipo de emissão conhecido (1-7 ou 9)")
    if not is_valid_cnpj(k.cnpj):
        out.append(f"CNPJ {k.cnpj} da chave tem dígitos verificadores inválidos")
    return out


def documents_frame(table) -> pd.DataFrame:
    """An Arrow table of documents as the object-typed frame ``check_documents`` takes (values as
    the database gave them: no coercion, so a bad value is seen as it is)."""
    return pd.DataFrame({n: pd.Series(table.column(n).to_pylist(), dtype=object) for n in table.column_names})


# ---------------------------------------------------------------- document checks
def _normalized(df: pd.DataFrame, cols: Sequence[str], c: dict[str, str]) -> pd.DataFrame:
    """Identity columns made comparable: CNPJ normalized, numeric parts as int (None if invalid)."""
    ints = {c["model"], c["series"], c["number"], c["emission_type"]}
    out = pd.DataFrame(index=range(len(df)))
    for col in cols:
        values = df[col].tolist()
        if col == c["cnpj"]:
            values = [normalize_cnpj(v) or None for v in values]
        elif col in ints:
            values = [_as_int(v) for v in values]
        else:
            values = [None if _missing(v) else v for v in values]
        out[col] = pd.Series(values, dtype=object)
    return out


def _key_text(v: Any) -> str:
    return "" if _missing(v) else str(v).strip()


def _row_reasons(cnpj: str | None, model: int | None, series: int | None, number: int | None,
                 tp: int | None, key: Any, issued: Any, nfe: set[int], nfce: set[int], cont: set[int],
                 raw: dict, check_issued: bool) -> list[str]:
    reasons: list[str] = []
    for name, v, col in (("CNPJ", cnpj, "cnpj"), ("modelo", model, "model"), ("série", series, "series"),
                         ("número", number, "number"), ("tpEmis", tp, "emission_type")):
        if v is None:
            reasons.append(f"{name} ausente ou inválido ({raw.get(col)!r})")
    if tp is not None and tp not in KNOWN_TP_EMIS:
        reasons.append(f"tpEmis {tp} não é um tipo de emissão conhecido (1-7 ou 9)")
    try:
        k = parse_access_key(key)
    except (ValueError, TypeError) as e:
        reasons.append(str(e))
    else:
        reasons += key_structure_problems(k, issued, check_issued)
        for name, in_key, in_row in (("CNPJ", k.cnpj, cnpj), ("modelo", k.model, model),
                                     ("série", k.series, series), ("número", k.number, number),
                                     ("tpEmis", k.tp_emis, tp)):
            if in_row is not None and in_key != in_row:
                reasons.append(f"{name} da chave ({in_key}) difere do documento ({in_row})")
    if model == MODEL_NFE:
        if tp in _NOT_FOR_NFE:
            reasons.append(f"tpEmis {tp} não é permitido para NF-e (modelo 55)")
        if series is not None and series not in nfe:
            reasons.append(f"série {series} não é uma série de NF-e da loja")
    elif model == MODEL_NFCE:
        if tp in _NOT_FOR_NFCE:
            reasons.append(f"tpEmis {tp} não é permitido para NFC-e (modelo 65)")
        if series is not None:
            if tp == TP_EMIS_OFFLINE and cont:
                if series not in cont:
                    reasons.append(f"série {series} não é uma série de contingência da loja")
            elif series not in nfce:
                reasons.append(f"série {series} não é uma série de NFC-e da loja")
    elif model is not None:
        reasons.append(f"modelo {model} não é NF-e (55) nem NFC-e (65)")
    return reasons


def check_documents(docs: pd.DataFrame, *, store_nfe_series: set[int], store_nfce_series: set[int],
                    store_contingency_series: set[int], existing: pd.DataFrame | None = None,
                    key_cols: Sequence[str] | None = None,
                    columns: Mapping[str, str] | None = None,
                    store_cnpj: str | None = None) -> pd.DataFrame:
    """Documents of one store that must not be sent, as columns ``indice`` and ``motivo``.

    ``key_cols`` are the columns identifying a document (default: the mapped cnpj, modelo,
    serie, numero; add the tpEmis column where Ajuste SINIEF 19/19 makes it part of the
    identity). ``existing`` holds the origin's documents with the same column names. An
    identity held by a different key, in ``existing`` or elsewhere in ``docs``, is refused:
    a number already transmitted must never be reused. ``store_cnpj`` (optional) is the sending
    store's CNPJ: its series are its own only under that CNPJ, so another issuer is refused.
    """
    c = _cols(columns)
    ident = list(key_cols) if key_cols is not None else [c["cnpj"], c["model"], c["series"], c["number"]]
    n = _normalized(docs, list(dict.fromkeys(ident + [c["cnpj"], c["model"], c["series"],
                                                      c["number"], c["emission_type"]])), c)
    n["__key"] = [_key_text(v) for v in docs[c["key"]].tolist()]
    n["__pos"] = range(len(docs))
    nfe, nfce, cont = set(store_nfe_series), set(store_nfce_series), set(store_contingency_series)
    check_issued = c["issued_at"] in docs.columns
    issued = docs[c["issued_at"]].tolist() if check_issued else [None] * len(docs)
    raw_cols = {f: docs[c[f]].tolist() for f in ("cnpj", "model", "series", "number", "emission_type")}
    reasons = [_row_reasons(*row, nfe, nfce, cont, {f: v[i] for f, v in raw_cols.items()}, check_issued)
               for i, row in enumerate(zip(n[c["cnpj"]], n[c["model"]], n[c["series"]], n[c["number"]],
                                           n[c["emission_type"]], docs[c["key"]], issued))]
    if store_cnpj:
        own = normalize_cnpj(store_cnpj)
        for pos, cnpj in enumerate(n[c["cnpj"]]):
            if cnpj is not None and cnpj != own:
                reasons[pos].append(f"CNPJ {cnpj} não é o da loja ({own})")

    keyed = n.dropna(subset=ident)
    # Same identity, different keys within the batch.
    if len(keyed):
        n_keys = keyed.groupby(ident, dropna=False)["__key"].transform("nunique")
        for pos in keyed.loc[n_keys > 1, "__pos"]:
            reasons[pos].append("documento repetido no lote com chaves de acesso diferentes")
    # Same identity already held by another document at the origin.
    if existing is not None and len(existing) and len(keyed):
        ex = _normalized(existing, ident, c)
        ex["__ex_key"] = [_key_text(v) for v in existing[c["key"]].tolist()]
        ex = ex.dropna(subset=ident)
        hits = keyed[ident + ["__key", "__pos"]].merge(ex, on=ident)
        hits = hits[hits["__key"] != hits["__ex_key"]]
        for pos, grp in hits.groupby("__pos"):
            others = ", ".join(sorted(set(grp["__ex_key"]) - {""})) or "sem chave"
            reasons[pos].append(f"número já usado na origem por outro documento (chave {others})")

    failing = [(docs.index[p], "; ".join(r)) for p, r in enumerate(reasons) if r]
    return pd.DataFrame(failing, columns=["indice", "motivo"])
