"""Every query in docs/queries.md runs against the sample corpus (and returns rows where marked)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from warehouse import connect_readonly

DOC = Path(__file__).resolve().parents[1] / "docs" / "queries.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_doc_has_ten_queries():
    assert len(QUERIES) >= 10


@pytest.mark.parametrize("sql", QUERIES, ids=[f"q{i + 1}" for i in range(len(QUERIES))])
def test_query_runs(sample_home, sql):
    con = connect_readonly(sample_home)
    rows = con.execute(sql).fetchall()
    if "-- expect: rows" in sql:
        assert rows, "the samples should give rows for this query"


README = Path(__file__).resolve().parents[1] / "README.md"
README_SQL = [q.strip() for block in re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
              for q in block.split(";") if q.strip() and not q.strip().startswith("--") or "SELECT" in q]


def test_readme_has_example_queries():
    assert len(README_SQL) >= 3


@pytest.mark.parametrize("sql", README_SQL, ids=[f"readme{i + 1}" for i in range(len(README_SQL))])
def test_readme_query_runs_and_returns_rows(sample_home, sql):
    con = connect_readonly(sample_home)
    assert con.execute(sql).fetchall()


def test_readme_cli_commands_exist():
    """Every `corpus <command>` the README names is a real command (its --help exits 0)."""
    import subprocess

    from tests.conftest import BIN

    named = set(re.findall(r"`corpus ((?:quarantine |entities )?[a-z]+)", README.read_text(encoding="utf-8")))
    assert {"ingest", "add", "sql", "status", "serve", "renormalize"} <= named
    for cmd in sorted(named):
        proc = subprocess.run([str(BIN / "corpus"), *cmd.split(), "--help"], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, f"corpus {cmd} --help: {proc.stderr}"
