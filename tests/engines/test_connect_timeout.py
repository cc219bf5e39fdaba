"""A database that accepts the connection but never answers fails within the connect timeout,
naming the store, instead of holding its run (and its store's next ticks) for ever."""
from __future__ import annotations

import socket
import time

import pytest

from sinc_pipeline.core.db import CONNECT_TIMEOUT_S, _normalize, connect
from sinc_pipeline.core.errors import DatabaseUnreachable


@pytest.fixture
def silent_server():
    """A TCP port whose kernel completes the handshake (listen backlog) but no one ever answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield srv.getsockname()[1]
    srv.close()


@pytest.mark.parametrize("scheme", ["postgresql+psycopg://u@127.0.0.1:{port}/db",
                                    "mysql+pymysql://u@127.0.0.1:{port}/db"])
def test_a_store_that_never_answers_fails_within_the_timeout_naming_it(silent_server, scheme):
    url = scheme.format(port=silent_server) + "?connect_timeout=2"
    t0 = time.monotonic()
    with pytest.raises(DatabaseUnreachable) as exc:
        with connect(url, "da loja loja_07"):
            pass
    elapsed = time.monotonic() - t0
    assert elapsed < 8, elapsed
    assert "loja_07" in str(exc.value) and str(silent_server) in str(exc.value)


@pytest.mark.parametrize("url", ["postgresql://u:p@h/db", "mariadb://u@h/db", "mysql+pymysql://u@h/db"])
def test_server_urls_get_a_connect_timeout_unless_they_set_one(url):
    assert _normalize(url).query["connect_timeout"] == str(CONNECT_TIMEOUT_S)
    assert _normalize(url + "?connect_timeout=3").query["connect_timeout"] == "3"
    assert "connect_timeout" not in _normalize("sqlite:///x.db").query


def test_the_connect_timeout_does_not_limit_a_long_query_on_mariadb(make_db):
    url = make_db("mariadb") + "?connect_timeout=1"
    with connect(url, "da loja loja_07") as conn:
        assert conn.exec_driver_sql("SELECT SLEEP(2)").scalar() == 0
