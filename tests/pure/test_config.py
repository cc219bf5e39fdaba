"""Config validation: every error names the field path, the value and a hint; all reported at once."""
from __future__ import annotations

import copy

import pytest
import yaml

from sinc_pipeline.settings import load_settings, parse_settings
from sinc_pipeline.core.errors import ConfigError

BASE = yaml.safe_load("""
origin: {url: "sqlite:///data/demo/origem.db"}
intervals: {send_minutes: 5, receive_minutes: 7}
stores:
  - {id: loja_01, url: "sqlite:///data/demo/loja_01.db", filter: {loja_id: 1}, cnpj: "11222333000181",
     nfe_series: 1, nfce_series: 11, contingency_series: 21}
  - {id: loja_02, url: "sqlite:///data/demo/loja_02.db", filter: {loja_id: 2}, cnpj: "11.222.333/0001-81",
     nfe_series: 2, nfce_series: 12, contingency_series: 22}
tables:
  - {name: produtos, direction: receive, key: [id], store_table: produto, columns: {preco: preco_venda},
     exclude: [custo], cursor: atualizado_em}
  - {name: vendas, direction: send, key: [loja_id, id], scoped: true, group: venda}
""")


def with_(path: str, value):
    raw = copy.deepcopy(BASE)
    node = raw
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    last = parts[-1]
    if value is KeyError:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return raw


def problems(raw) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_settings(raw)
    return err.value.problems


def test_valid_config_parses_with_defaults():
    s = parse_settings(copy.deepcopy(BASE))
    assert s.stores[1].cnpj == "11222333000181"
    assert s.table("produtos").delete_policy == "propagate"
    assert s.table("vendas").delete_policy == "ignore"
    assert s.table("produtos").target_name == "produto"
    assert [[t.name for t in u] for u in s.units("send")] == [["vendas"]]


@pytest.mark.parametrize("path,value,field,words", [
    ("intervals.send_minutes", 0, "intervals.send_minutes", "1 a 1440"),
    ("intervals.receive_minutes", 1441, "intervals.receive_minutes", "1 a 1440"),
    ("intervals.receive_minutes", 2.5, "intervals.receive_minutes", "inteiro"),
    ("stores.0.nfce_series", 890, "stores[0].nfce_series", "889"),
    ("stores.0.nfe_series", -1, "stores[0].nfe_series", "0"),
    ("stores.1.nfce_series", 11, "stores[1].nfce_series", "loja_01"),
    ("stores.1.contingency_series", 11, "stores[1].contingency_series", "loja_01"),
    ("stores.0.contingency_series", 11, "stores[0].contingency_series", "NFC-e"),
    ("stores.1.nfe_series", 1, "stores[1].nfe_series", "loja_01"),
    ("stores.0.cnpj", "11222333000182", "stores[0].cnpj", "CNPJ"),
    ("stores.1.id", "loja_01", "stores[1].id", "repetido"),
    ("stores.1.id", "loja 02", "stores[1].id", "partição"),
    ("stores.0.url", "nada disso", "stores[0].url", "URL"),
    ("tables.0.key", [], "tables[0].key", "chave"),
    ("tables.0.name", "produtos; drop table x", "tables[0].name", "inválido"),
    ("tables.0.columns", {"preco": "preco venda"}, "tables[0].columns.preco", "inválido"),
    ("tables.1.scoped", False, "tables[1].scoped", "escopada"),
    ("stores.1.filter", {}, "stores[1].filter", "escopadas"),
    ("tables.0.direction", "ambos", "tables[0].direction", "receive"),
    ("tables.0.colunas", {}, "tables[0].colunas", "desconhecido"),
    ("origin", KeyError, "origin", "obrigatório"),
])
def test_each_error_names_field_value_and_hint(path, value, field, words):
    found = problems(with_(path, value))
    assert any(p.startswith(field + ":") and words in p and "Dica:" in p for p in found), found


