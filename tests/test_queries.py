"""Every query in docs/queries.md runs against the sample corpus (and returns rows where marked)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "queries.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_doc_has_ten_queries():
    assert len(QUERIES) >= 10


@pytest.mark.parametrize("sql", QUERIES, ids=[f"q{i + 1}" for i in range(len(QUERIES))])
def test_query_runs(sample_home, sql):
    con = duckdb.connect(str(sample_home / "corpus.duckdb"), read_only=True)
    rows = con.execute(sql).fetchall()
    if "-- expect: rows" in sql:
        assert rows, "the samples should give rows for this query"
