"""Every manifest field a restore trusts, checked before anything is written (pure, no I/O).

``manifest_problems(m, now)``: the id's time is ``created_at`` and not in the future; each table's
key is among its columns, its row count and size are not negative, its declarations name columns
and tables that exist; each cursor row belongs to the snapshot's store, names a direction and a
known type, its value parses, and a date/time cursor is not after the snapshot was taken (a
cursor in 2099 would make the restored store skip every change until then).
``content_problems(entry, table)``: the file's rows, columns and content checksum are the
manifest's (a checksum edited in the manifest is caught here, not after the load).
"""
from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa

from sinc_pipeline.io.checksum import table_checksum
from sinc_pipeline.io.declared import Declared
from sinc_pipeline.snapshots.manifest import OPERACAO, Manifest, TableEntry, _stamp_of

CLOCK_SKEW = dt.timedelta(days=1)    # naive local timestamps vs the UTC creation time, clocks apart
DIRECTIONS = ("send", "receive")
_DECODE = {"datetime": dt.datetime.fromisoformat, "date": dt.date.fromisoformat, "decimal": decimal.Decimal,
           "int": int, "float": float, "str": str}


def created_at(m: Manifest) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(m.created_at)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _naive_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _cursor_problems(m: Manifest, when: dt.datetime | None) -> list[str]:
    out = []
    latest = None if when is None else _naive_utc(when) + CLOCK_SKEW
    for side in ("loja", "origem"):
        rows = m.cursors.get(side, [])
        if not isinstance(rows, list):
            out.append(f"cursores '{side}' = {rows!r} inválidos (esperado lista)")
            continue
        for i, r in enumerate(rows):
            ctx = f"cursores '{side}'[{i}]"
            if not isinstance(r, dict):
                out.append(f"{ctx} = {r!r} inválido (esperado objeto)")
                continue
            if r.get("loja") != m.store:
                out.append(f"{ctx}: loja {r.get('loja')!r} não é a do snapshot ({m.store!r})")
            if not isinstance(r.get("tabela"), str) or not r["tabela"] or len(r["tabela"]) > 128:
                out.append(f"{ctx}: tabela {r.get('tabela')!r} inválida")
            if r.get("direcao") not in DIRECTIONS:
                out.append(f"{ctx}: direcao {r.get('direcao')!r} inválida (esperado send ou receive)")
            kind, text = r.get("cursor_tipo"), r.get("cursor_valor")
            if text is not None and (kind not in _DECODE or not isinstance(text, str)):
                out.append(f"{ctx}: cursor_tipo {kind!r} / cursor_valor {text!r} inválidos")
                continue
            try:
                value = _DECODE[kind](text) if text is not None else None
                stamp = r.get("atualizado_em")
                stamp = dt.datetime.fromisoformat(stamp) if stamp is not None else None
            except (TypeError, ValueError, decimal.InvalidOperation):
                out.append(f"{ctx}: valor {text!r} ({kind}) ou atualizado_em {r.get('atualizado_em')!r} ilegível")
                continue
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                value = dt.datetime.combine(value, dt.time())
            for name, v in (("cursor_valor", value), ("atualizado_em", stamp)):
                if latest is not None and isinstance(v, dt.datetime) and _naive_utc(v) > latest:
                    out.append(f"{ctx}: {name} {v.isoformat()} (tabela {r.get('tabela')!r}) é posterior à criação "
                               f"do snapshot ({m.created_at})")
    return out


def manifest_problems(m: Manifest, now: dt.datetime | None = None) -> list[str]:
    """What in ``m`` a restore could not trust; see the module docstring."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    when = created_at(m)
    if when is None:
        out.append(f"created_at {m.created_at!r} ilegível")
    else:
        if _stamp_of(m.id) != when:
            out.append(f"created_at {m.created_at!r} não é o instante do id {m.id!r}")
        if when > now + CLOCK_SKEW:
            out.append(f"created_at {m.created_at!r} está no futuro")
    tables = {name: [c.name for c in e.columns if c.name != OPERACAO] for name, e in m.tables.items()}
    for name, e in m.tables.items():
        ctx = f"tabela {name!r}"
        names = [c.name for c in e.columns]
        if not e.key or not set(e.key) <= set(names) or OPERACAO in e.key:
            out.append(f"{ctx}: chave {e.key} não está entre as colunas {names}")
        if (e.rows is not None and e.rows < 0) or (e.bytes is not None and e.bytes < 0):
            out.append(f"{ctx}: rows {e.rows} / bytes {e.bytes} negativos")
        if e.declared is not None:
            declared = Declared.from_dict(e.declared, out, f"tables.{name}.declared.")
            if declared is not None:
                out += [f"{ctx}: {p}" for p in declared.problems_with(tables[name], tables)]
    return out + _cursor_problems(m, when)


def content_problems(entry: TableEntry, table: pa.Table, where: str) -> list[str]:
    """The file's rows, columns and content checksum against the manifest's entry."""
    out = []
    got = [(f.name, str(f.type)) for f in table.schema]
    want = [(c.name, c.type) for c in entry.columns]
    if got != want:
        out.append(f"{where}: colunas {got} diferem do manifesto {want}")
    rows, checksum = table_checksum(table.to_batches(), entry.checksum_version)
    if rows != entry.rows:
        out.append(f"{where}: {rows} linhas no arquivo, o manifesto diz {entry.rows}")
    if checksum != entry.checksum:
        out.append(f"{where}: checksum do conteúdo {checksum} difere do manifesto ({entry.checksum})")
    return out
