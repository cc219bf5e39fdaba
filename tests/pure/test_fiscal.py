"""Tests for sinc_pipeline.fiscal.rules (pure functions, no database)."""
from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from sinc_pipeline.fiscal.numbering import gap_report, number_gaps, pending_contingency, void_deadline
from sinc_pipeline.fiscal.rules import (
    SERIES_MAX, SERIES_MIN, AccessKey, access_key_check_digit, build_access_key, check_documents,
    cnpj_check_digits, is_valid_cnpj, is_valid_cpf, normalize_cnpj, parse_access_key,
)

WORKED_KEY = "13181017921427000125650010000000309887251170"
CNPJ = "11222333000181"
ALNUM_CNPJ = "12ABC34501DE35"


# ---------------------------------------------------------------- CNPJ / CPF
@pytest.mark.parametrize("raw, expected", [
    ("11.222.333/0001-81", "11222333000181"),
    (" 11 222 333 0001 81 ", "11222333000181"),
    ("12.abc.345/01de-35", "12ABC34501DE35"),
    (11222333000181, "11222333000181"),
    (1222333000181, "01222333000181"),   # an integer lost its leading zero
    (None, ""),
])
def test_normalize_cnpj(raw, expected):
    assert normalize_cnpj(raw) == expected


@pytest.mark.parametrize("base, dvs", [
    ("112223330001", "81"),
    ("179214270001", "25"),   # CNPJ inside the notes' worked access key
    ("12ABC34501DE", "35"),   # Receita Federal's alphanumeric example 12.ABC.345/01DE-35
    ("112223470001", "03"),   # first remainder is 1 -> 0
    ("112223370001", "60"),   # second remainder is 1 -> 0
])
def test_cnpj_check_digits(base, dvs):
    assert cnpj_check_digits(base) == dvs


@pytest.mark.parametrize("base", ["11222333000", "1122233300011", "12abc34501de", "12.ABC.34501", None])
def test_cnpj_check_digits_rejects_bad_base(base):
    with pytest.raises(ValueError, match="base de CNPJ inválida"):
        cnpj_check_digits(base)


@pytest.mark.parametrize("value, valid", [
    ("11222333000181", True),
    ("11.222.333/0001-81", True),
    ("12ABC34501DE35", True),
    ("12.ABC.345/01DE-35", True),
    ("12.abc.345/01de-35", True),      # normalized to upper case
    ("11222333000182", False),         # wrong second DV
    ("11222333000191", False),         # wrong first DV
    ("12ABC34501DE36", False),
    ("12ABC34501DE3A", False),         # letters only allowed in the first 12
    ("00000000000000", False),
    ("11111111111111", False),
    ("1122233300018", False),          # 13 characters
    ("112223330001811", False),
    ("", False),
    (None, False),
])
def test_is_valid_cnpj(value, valid):
    assert is_valid_cnpj(value) is valid


@pytest.mark.parametrize("value, valid", [
    ("52998224725", True),
    ("529.982.247-25", True),
    ("10000000108", True),             # first remainder is 1 -> 0
    ("52998224726", False),
    ("52998224715", False),
    ("11111111111", False),
    ("5299822472", False),
    ("5299822472A", False),
    (None, False),
])
def test_is_valid_cpf(value, valid):
    assert is_valid_cpf(value) is valid


def test_series_range_constants():
    assert (SERIES_MIN, SERIES_MAX) == (0, 889)


# ---------------------------------------------------------------- access key
def _reference_dv(first43: str) -> int:
    """Independent módulo-11, written out the way the notes state it."""
    weights = [2, 3, 4, 5, 6, 7, 8, 9] * 6
    total = sum((ord(ch) - 48) * w for ch, w in zip(reversed(first43), weights))
    return 0 if total % 11 in (0, 1) else 11 - total % 11


def test_worked_example_weighted_sum_is_693():
    first43 = WORKED_KEY[:43]
    weights = [2, 3, 4, 5, 6, 7, 8, 9] * 6
    assert sum(int(ch) * w for ch, w in zip(reversed(first43), weights)) == 693
    assert access_key_check_digit(first43) == 0


