"""A ``SincError`` as a Dagster ``Failure``: the one place the two meet.

The description is the error's full sentence (what the run summary and the UI's headline
show); the metadata are its parts from ``SincError.to_dict()`` (tipo, codigo, o_que, onde,
valor, dica, causa, mensagem), without the parts the error does not have.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dagster import Failure

from sinc_pipeline.core.errors import SincError


def failure_metadata(err: SincError) -> dict:
    """The error's parts as Failure metadata; parts that are None are left out."""
    return {k: v for k, v in err.to_dict().items() if v is not None}


def as_failure(err: SincError) -> Failure:
    return Failure(description=str(err), metadata=failure_metadata(err))


@contextlib.contextmanager
def failures_as_dagster() -> Iterator[None]:
    """Re-raise a ``SincError`` raised in the block as ``as_failure(err)`` (without the chained
    traceback: the error's text is the message the user needs)."""
    try:
        yield
    except SincError as err:
        raise as_failure(err) from None
