"""Full-text search (BM25, DuckDB's fts extension) over article titles and clean text.

An fts index lives in a DuckDB database, not in DuckLake, so the home keeps a derived
`search.duckdb`: it is rebuilt at the end of each run that landed articles (and whenever it is
missing), from the lake's current snapshot. DuckDB's fts index cannot be updated in place and a
rebuild costs about a minute per 100k articles, so above `SYNC_MAX_ARTICLES` the run does not wait
for it: a detached process (`python -m warehouse.search HOME`) rebuilds it from a private copy of the
catalog, one at a time per home (`HOME/.search.lock`; a run that ends meanwhile leaves
`HOME/.search.stale` and the rebuild goes round once more). Until it finishes, search answers from the
previous index; its log is `HOME/search.log`. It holds the text it indexes, so a search never
touches the lake or its catalog; deleting the file is safe (the next run, or `corpus search`
itself, builds it again). The writer builds the new index under a temporary name and renames it over
the old one: a search running meanwhile keeps reading the old file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import duckdb

from warehouse import lake as lk
from warehouse.paths import HomeLayout

SNIPPET_CHARS = 220
SYNC_MAX_ARTICLES = 5000  # up to this many articles a run rebuilds the index itself (a few seconds)
# DuckDB's buffer memory while the index is built (it spills to disk beyond it): left to DuckDB's default
# (80 % of RAM), the rebuild over 100k articles took 1.6 GB beside the run that started it
BUILD_MEMORY_LIMIT = "512MB"


def build_index(layout: HomeLayout, con: duckdb.DuckDBPyConnection, lake_name: str) -> int:
    """Write HOME/search.duckdb from the attached lake `lake_name` (read on `con`); returns articles indexed."""
    dest = layout.search_db
    tmp = dest.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{dest.name}")
    alias = f"search_{uuid.uuid4().hex[:8]}"
    con.execute(f"ATTACH {lk.sql_str(str(tmp))} AS {alias}")
    try:
        con.execute(
            f"CREATE TABLE {alias}.docs AS SELECT a.article_id, a.title, "
            f"coalesce(a.sitename, a.source_name) AS outlet, a.published, a.clean_text, "
            f"(SELECT list(DISTINCT m.entity_id) FROM {lake_name}.mentions m WHERE m.article_id = a.article_id) "
            f"AS entities FROM {lake_name}.articles a"
        )
        n = con.execute(f"SELECT count(*) FROM {alias}.docs").fetchone()[0]
    finally:
        con.execute(f"DETACH {alias}")
    try:
        idx = duckdb.connect(str(tmp), config={"memory_limit": BUILD_MEMORY_LIMIT})
        try:
            lk.load(idx, "fts")
            idx.execute("PRAGMA create_fts_index('docs', 'article_id', 'title', 'clean_text', overwrite = 1)")
            idx.execute("CHECKPOINT")
        finally:
            idx.close()
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return n


def _build_from_copy(layout: HomeLayout) -> int:
    """Build the index from a private copy of the catalog: never blocks (nor waits for) a writer."""
    from warehouse.reader import open_lake_copy

    con, tmp = open_lake_copy(layout)
    try:
        con.execute("SET temp_directory = " + lk.sql_str(str(tmp)))
        con.execute(f"SET memory_limit = {lk.sql_str(BUILD_MEMORY_LIMIT)}")
        return build_index(layout, con, lk.LAKE)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _ensure_index(home: Path) -> Path:
    layout = HomeLayout(home)
    if not layout.search_db.exists():
        _build_from_copy(layout)
    return layout.search_db


def _stale_marker(layout: HomeLayout) -> Path:
    return layout.home / ".search.stale"


def refresh_in_background(layout: HomeLayout) -> None:
    """Start a detached rebuild of the index and return at once (see the module docstring)."""
    _stale_marker(layout).touch()
    env = {k: v for k, v in os.environ.items() if k != "CORPUS_RUN_TOKEN"}  # not a child the watchdog ends
    with open(layout.home / "search.log", "ab") as log:
        subprocess.Popen(  # our own module, by the running interpreter, no shell
            [sys.executable, "-m", "warehouse.search", str(layout.home)], stdin=subprocess.DEVNULL, stdout=log,
            stderr=log, env=env, start_new_session=True, close_fds=True)


def rebuild_while_stale(home: Path) -> int:
    """Rebuild until no run has asked for another; 0 when another process is already at it (it goes
    round again for us: we leave the stale marker). Returns the rebuilds done."""
    from filelock import FileLock, Timeout

    layout = HomeLayout(home)
    marker = _stale_marker(layout)
    try:
        with FileLock(str(layout.home / ".search.lock"), timeout=0):
            done = 0
            while marker.exists():
                marker.unlink(missing_ok=True)
                _build_from_copy(layout)
                done += 1
            return done
    except Timeout:
        return 0


def _terms(query: str) -> list[str]:
    return [t for t in re.findall(r"\w+", query.lower()) if len(t) > 1]


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """A window of `text` around the first query word, with every query word in [brackets]."""
    text = " ".join((text or "").split())
    terms = _terms(query)
    if not terms:
        return text[:width]
    pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\w*", re.IGNORECASE)
    m = pattern.search(text)
    start = max(0, (m.start() if m else 0) - width // 3)
    window = text[start:start + width]
    shown = pattern.sub(lambda x: f"[{x.group(0)}]", window)
    return ("…" if start else "") + shown + ("…" if start + width < len(text) else "")


def search(home: Path, query: str, entity: str | None = None, since: str | None = None,
           limit: int = 10) -> list[dict[str, Any]]:
    """The best-matching articles by BM25 (title and clean text), newest index of the home."""
    from warehouse.store import WarehouseError

    if not _terms(query):
        raise WarehouseError("give at least one word to search for")
    since_date = None
    if since:
        try:
            since_date = dt.date.fromisoformat(since)
        except ValueError:
            raise WarehouseError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    path = _ensure_index(home)
    con = duckdb.connect(str(path), read_only=True)
    try:
        lk.load(con, "fts")
        rows = con.execute(
            "SELECT article_id, title, outlet, published, clean_text, score FROM ("
            "  SELECT *, fts_main_docs.match_bm25(article_id, ?) AS score FROM docs) "
            "WHERE score IS NOT NULL AND (? IS NULL OR list_contains(entities, ?)) "
            "AND (?::DATE IS NULL OR published >= ?::DATE) ORDER BY score DESC, article_id LIMIT ?",
            [query, entity, entity, since_date, since_date, int(limit)],
        ).fetchall()
    finally:
        con.close()
    return [
        {"article_id": aid, "title": title, "outlet": outlet, "date": published.isoformat() if published else None,
         "score": float(score), "snippet": snippet(text, query)}
        for aid, title, outlet, published, text, score in rows
    ]


# The detached rebuild is background work (~40 s of a core per 100k articles after every run that landed
# something): it yields the CPU to runs and commands, so `corpus add --now` does not wait behind it.
REBUILD_NICENESS = 19


def detached_main(home: str) -> str:
    """The detached rebuild (`python -m warehouse.search HOME`): lowest CPU priority, then rebuild; its log line."""
    nice = os.nice(REBUILD_NICENESS)
    done = rebuild_while_stale(Path(home))
    return f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} rebuilds: {done} (nice {nice})"


if __name__ == "__main__":  # the detached rebuild started by refresh_in_background
    print(detached_main(sys.argv[1]), flush=True)