@pytest.mark.parametrize("first43", [
    WORKED_KEY[:43],
    "1318101792142700012565001000000031988725117",   # number 31 instead of 30
    "352607" + ALNUM_CNPJ + "65001000000001100000001",
    "352607" + "ZZZZZZZZZZZZ00" + "55999999999999999999999",
    "352607" + ALNUM_CNPJ + "65001000000001100000005",   # weighted sum 705, remainder 1
])
def test_access_key_check_digit_matches_reference(first43):
    assert access_key_check_digit(first43) == _reference_dv(first43)


def test_access_key_check_digit_remainder_one_gives_zero():
    first43 = "352607" + ALNUM_CNPJ + "65001000000001100000005"
    weights = [2, 3, 4, 5, 6, 7, 8, 9] * 6
    assert sum((ord(ch) - 48) * w for ch, w in zip(reversed(first43), weights)) == 705   # 705 % 11 == 1
    assert access_key_check_digit(first43) == 0


@pytest.mark.parametrize("first43", [WORKED_KEY[:42], WORKED_KEY, "131810179214270001256500100000003098872511A",
                                     "131810abc21427000125650010000000309887251"])
def test_access_key_check_digit_rejects_bad_input(first43):
    with pytest.raises(ValueError):
        access_key_check_digit(first43)


@pytest.mark.parametrize("args, expected", [
    ((13, "1810", "17921427000125", 65, 1, 30, 9, "88725117"), WORKED_KEY),
    ((13, "1810", "17.921.427/0001-25", 65, 1, 30, 9, 88725117), WORKED_KEY),
    ((35, "2607", "12.ABC.345/01DE-35", 65, 1, 1, 1, 1),
     "352607" + ALNUM_CNPJ + "650010000000011" + "00000001"
     + str(_reference_dv("352607" + ALNUM_CNPJ + "65001000000001100000001"))),
])
def test_build_access_key(args, expected):
    key = build_access_key(*args)
    assert key == expected
    assert len(key) == 44


@pytest.mark.parametrize("args, message", [
    ((35, "2613", CNPJ, 65, 1, 1, 1, 1), "AAMM"),
    ((35, "2601", CNPJ, 65, 1000, 1, 1, 1), "série"),
    ((35, "2601", CNPJ, 65, 1, 10**9, 1, 1), "número"),
    ((35, "2601", "1122233300018", 65, 1, 1, 1, 1), "CNPJ"),
    ((35, "2601", CNPJ, 65, 1, 1, 1, 10**8), "cNF"),
])
def test_build_access_key_rejects_out_of_range(args, message):
    with pytest.raises(ValueError, match=message):
        build_access_key(*args)


def test_parse_access_key_worked_example():
    assert parse_access_key(WORKED_KEY) == AccessKey(
        cuf=13, aamm="1810", cnpj="17921427000125", model=65, series=1, number=30,
        tp_emis=9, cnf="88725117", dv=0)
    assert parse_access_key(WORKED_KEY).key == WORKED_KEY


def test_parse_access_key_alphanumeric_round_trip():
    key = build_access_key(35, "2607", ALNUM_CNPJ, 55, 889, 999_999_999, 1, "12345678")
    parsed = parse_access_key(key)
    assert (parsed.cnpj, parsed.model, parsed.series, parsed.number, parsed.cnf) == (
        ALNUM_CNPJ, 55, 889, 999_999_999, "12345678")
    assert parsed.key == key


@pytest.mark.parametrize("key, message", [
    (WORKED_KEY[:43], "44 caracteres, tem 43"),
    (WORKED_KEY + "0", "44 caracteres, tem 45"),
    ("", "44 caracteres, tem 0"),
    (None, "ausente"),
    (WORKED_KEY[:6] + "17921427000a25" + WORKED_KEY[20:], "caracteres inválidos"),   # lower-case letter
    (WORKED_KEY[:25] + "00000003A" + WORKED_KEY[34:], "caracteres inválidos"),     # letter outside the CNPJ
    (WORKED_KEY[:43] + "1", "esperado 0, encontrado 1"),
    (WORKED_KEY[:33] + "1" + WORKED_KEY[34:], "dígito verificador"),
])
def test_parse_access_key_errors(key, message):
    with pytest.raises(ValueError, match=message):
        parse_access_key(key)


# ---------------------------------------------------------------- document checks
NFE, NFCE, CONT = {1}, {10}, {910}


def _doc(model=65, series=10, number=1, tp=1, cnpj=CNPJ):
    key = build_access_key(35, "2601", cnpj, model, series, number, tp, 12345678)
    return {"cnpj": cnpj, "modelo": model, "serie": series, "numero": number, "tp_emis": tp, "chave": key}