def test_same_series_allowed_on_other_cnpj_and_across_models():
    raw = with_("stores.1.cnpj", "11222333000262")
    raw["stores"][1]["nfce_series"] = 11
    raw["stores"][1]["contingency_series"] = 21
    raw["stores"][1]["nfe_series"] = 11  # NF-e 11 and NFC-e 11 coexist
    assert parse_settings(raw).stores[1].nfce_series == 11


def test_alphanumeric_cnpj_accepted():
    assert parse_settings(with_("stores.0.cnpj", "12ABC34501DE35")).stores[0].cnpj == "12ABC34501DE35"


def test_all_problems_reported_at_once():
    raw = with_("intervals.send_minutes", 0)
    raw["stores"][0]["cnpj"] = "123"
    raw["tables"][0]["key"] = []
    assert len(problems(raw)) >= 3


def test_env_vars_expanded_and_missing_ones_named(monkeypatch):
    monkeypatch.setenv("SENHA_LOJA", "xyz")
    s = parse_settings(with_("stores.0.url", "postgresql://sinc:${SENHA_LOJA}@db/loja"))
    assert "xyz" in s.stores[0].url
    monkeypatch.delenv("SENHA_LOJA")
    found = problems(with_("stores.0.url", "postgresql://sinc:${SENHA_LOJA}@db/loja"))
    assert any("SENHA_LOJA" in p and p.startswith("stores[0].url") for p in found)


