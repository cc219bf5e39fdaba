"""Errors a user can cause, each carrying its parts: what, where, the value, a hint, the cause.

    SincError                  base of everything sinc_pipeline raises on purpose
    ├── ConfigError            the YAML file is invalid (carries every problem found)
    ├── SchemaError            a table/column named by the config is missing in a database
    ├── DatabaseUnreachable    a database could not be reached (URL shown without password)
    ├── DatabaseFailed         a database failed in the middle of a step (connection lost, locked...)
    ├── DataError              the data itself is wrong (duplicate keys, bad values)
    └── LockedError            another run for the same store is in progress

The parts are kept apart so the Dagster UI (a Failure's metadata), the CLI's ``--json`` and
the logs all show the same facts; ``str(err)`` joins them into one pt-BR sentence. Call sites
that still pass one pre-formatted text keep working: it becomes ``what``.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import make_url


def driver_message(err: BaseException) -> str:
    """The first line of what the driver said, without SQLAlchemy's wrapping and SQL echo.

    The one place that digs a DBAPI error's own text out of SQLAlchemy's exception."""
    inner = getattr(err, "orig", None) or err
    text = str(inner).strip()
    first = text.splitlines()[0].strip() if text else ""
    return f"{type(inner).__name__}: {first}" if first else type(inner).__name__


def hide_password(text: str, url) -> str:
    """``text`` with the password of ``url`` (if any) replaced by ``***``."""
    try:
        password = make_url(url).password if url else None
    except Exception:  # noqa: BLE001 - an unparsable URL has no password to hide
        password = None
    return text.replace(password, "***") if password else text


class SincError(Exception):
    """Base class. Parts: ``what`` happened, ``where`` (store, table, column, file, step),
    the offending ``value``, a ``hint`` to fix it, the ``cause`` (driver or OS message)."""

    code = "erro"

    def __init__(self, what: str, *, where: str | None = None, value: Any = None,
                 hint: str | None = None, cause: str | None = None):
        self.what, self.where, self.value, self.hint, self.cause = what, where, value, hint, cause
        super().__init__(self._compose())

    def _compose(self) -> str:
        text = self.what.rstrip()
        if self.where:
            text += f" ({self.where})"
        if self.value is not None:
            text += f" (valor: {self.value!r})"
        if self.cause:
            text += f" — {self.cause}"
        if self.hint:
            text = text.rstrip(".") + f". Dica: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The parts as plain JSON-able values; ``mensagem`` is the full sentence."""
        return {"tipo": type(self).__name__, "codigo": self.code, "o_que": self.what,
                "onde": self.where, "valor": None if self.value is None else str(self.value),
                "dica": self.hint, "causa": self.cause, "mensagem": str(self)}


class ConfigError(SincError):
    code = "configuracao"

    def __init__(self, problems: list[str], source: str = "configuração"):
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Configuração inválida ({source}): {len(problems)} erro(s)\n{lines}",
                         where=None)

    def _compose(self) -> str:  # the problem list is the message; each problem has its own hint
        return self.what

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "onde": self.source, "problemas": list(self.problems)}


class SchemaError(SincError):
    code = "esquema"


class DatabaseUnreachable(SincError):
    code = "banco_inacessivel"


class DatabaseFailed(SincError):
    code = "banco_falhou"


class DataError(SincError):
    code = "dados"


class LockedError(SincError):
    code = "em_andamento"


def database_failed(err: BaseException, *, role: str, url, step: str,
                    table: str | None = None) -> DatabaseFailed:
    """A driver error raised mid-step (server shut down, connection lost, database locked,
    value too long) as a :class:`DatabaseFailed` naming the database (password hidden), the
    table and the step; the transaction it happened in has been rolled back by then."""
    from sinc_pipeline.core.db import redact  # late: db imports this module

    table = getattr(err, "sinc_table", None) or table     # the writer names the table it was writing
    key = getattr(err, "sinc_key", None)                  # ... and the keys of the rows (io/isolate.py)
    where = (f"banco {role} {redact(url)}" + (f", tabela {table!r}" if table else "") + (f", {key}" if key else "")
             + f", etapa {step}")
    cause = hide_password(driver_message(err), url)
    if "locked" in cause.lower() or "lock wait timeout" in cause.lower() or "deadlock" in cause.lower():
        hint = ("outro processo está gravando neste banco (outra execução, o PDV, uma ferramenta); "
                "espere-o terminar e rode de novo")
    elif any(w in cause.lower() for w in ("too long", "out of range", "overflow", "truncat", "incorrect")):
        hint = "aumente a coluna no destino ou corrija o valor na origem dos dados, e rode de novo"
    else:
        hint = "confira se o servidor está no ar e a rede, e rode de novo: a sincronização retoma de onde parou"
    return DatabaseFailed(
        "O banco falhou no meio da etapa; a transação foi desfeita e nada desta etapa foi gravado",
        where=where, cause=cause, hint=hint)


_DRIVER_MODULES = frozenset({"sqlite3", "_sqlite3", "psycopg", "psycopg2", "pymysql", "MySQLdb", "mariadb",
                             "adbc_driver_manager", "adbc_driver_postgresql", "adbc_driver_sqlite"})


def is_driver_error(err: BaseException) -> bool:
    """An error raised by a database (through SQLAlchemy or a driver used directly), as opposed
    to one of ours or a bug; these are the ones :func:`naming_failures` names."""
    import sqlalchemy.exc as sa_exc

    if isinstance(err, SincError):
        return False
    if isinstance(err, sa_exc.DBAPIError | sa_exc.PendingRollbackError | sa_exc.ResourceClosedError):
        return True
    return type(err).__module__.split(".")[0] in _DRIVER_MODULES


@contextlib.contextmanager
def naming_failures(step: str, *, role: str, url, table: str | None = None) -> Iterator[None]:
    """Driver errors raised inside become :class:`DatabaseFailed` naming ``role``'s database,
    ``table`` and ``step``; errors of ours and bugs pass through unchanged."""
    try:
        yield
    except Exception as err:
        if is_driver_error(err):
            raise database_failed(err, role=role, url=url, step=step, table=table) from err
        raise