def _check(rows, existing=None, **kw):
    kw = {"store_nfe_series": NFE, "store_nfce_series": NFCE, "store_contingency_series": CONT} | kw
    return check_documents(pd.DataFrame(rows), existing=existing, **kw)


@pytest.mark.parametrize("doc, kw", [
    (_doc(), {}),
    (_doc(cnpj="11.222.333/0001-81"), {}),
    (_doc(model=55, series=1), {}),
    (_doc(tp=9, series=910), {}),
    (_doc(tp=9, series=10), {"store_contingency_series": set()}),   # no contingency series configured
    (_doc(model=55, series=1, tp=6), {}),                           # SVC-AN is fine for NF-e
    ({**_doc(), "serie": "10", "numero": "1"}, {}),                  # numbers read as text
])
def test_check_documents_accepts(doc, kw):
    assert _check([doc], **kw).empty


def _with_key(doc, key):
    return {**doc, "chave": key}


@pytest.mark.parametrize("doc, reason", [
    (_doc(tp=9, series=10), "série 10 não é uma série de contingência da loja"),
    (_doc(tp=1, series=910), "série 910 não é uma série de NFC-e da loja"),
    (_doc(model=55, series=10), "série 10 não é uma série de NF-e da loja"),
    (_doc(model=57, series=1), "modelo 57 não é NF-e (55) nem NFC-e (65)"),
    (_doc(model=55, series=1, tp=9), "tpEmis 9 não é permitido para NF-e"),
    (_doc(tp=5), "tpEmis 5 não é permitido para NFC-e"),
    (_with_key(_doc(), _doc()["chave"][:43] + str((int(_doc()["chave"][43]) + 1) % 10)), "dígito verificador"),
    (_with_key(_doc(), _doc()["chave"][:40]), "44 caracteres"),
    (_with_key(_doc(), None), "chave de acesso ausente"),
    (_with_key(_doc(), _doc(cnpj="11444777000161")["chave"]),
     "CNPJ da chave (11444777000161) difere do documento (11222333000181)"),
    (_doc(number=7) | {"numero": 8}, "número da chave (7) difere do documento (8)"),
    (_doc(series=11) | {"serie": 10}, "série da chave (11) difere do documento (10)"),
    (_doc(model=55, series=10) | {"modelo": 65}, "modelo da chave (55) difere do documento (65)"),
    (_doc(tp=9, series=910) | {"tp_emis": 1, "serie": 10}, "tpEmis da chave (9) difere do documento (1)"),
    (_doc() | {"numero": None}, "número ausente ou inválido"),
    (_doc() | {"cnpj": None}, "CNPJ ausente ou inválido"),
])
def test_check_documents_rejects_with_reason(doc, reason):
    out = _check([doc])
    assert list(out.columns) == ["indice", "motivo"]
    assert len(out) == 1
    assert reason in out.loc[0, "motivo"]


def test_check_documents_joins_reasons_and_keeps_index_labels():
    bad = _doc(number=7, series=910) | {"numero": 8}
    docs = pd.DataFrame([_doc(number=1), bad], index=["ok", "ruim"])
    out = check_documents(docs, store_nfe_series=NFE, store_nfce_series=NFCE, store_contingency_series=CONT)
    assert out["indice"].tolist() == ["ruim"]
    assert out.loc[0, "motivo"] == ("número da chave (7) difere do documento (8); "
                                    "série 910 não é uma série de NFC-e da loja")


@pytest.mark.parametrize("existing_rows, expected_failures", [
    ([_doc(number=5)], []),                                            # same document already at origin
    ([_doc(number=5) | {"chave": _doc(number=5, tp=9, series=10)["chave"]}], [0]),   # another document
    ([_doc(number=5) | {"chave": None}], [0]),                         # origin row without key: conservative
    ([_doc(number=6)], []),                                            # another number
    ([_doc(number=5, model=55, series=10)], []),                       # another model never collides
    ([_doc(number=5, cnpj="11444777000161")], []),                     # another CNPJ
])
def test_check_documents_against_origin(existing_rows, expected_failures):
    out = _check([_doc(number=5)], existing=pd.DataFrame(existing_rows))
    assert out["indice"].tolist() == expected_failures
    if expected_failures:
        assert "número já usado na origem por outro documento" in out.loc[0, "motivo"]