def test_load_settings_reports_yaml_line(tmp_path):
    f = tmp_path / "sinc.yaml"
    f.write_text("origin:\n  url: [unclosed\nstores: []\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    assert "linha" in str(err.value) and str(f) in str(err.value)



FISCAL = {"table": "documentos_fiscais"}


def with_fiscal(raw: dict) -> dict:
    raw["fiscal"] = dict(FISCAL)
    raw["tables"].append({"name": "documentos_fiscais", "direction": "send", "key": ["loja_id", "id"],
                          "scoped": True, "group": "venda"})
    return raw


def test_store_id_longer_than_the_state_column_is_refused():
    from sinc_pipeline.fiscal.quarantine import quarantine_table
    from sinc_pipeline.settings.validation import STORE_ID_MAX
    from sinc_pipeline.sync.state import state_table

    assert STORE_ID_MAX == state_table.c.loja.type.length == quarantine_table("q").c.loja.type.length
    assert parse_settings(with_("stores.0.id", "l" * STORE_ID_MAX)).stores[0].id == "l" * STORE_ID_MAX
    found = problems(with_("stores.0.id", "l" * (STORE_ID_MAX + 1)))
    assert any(p.startswith("stores[0].id:") and "65 caracteres" in p and "64" in p and "Dica:" in p for p in found)


@pytest.mark.parametrize("field", ["nfce_series", "contingency_series"])
def test_a_store_without_nfce_or_contingency_series_is_refused_when_it_sends_documents(field):
    raw = with_fiscal(copy.deepcopy(BASE))
    assert parse_settings(raw).fiscal is not None
    del raw["stores"][1][field]
    found = problems(raw)
    assert any(p.startswith(f"stores[1].{field}:") and "loja_02" in p and "documentos_fiscais" in p
               and "Dica:" in p for p in found), found
    # without the fiscal section, or when the documents table is not sent, a store needs no series
    raw.pop("fiscal")
    assert getattr(parse_settings(raw).stores[1], field) is None
    raw = with_fiscal(copy.deepcopy(BASE))
    raw["tables"] = raw["tables"][:2]
    del raw["stores"][1][field]
    parse_settings(raw)


@pytest.mark.parametrize("text,digits,octal", [
    ("04321076000170", "04321076000170", True),      # leading 0, digits 0-7: YAML 1.1 reads it as octal
    ("11222333000181", "11222333000181", False),     # a plain number
])
def test_a_cnpj_read_by_yaml_as_a_number_is_explained(tmp_path, text, digits, octal):
    f = tmp_path / "sinc.yaml"
    f.write_text(yaml.safe_dump(BASE).replace('cnpj: \'11222333000181\'', f"cnpj: {text}"), encoding="utf-8")
    assert f"cnpj: {text}" in f.read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    (p,) = [p for p in err.value.problems if p.startswith("stores[0].cnpj")]
    assert ("octal" in p) is octal and "aspas" in p and f'cnpj: "{digits}"' in p, p


def test_a_password_with_url_characters_is_encoded_and_a_broken_url_hides_it(monkeypatch):
    from sqlalchemy.engine import make_url

    monkeypatch.setenv("SENHA_LOJA", "p@ss:w/rd%1")
    monkeypatch.setenv("USUARIO", "op@loja")
    url = parse_settings(with_("stores.0.url", "postgresql://${USUARIO}:${SENHA_LOJA}@db:5432/loja")).stores[0].url
    u = make_url(url)
    assert (u.username, u.password, u.host, u.port, u.database) == ("op@loja", "p@ss:w/rd%1", "db", 5432, "loja")
    # outside the user/password part a value is taken as it is
    assert parse_settings(with_("stores.0.url", "sqlite:///${SENHA_LOJA}.db")).stores[0].url == "sqlite:///p@ss:w/rd%1.db"
    found = problems(with_("stores.0.url", "postgresql://sinc:s3gr3d0@@host:porta/x"))
    assert any(p.startswith("stores[0].url:") and "sinc:***@" in p for p in found) and "s3gr3d0" not in str(found)


def _twoway_raw(**table):
    return {"origin": {"url": "sqlite:///o.db"},
            "stores": [{"id": "loja_01", "url": "sqlite:///l.db", "filter": {"loja_id": 1}, "cnpj": "11222333000181"}],
            "tables": [{"name": "clientes", "direction": "both", "scoped": True, **table}]}


@pytest.mark.parametrize("table,fragment", [
    ({"key": ["id"]}, "não se torna única por loja"),
    ({"key": ["loja_id", "id"], "scoped": False}, "precisa ser escopada"),
    ({"key": ["loja_id", "id"], "origin_columns": ["fone"], "store_columns": ["fone"]}, "dois donos"),
    ({"key": ["loja_id", "id"], "cursor": "alterado"}, "não usa cursor"),
    ({"key": ["loja_id", "id"], "cursor": "alterado", "capture": "journal"}, "não usa cursor"),
])
def test_two_way_tables_are_refused_when_keys_or_rules_cannot_hold(table, fragment):
    from sinc_pipeline.core.errors import ConfigError
    from sinc_pipeline.settings import parse_settings
    with pytest.raises(ConfigError, match=fragment):
        parse_settings(_twoway_raw(**table))


@pytest.mark.parametrize("table", [{"key": ["loja_id", "id"]}, {"key": ["loja_id", "id"], "capture": "journal"},
                                   {"key": ["id"], "key_scheme": "uuid"},
                                   {"key": ["id"], "key_scheme": "store_prefix", "conflicts": {"newest_wins": "x"}}])
def test_two_way_tables_with_a_key_unique_by_store_load(table):
    from sinc_pipeline.settings import parse_settings
    st = parse_settings(_twoway_raw(**table))
    assert st.tables[0].direction == "both" and st.tables[0].delete_policy == "propagate"


def test_tick_shards_and_executor_default_to_one_op_in_process_and_are_checked(monkeypatch):
    tick = parse_settings(copy.deepcopy(BASE)).tick
    assert (tick.shards, tick.executor, tick.sharded, tick.celery.queue) == (1, "in_process", False, "dagster")
    assert parse_settings(with_("tick", {"executor": "celery"})).tick.sharded        # celery: always the graph
    monkeypatch.setenv("SENHA_FILA", "s3nh@")
    celery = parse_settings(with_("tick", {"celery": {"broker": "amqp://sinc:${SENHA_FILA}@fila//"}})).tick.celery
    assert celery.broker == "amqp://sinc:s3nh%40@fila//"                             # expanded, URL-encoded
    found = problems(with_("tick", {"shards": 0, "executor": "k8s", "celery": {"queue": "a b"}}))
    assert [p.split(":")[0] for p in found] == ["tick.shards", "tick.executor", "tick.celery.queue"]
    assert "-Q" in found[2]
