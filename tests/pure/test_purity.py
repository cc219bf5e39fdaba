"""The pure tests stay pure: no Dagster behind the modules they use, no database (conftest.py)."""
from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def imported_modules() -> list[str]:
    """Every ``sinc_pipeline`` module imported anywhere in tests/pure (module level or inside a
    test), plus the test modules themselves; ``from M import N`` counts M, and M.N when N is a
    module."""
    found: set[str] = set()
    for path in sorted(HERE.glob("*.py")):
        found.add(f"tests.pure.{path.stem}" if path.stem != "__init__" else "tests.pure")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.split(".")[0] == "sinc_pipeline")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] == "sinc_pipeline":
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)   # kept if it is a module
    return sorted(found)


PROBE = """
import importlib, importlib.util, json, sys
first, imported = None, []
for name in json.loads(sys.argv[1]):
    parent = name.rpartition(".")[0]
    if parent and parent in sys.modules and not hasattr(sys.modules[parent], "__path__"):
        continue                         # `from module import name`: not a submodule
    if parent and importlib.util.find_spec(name) is None:
        continue
    importlib.import_module(name)
    imported.append(name)
    if first is None and "dagster" in sys.modules:
        first = name
print(json.dumps({"imported": imported, "first_with_dagster": first,
                  "dagster": sorted(m for m in sys.modules if m == "dagster" or m.startswith("dagster."))[:5]}))
"""


def test_modules_used_by_pure_tests_do_not_import_dagster():
    modules = imported_modules()
    assert "sinc_pipeline.sync.diff" in modules and "tests.pure.test_snapshots" in modules   # the scan works
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(modules)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["first_with_dagster"] is None, (
        f"importing {result['first_with_dagster']} loads Dagster ({result['dagster']}); the modules pure tests "
        "use must not import Dagster")
    assert {"sinc_pipeline.snapshots", "sinc_pipeline.io.writer", "tests.pure.test_diff"} <= set(result["imported"])


def test_the_guard_refuses_databases(no_database, tmp_path):
    with pytest.raises(pytest.fail.Exception, match="tests/pure must not touch a database"):
        sa.create_engine("sqlite://")
    with pytest.raises(pytest.fail.Exception, match="SQLAlchemy engine"):
        sa.engine.create_engine("sqlite://")          # another path to the same function
    with pytest.raises(pytest.fail.Exception, match="sqlite3.connect"):
        sqlite3.connect(str(tmp_path / "x.db"))
    from sinc_pipeline.core.db import get_engine
    with pytest.raises(pytest.fail.Exception):
        get_engine(f"sqlite:///{tmp_path / 'y.db'}")
    import psycopg
    with pytest.raises(pytest.fail.Exception, match="psycopg"):
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    import pymysql
    with pytest.raises(pytest.fail.Exception, match="PyMySQL"):
        pymysql.connect(host="127.0.0.1", user="root")
    from sinc_pipeline.io.fastread import FastReader
    with pytest.raises(pytest.fail.Exception, match="ADBC"):
        FastReader("postgresql://postgres@127.0.0.1:5432/postgres")
    assert not list(tmp_path.iterdir())               # nothing was created
    no_database.clear()                               # these attempts were the point of this test


def test_only_defs_and_cli_import_dagster():
    """Not even a late import inside a function: the core stays free of Dagster."""
    package = ROOT / "sinc_pipeline"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] in ("defs", "cli") or rel.name == "definitions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            if any(n.split(".")[0] == "dagster" for n in names):
                offenders.append(f"{rel}:{node.lineno}")
    assert len(list(package.rglob("*.py"))) > 40                     # the scan sees the package
    assert not offenders, f"Dagster imported outside defs/ and cli/: {offenders}"