def test_check_documents_origin_conflict_names_other_key():
    other = _doc(number=5) | {"chave": "X" * 44}
    out = _check([_doc(number=5)], existing=pd.DataFrame([other]))
    assert out.loc[0, "motivo"] == f"número já usado na origem por outro documento (chave {'X' * 44})"


def test_check_documents_key_cols_with_emission_type():
    # Where Ajuste SINIEF 19/19 applies, tpEmis is part of the identity.
    normal = _doc(number=5, series=10, tp=1)
    offline = _doc(number=5, series=10, tp=9)
    kw = {"store_contingency_series": set(), "existing": pd.DataFrame([normal])}
    assert len(_check([offline], **kw)) == 1
    assert _check([offline], key_cols=["cnpj", "modelo", "serie", "numero", "tp_emis"], **kw).empty


@pytest.mark.parametrize("rows, expected", [
    ([_doc(number=3), _doc(number=3)], []),                                     # same key twice
    ([_doc(number=3), _doc(number=3, tp=9, series=10) | {"tp_emis": 1}], [0, 1]),
    ([_doc(number=3), _doc(number=4)], []),
])
def test_check_documents_duplicates_within_batch(rows, expected):
    out = _check(rows, store_contingency_series=set())
    assert out["indice"].tolist() == expected
    for motivo in out["motivo"]:
        assert "documento repetido no lote com chaves de acesso diferentes" in motivo


def test_check_documents_column_mapping():
    doc = _doc(model=55, series=1)
    renamed = {"emitente": doc["cnpj"], "mod": doc["modelo"], "ser": 2, "nnf": doc["numero"],
               "tpemis": doc["tp_emis"], "chNFe": doc["chave"]}
    cols = {"cnpj": "emitente", "model": "mod", "series": "ser", "number": "nnf",
            "emission_type": "tpemis", "key": "chNFe"}
    out = check_documents(pd.DataFrame([renamed]), store_nfe_series={2}, store_nfce_series=NFCE,
                          store_contingency_series=CONT, columns=cols)
    assert out.loc[0, "motivo"] == "série da chave (1) difere do documento (2)"


def test_check_documents_empty():
    out = check_documents(pd.DataFrame(columns=["cnpj", "modelo", "serie", "numero", "tp_emis", "chave"]),
                          store_nfe_series=NFE, store_nfce_series=NFCE, store_contingency_series=CONT,
                          existing=pd.DataFrame([_doc()]))
    assert out.empty and list(out.columns) == ["indice", "motivo"]


# ---------------------------------------------------------------- gaps and deadlines
@pytest.mark.parametrize("numbers, gaps", [
    ([1, 2, 5, 6, 9], [(3, 4), (7, 8)]),
    ([9, 6, 5, 2, 1, 1], [(3, 4), (7, 8)]),
    ([1, 2, 3], []),
    ([7], []),
    ([], []),
    ([10, 7], [(8, 9)]),
    ([1, 1_000_000], [(2, 999_999)]),
])
def test_number_gaps(numbers, gaps):
    assert number_gaps(numbers) == gaps


@pytest.mark.parametrize("issued, deadline", [
    (date(2026, 1, 31), date(2026, 2, 10)),
    (date(2026, 2, 1), date(2026, 3, 10)),
    (date(2025, 12, 15), date(2026, 1, 10)),
    (datetime(2025, 12, 31, 23, 59), date(2026, 1, 10)),
    (pd.Timestamp("2026-03-10 08:00"), date(2026, 4, 10)),
])
def test_void_deadline(issued, deadline):
    assert void_deadline(issued) == deadline


def _gap_docs():
    rows = [  # cnpj, modelo, serie, numero, status, emitido_em
        (CNPJ, 65, 10, 1, "autorizada", "2026-01-20 10:00"),
        (CNPJ, 65, 10, 2, "cancelada", "2026-01-31 23:00"),   # cancelled: still consumes number 2
        (CNPJ, 65, 10, 5, "autorizada", "2026-02-02 09:00"),
        (CNPJ, 65, 10, 6, "autorizada", "2026-02-03 09:00"),
        (CNPJ, 65, 10, 9, "autorizada", "2026-02-04 09:00"),
        (CNPJ, 55, 1, 100, "autorizada", "2026-02-01 09:00"),
        (CNPJ, 55, 1, 101, "autorizada", "2026-02-01 10:00"),
    ]
    df = pd.DataFrame(rows, columns=["cnpj", "modelo", "serie", "numero", "status", "emitido_em"])
    df["emitido_em"] = pd.to_datetime(df["emitido_em"])
    return df


def test_gap_report():
    out = gap_report(_gap_docs(), today=date(2026, 2, 8))
    assert list(out.columns) == ["cnpj", "modelo", "serie", "inicio", "fim", "quantidade",
                                 "prazo_inutilizacao", "dias_restantes"]
    assert out.to_dict("records") == [
        {"cnpj": CNPJ, "modelo": 65, "serie": 10, "inicio": 3, "fim": 4, "quantidade": 2,
         "prazo_inutilizacao": date(2026, 2, 10), "dias_restantes": 2},
        {"cnpj": CNPJ, "modelo": 65, "serie": 10, "inicio": 7, "fim": 8, "quantidade": 2,
         "prazo_inutilizacao": date(2026, 3, 10), "dias_restantes": 30},
    ]


def test_gap_report_overdue_is_negative():
    out = gap_report(_gap_docs(), today=date(2026, 2, 12))
    assert out["dias_restantes"].tolist() == [-2, 26]


def test_gap_report_renamed_columns():
    df = _gap_docs().rename(columns={"numero": "nnf", "emitido_em": "dh"})
    out = gap_report(df, today=date(2026, 2, 8), columns={"number": "nnf", "issued_at": "dh"})
    assert out[["inicio", "fim"]].values.tolist() == [[3, 4], [7, 8]]


def _pending_docs():
    rows = [  # chave, tp_emis, status, emitido_em
        ("K1", 9, "contingencia", "2026-02-01 10:00"),   # 26 h old
        ("K2", 9, "Pendente", "2026-02-02 00:00"),       # 12 h old
        ("K3", 9, "Contingência", "2026-01-31 12:00"),   # accents and case ignored, 48 h old
        ("K4", 9, "autorizada", "2026-01-01 00:00"),     # already transmitted
        ("K5", 1, "pendente", "2026-01-01 00:00"),       # not offline contingency
    ]
    df = pd.DataFrame(rows, columns=["chave", "tp_emis", "status", "emitido_em"])
    df["emitido_em"] = pd.to_datetime(df["emitido_em"])
    return df.assign(cnpj=CNPJ, modelo=65, serie=910, numero=range(1, 6))


def test_pending_contingency():
    out = pending_contingency(_pending_docs(), now=datetime(2026, 2, 2, 12))
    assert list(out.columns) == ["chave", "cnpj", "modelo", "serie", "numero", "emitido_em",
                                 "idade_horas", "atrasado"]
    assert out["chave"].tolist() == ["K3", "K1", "K2"]
    assert out["idade_horas"].tolist() == [48.0, 26.0, 12.0]
    assert out["atrasado"].tolist() == [True, True, False]


@pytest.mark.parametrize("limit, late", [(24, ["K3", "K1"]), (30, ["K3"]), (6, ["K3", "K1", "K2"])])
def test_pending_contingency_limit(limit, late):
    out = pending_contingency(_pending_docs(), now=datetime(2026, 2, 2, 12), limit_hours=limit)
    assert out.loc[out["atrasado"], "chave"].tolist() == late


def test_pending_contingency_custom_statuses():
    out = pending_contingency(_pending_docs(), now=datetime(2026, 2, 2, 12), pending_values={"autorizada"})
    assert out["chave"].tolist() == ["K4"]


@pytest.mark.parametrize("store_cnpj, failures", [
    (CNPJ, []),
    ("11.222.333/0001-81", []),             # formatted the same CNPJ
    ("11444777000161", [0]),                # another issuer: its series are not this store's
    (None, []),                             # not given: not checked
])
def test_check_documents_store_cnpj(store_cnpj, failures):
    out = _check([_doc()], store_cnpj=store_cnpj)
    assert out["indice"].tolist() == failures
    if failures:
        assert out.loc[0, "motivo"] == "CNPJ 11222333000181 não é o da loja (11444777000161)"


# ---------------------------------------------------------------- key structure, unexpected values (Arrow)
def _raw_key(cuf="35", aamm="2601", cnpj=CNPJ, model="65", series="010", number="000000001", tp="1") -> str:
    first43 = cuf + aamm + cnpj + model + series + number + tp + "12345678"
    return first43 + str(access_key_check_digit(first43))


def _arrow_docs(rows: list[dict], types: dict | None = None):
    import datetime as _dt

    import pyarrow as pa

    base = {"cnpj": CNPJ, "modelo": 65, "serie": 10, "numero": 1, "tp_emis": 1, "chave": _raw_key(),
            "emitido_em": _dt.datetime(2026, 1, 15, 10, 0)}
    full = [{**base, **r} for r in rows]
    types = {"cnpj": pa.string(), "modelo": pa.int64(), "serie": pa.int64(), "numero": pa.int64(),
             "tp_emis": pa.int64(), "chave": pa.string(), "emitido_em": pa.timestamp("us")} | (types or {})
    return pa.table({n: pa.array([r[n] for r in full], t) for n, t in types.items()})


def _check_arrow(table, **kw):
    from sinc_pipeline.fiscal.rules import documents_frame

    kw = {"store_nfe_series": NFE, "store_nfce_series": NFCE, "store_contingency_series": CONT} | kw
    return check_documents(documents_frame(table), **kw)


@pytest.mark.parametrize("key, reason", [
    (_raw_key(cuf="99"), "cUF 99 da chave não é um código de UF do IBGE"),
    (_raw_key(cuf="20"), "cUF 20"),
    (_raw_key(aamm="2613"), "AAMM 2613 da chave tem mês 13"),
    (_raw_key(aamm="2600"), "mês 00"),
    (_raw_key(aamm="2602"), "AAMM 2602 da chave é posterior à emissão do documento (2601"),
    (_raw_key(tp="8"), "tpEmis 8 da chave não é um tipo de emissão conhecido"),
    (_raw_key(cnpj="11222333000182"), "CNPJ 11222333000182 da chave tem dígitos verificadores inválidos"),
])
def test_a_key_with_a_right_check_digit_but_a_wrong_structure_is_held(key, reason):
    rows = [{"chave": key}]
    if "CNPJ 11222333000182" in reason:
        rows[0]["cnpj"] = "11222333000182"
    out = _check_arrow(_arrow_docs(rows))
    assert len(out) == 1 and reason in out.loc[0, "motivo"], out.to_dict("records")


def test_valid_structure_passes_and_every_state_code_is_known():
    from sinc_pipeline.fiscal.rules import UF_CODES

    earlier = {"chave": _raw_key(aamm="2512", number="000000002"), "numero": 2}     # a key of an earlier month
    assert _check_arrow(_arrow_docs([{}, earlier])).empty
    assert sorted(UF_CODES) == [11, 12, 13, 14, 15, 16, 17, 21, 22, 23, 24, 25, 26, 27, 28, 29, 31, 32, 33, 35,
                                41, 42, 43, 50, 51, 52, 53]


def test_unexpected_values_in_fiscal_columns_are_reasons_never_exceptions():
    import pyarrow as pa

    text = {"modelo": pa.string(), "serie": pa.string(), "numero": pa.string(), "tp_emis": pa.string(),
            "emitido_em": pa.string()}
    good = {"modelo": "65", "serie": "10", "numero": "1", "tp_emis": "1", "emitido_em": "2026-01-15 10:00:00"}
    rows = [good,
            {**good, "serie": "²"},                 # '²'.isdigit() is True in Python
            {**good, "numero": "1a"},
            {**good, "numero": None},
            {**good, "tp_emis": "8"},
            {**good, "emitido_em": "ontem"},
            {**good, "emitido_em": None},
            {**good, "modelo": "６５"},              # full-width digits
            {**good, "chave": None, "cnpj": None}]
    out = _check_arrow(_arrow_docs(rows, text))
    reasons = dict(zip(out["indice"], out["motivo"]))
    assert 0 not in reasons and sorted(reasons) == list(range(1, len(rows)))
    assert "série ausente ou inválido ('²')" in reasons[1]
    assert "número ausente ou inválido ('1a')" in reasons[2] and "número ausente ou inválido (None)" in reasons[3]
    assert "tpEmis 8 não é um tipo de emissão conhecido" in reasons[4]
    assert "data de emissão ausente ou inválida ('ontem')" in reasons[5] and "data de emissão" in reasons[6]
    assert "modelo ausente ou inválido" in reasons[7]
    assert "chave de acesso ausente" in reasons[8] and "CNPJ ausente" in reasons[8]
