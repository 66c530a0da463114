"""Full-text search (BM25, DuckDB's fts extension) over article titles and clean text, in two levels.

An fts index lives in a DuckDB database, not in DuckLake, and DuckDB's fts index cannot be updated in
place: the home keeps two derived files, each with its own `docs` table, fts index and `meta` table (index
version, the lake's identity and the lake snapshot it was read at).

- The BASE, `search.duckdb`: every article of a snapshot. Rebuilding it costs about 40 s of a core per 100k
  articles, so it is rebuilt only when the corpus is small (up to `SYNC_MAX_ARTICLES`, by the run itself) or
  when something makes it unusable or too old: missing, corrupt, another index version or another lake
  (a migrated home), its snapshot expired, or more than `delta_bound(n)` articles changed since.
  Above `SYNC_MAX_ARTICLES` the run does not wait for it: a detached process (`python -m warehouse.search
  HOME`, nice 19, DuckDB held to `BUILD_MEMORY_LIMIT`) rebuilds it from a private copy of the catalog, one
  at a time per home (`HOME/.search.lock`; a run that ends while it runs or starts asks for no other: its
  articles are in the delta; `HOME/.search.stale` asks for a round); its log is `HOME/search.log`.
- The DELTA, `search-delta.duckdb`: the articles that changed since the base's snapshot, found with
  DuckLake's `ducklake_table_changes` on `articles` and `mentions` (it reads only the files written since),
  plus `tombstones`, the ids whose base row is out of date (replaced, removed, re-linked). A run that lands
  articles into a big corpus rebuilds only this file, synchronously (a fraction of a second for a few
  articles), as long as the changes are at most `DELTA_SYNC_MAX` articles. A delta that cannot be written
  is logged in search.log and hands its articles to a base rebuild (the previous delta keeps answering).

`search()` asks both and returns one ranked list: the base's hits minus the tombstoned ids, and the
delta's. The delta's BM25 statistics (document count, average length, each term's document frequency) are
rewritten to those of base + delta when it is built, so its scores are on the base's scale. A delta is used
only when it is newer than the base (a base rebuilt since folds it in) and was built on a base no newer
than the one read. Every file is written under a temporary name and renamed over the old one: a search
running meanwhile keeps reading the old file, and a killed rebuild leaves the previous file answering (the
next run asks again). The files hold the text they index, so a search never touches the lake or its
catalog; deleting them is safe (the next run, or `corpus search` itself, builds them again).
"""

from __future__ import annotations

import datetime as dt
import math
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
SYNC_MAX_ARTICLES = 5000  # up to this many articles a run rebuilds the base itself (a few seconds)
# DuckDB's buffer memory while the index is built (it spills to disk beyond it): left to DuckDB's default
# (80 % of RAM), the rebuild over 100k articles took 1.6 GB beside the run that started it
BUILD_MEMORY_LIMIT = "512MB"
INDEX_VERSION = "2"  # the meta table and the delta file; an index of another version is rebuilt
# The base is rebuilt once more than delta_bound(n) articles changed since it. Measured over 100k articles
# (BENCHMARKS.md): the delta costs about 1.0 ms of CPU per article it holds, rebuilt by every run, and a base
# rebuild about 0.7 ms per article of the corpus. Over the B runs of one add each between two base rebuilds,
# the CPU per run is about 1.0 ms × B/2 + 0.7 ms × n/B, least at B = sqrt(2 × 0.7/1.0 × n): 370 at 100k
# articles (≈ 0.2 s of delta on average, 0.4 s at the bound), 1,200 at 1M.
DELTA_BOUND_FACTOR = 1.4
DELTA_MIN_ARTICLES = 100
DELTA_SYNC_MAX = 5000  # a run rebuilds the delta itself up to this many changed articles (about 5 s of CPU)


def delta_bound(n_base: int) -> int:
    """How many changed articles the delta holds before the base is rebuilt (it folds them in)."""
    return max(DELTA_MIN_ARTICLES, int(math.sqrt(DELTA_BOUND_FACTOR * n_base)))


def delta_path(layout: HomeLayout) -> Path:
    return layout.home / "search-delta.duckdb"


def _lake_state(con: duckdb.DuckDBPyConnection, lake_name: str) -> tuple[int, str]:
    """(the current snapshot id, the lake's identity: its catalog's creation time) of the attached lake."""
    snap = con.execute(f"SELECT max(snapshot_id) FROM {lake_name}.snapshots()").fetchone()[0]
    row = con.execute(f"SELECT value FROM {lake_name}._meta WHERE key = 'created_at'").fetchone()
    return int(snap), (row[0] if row else "")


def _rows(path: Path, sql: str) -> list[tuple] | None:
    """The rows of `sql` on the index file at `path`, opened read-only; None when the file is missing, does
    not open or cannot answer."""
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        return con.execute(sql).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()


def read_meta(path: Path) -> dict[str, str] | None:
    """The meta table of an index file; None when it is missing, unreadable or of another version."""
    rows = _rows(path, "SELECT key, value FROM meta")
    meta = dict(rows) if rows is not None else {}
    return meta if meta.get("version") == INDEX_VERSION else None


# The columns of an article the index holds (its `docs` table adds `entities`: the article's entity ids).
_DOC_COLUMNS = "article_id, title, coalesce(sitename, source_name) AS outlet, published, clean_text"


def _docs_sql(lake_name: str) -> str:
    """Every article of the lake, as the index holds it."""
    return (f"SELECT {_DOC_COLUMNS}, (SELECT list(DISTINCT m.entity_id) FROM {lake_name}.mentions m "
            f"WHERE m.article_id = a.article_id) AS entities FROM {lake_name}.articles a")


def _delta_docs_sql(lake_name: str, since: int, until: int, ids: list[str], relinked: list[str]) -> str:
    """The current rows of the changed articles `ids`. An article's last change after `since` (DuckLake's
    ducklake_table_changes reads only the files written since) is its current row, or its removal; the ids
    whose mentions alone changed (`relinked`) are read from the lake. A literal IN list lets DuckDB skip,
    in each Parquet file, the rows it does not name (a join read every article's text: 0.6 s at 100k)."""
    in_ids = ", ".join(lk.sql_str(i) for i in ids) or "NULL"
    live = (f"SELECT {_DOC_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY article_id "
            f"ORDER BY snapshot_id DESC, change_type IN ('insert', 'update_postimage') DESC) AS last "
            f"FROM ducklake_table_changes("
            f"{lk.sql_str(lake_name)}, 'main', 'articles', {since + 1}, {until})) "
            f"WHERE last = 1 AND change_type IN ('insert', 'update_postimage')")
    if relinked:
        live += (f" UNION ALL SELECT {_DOC_COLUMNS} FROM {lake_name}.articles WHERE article_id IN "
                 f"({', '.join(lk.sql_str(i) for i in relinked)})")
    return (f"SELECT d.*, m.entities FROM ({live}) d LEFT JOIN (SELECT article_id, list(DISTINCT entity_id) "
            f"AS entities FROM {lake_name}.mentions WHERE article_id IN ({in_ids}) GROUP BY article_id) m "
            f"USING (article_id)")


def _write_index(dest: Path, con: duckdb.DuckDBPyConnection, select_sql: str, meta: dict[str, str],
                 tombstones: list[str] | None = None, base: Path | None = None) -> int:
    """Write an index file (docs, fts index, meta, tombstones) under a temporary name, then rename it over
    `dest`. With `base`, the new index's BM25 statistics become those of base + it (see the module doc)."""
    tmp = dest.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{dest.name}")
    alias = f"search_{uuid.uuid4().hex[:8]}"
    con.execute(f"ATTACH {lk.sql_str(str(tmp))} AS {alias}")
    try:
        con.execute(f"CREATE TABLE {alias}.docs AS {select_sql}")
        n = con.execute(f"SELECT count(*) FROM {alias}.docs").fetchone()[0]
        con.execute(f"CREATE TABLE {alias}.tombstones (article_id VARCHAR)")
        if tombstones:
            con.execute(f"INSERT INTO {alias}.tombstones SELECT unnest(?::VARCHAR[])", [tombstones])
        con.execute(f"CREATE TABLE {alias}.meta (key VARCHAR, value VARCHAR)")
        con.executemany(f"INSERT INTO {alias}.meta VALUES (?, ?)",
                        [(k, str(v)) for k, v in {**meta, "version": INDEX_VERSION, "articles": n}.items()])
    finally:
        con.execute(f"DETACH {alias}")
    try:
        idx = duckdb.connect(str(tmp), config={"memory_limit": BUILD_MEMORY_LIMIT})
        try:
            idx.execute("SET enable_progress_bar = false")  # it filled the detached rebuild's search.log
            lk.load(idx, "fts")
            idx.execute("PRAGMA create_fts_index('docs', 'article_id', 'title', 'clean_text', overwrite = 1)")
            if n and base is not None:
                _share_statistics(idx, base)
            idx.execute("CHECKPOINT")
        finally:
            idx.close()
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
    return n


def _share_statistics(idx: duckdb.DuckDBPyConnection, base: Path) -> None:
    """Give the delta's fts index the statistics of base + delta (N, average length, document frequencies),
    so that match_bm25 scores a delta article as if it were in the base's index."""
    idx.execute(f"ATTACH {lk.sql_str(str(base))} AS base (READ_ONLY)")
    try:
        bn, bavg = idx.execute("SELECT num_docs, avgdl FROM base.fts_main_docs.stats").fetchone()
        if not bn:
            return
        idx.execute("UPDATE fts_main_docs.dict d SET df = d.df + b.df FROM base.fts_main_docs.dict b "
                    "WHERE b.term = d.term")
        idx.execute("UPDATE fts_main_docs.stats SET avgdl = (avgdl * num_docs + ? * ?) / (num_docs + ?), "
                    "num_docs = num_docs + ?", [bavg, bn, bn, bn])
    finally:
        idx.execute("DETACH base")


def build_index(layout: HomeLayout, con: duckdb.DuckDBPyConnection, lake_name: str) -> int:
    """Write the base HOME/search.duckdb from the attached lake `lake_name` (read on `con`); returns articles
    indexed. The delta, older than it, is no longer read."""
    snap, lake_id = _lake_state(con, lake_name)
    return _write_index(layout.search_db, con, _docs_sql(lake_name), {"snapshot": snap, "lake": lake_id})


def changed_since(con: duckdb.DuckDBPyConnection, lake_name: str, since: int, until: int) -> dict[str, set[str]]:
    """The article ids inserted, deleted or updated after snapshot `since`, in `articles` and in `mentions`."""
    if until <= since:
        return {"articles": set(), "mentions": set()}
    return {table: {r[0] for r in con.execute(
        "SELECT DISTINCT article_id FROM ducklake_table_changes(?, 'main', ?, ?, ?)",
        [lake_name, table, since + 1, until]).fetchall()} for table in ("articles", "mentions")}


def refresh(layout: HomeLayout, con: duckdb.DuckDBPyConnection, lake_name: str) -> dict[str, Any]:
    """Bring the index up to the lake attached as `lake_name` (the writer's, after a run): rebuild the delta
    here when few articles changed since the base, the base (here when small, else detached) when it is
    unusable or the delta grew past its bound. Returns what it did: {"base": n | "detached" | None,
    "delta": n | None, "changed": n | None}."""
    snap, lake_id = _lake_state(con, lake_name)
    base = read_meta(layout.search_db)
    changes: dict[str, set[str]] | None = None
    if (base is not None and base.get("lake") == lake_id and int(base["snapshot"]) <= snap
            and con.execute(f"SELECT count(*) FROM {lake_name}.snapshots() WHERE snapshot_id = ?",
                            [int(base["snapshot"])]).fetchone()[0]):  # else expired by `corpus compact`
        try:
            changes = changed_since(con, lake_name, int(base["snapshot"]), snap)
        except duckdb.Error:  # whatever DuckLake cannot tell: rebuild the base
            changes = None
    changed = None if changes is None else changes["articles"] | changes["mentions"]
    done: dict[str, Any] = {"base": None, "delta": None, "changed": None if changed is None else len(changed)}
    n_base = int(base["articles"]) if base is not None else 0
    if changed is None or len(changed) > delta_bound(n_base):
        n = con.execute(f"SELECT count(*) FROM {lake_name}.articles").fetchone()[0]
        if n <= SYNC_MAX_ARTICLES:
            done["base"] = build_index(layout, con, lake_name)
            return done
        done["base"] = _rebuild_in_background(layout)
    if changes is not None and len(changed) <= DELTA_SYNC_MAX:
        try:
            done["delta"] = build_delta(layout, con, lake_name, base, changes, snap, lake_id)
        except (duckdb.Error, OSError) as exc:
            # the previous delta still answers (it is older, never wrong); the base takes the new articles. Not
            # raised: the caller would delete the base, which a 100k corpus rebuilds in a minute of CPU
            done["delta_error"] = str(exc).splitlines()[0]
            with open(layout.home / "search.log", "a", encoding="utf-8") as log:
                print(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} delta not rebuilt "
                      f"({done['delta_error']}): rebuilding the base", file=log)
            if done["base"] is None:
                done["base"] = _rebuild_in_background(layout)
    return done


STARTING_S = 120.0  # a stale marker this young is a detached rebuild still starting


def _rebuild_in_background(layout: HomeLayout) -> str:
    """Start a detached base rebuild unless one is running or starting ("running" then): the runs that end
    meanwhile need no second round, their articles are in the delta."""
    import time

    from filelock import FileLock, Timeout

    marker = _stale_marker(layout)
    try:
        if time.time() - marker.stat().st_mtime < STARTING_S:
            return "running"
    except FileNotFoundError:
        pass
    try:
        with FileLock(str(layout.home / ".search.lock"), timeout=0):
            pass
    except Timeout:
        return "running"
    refresh_in_background(layout)
    return "detached"


def build_delta(layout: HomeLayout, con: duckdb.DuckDBPyConnection, lake_name: str, base: dict[str, str],
                changes: dict[str, set[str]], snap: int, lake_id: str) -> int:
    """Write HOME/search-delta.duckdb: the current rows of the changed articles, each of them a tombstone
    for its base row. Returns the articles it holds."""
    ids = sorted(changes["articles"] | changes["mentions"])
    relinked = sorted(changes["mentions"] - changes["articles"])
    since = int(base["snapshot"])
    return _write_index(delta_path(layout), con, _delta_docs_sql(lake_name, since, snap, ids, relinked),
                        {"snapshot": snap, "lake": lake_id, "base_snapshot": since},
                        tombstones=ids, base=layout.search_db)


def _build_from_copy(layout: HomeLayout) -> int:
    """Build the base from a private copy of the catalog: never blocks (nor waits for) a writer."""
    from warehouse.reader import open_lake_copy

    con, tmp = open_lake_copy(layout)
    try:
        con.execute("SET temp_directory = " + lk.sql_str(str(tmp)))
        con.execute(f"SET memory_limit = {lk.sql_str(BUILD_MEMORY_LIMIT)}")
        return build_index(layout, con, lk.LAKE)
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _readable(path: Path) -> bool:
    """The file opens and has a docs table (an index of an older version still answers)."""
    return _rows(path, "SELECT count(*) FROM docs") is not None


def _ensure_index(home: Path) -> Path:
    layout = HomeLayout(home)
    if not _readable(layout.search_db):
        _build_from_copy(layout)
    return layout.search_db


def _stale_marker(layout: HomeLayout) -> Path:
    return layout.home / ".search.stale"


# The `corpus` command names its own process in CORPUS_SEARCH_AFTER_PID (flows/cli.py main): a rebuild it
# starts waits until that process has exited (at most AFTER_EXIT_WAIT_S, below STARTING_S), so the rebuild's
# memory (~0.7-1 GB over 100k articles) never adds to the command's and its temporary Prefect server's. A
# long-lived process (`corpus serve`'s runner) has another PID than the one named: its rebuilds start at once.
AFTER_PID_ENV = "CORPUS_SEARCH_AFTER_PID"
AFTER_EXIT_WAIT_S = 60.0


def refresh_in_background(layout: HomeLayout) -> None:
    """Start a detached rebuild of the base and return at once (see the module docstring)."""
    _stale_marker(layout).touch()
    env = {k: v for k, v in os.environ.items() if k != "CORPUS_RUN_TOKEN"}  # not a child the watchdog ends
    after = ["--after-pid", str(os.getpid())] if os.environ.get(AFTER_PID_ENV) == str(os.getpid()) else []
    with open(layout.home / "search.log", "ab") as log:
        subprocess.Popen(  # our own module, by the running interpreter, no shell
            [sys.executable, "-m", "warehouse.search", str(layout.home), *after], stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, env=env, start_new_session=True, close_fds=True)


def _wait_for_parent_exit(pid: int, timeout: float) -> float:
    """Wait while our parent is `pid` (a new session keeps the parent; its exit makes init ours): seconds waited."""
    import time

    start = time.monotonic()
    while os.getppid() == pid and time.monotonic() - start < timeout:
        time.sleep(0.1)
    return time.monotonic() - start


LEFTOVER_AGE_S = 3600  # a temporary index file this old is a killed build's: the next detached rebuild deletes it


def rebuild_while_stale(home: Path) -> int:
    """Rebuild until no run has asked for another; 0 when another process is already at it (it goes
    round again for us: we leave the stale marker). Returns the rebuilds done."""
    import time

    from filelock import FileLock, Timeout

    layout = HomeLayout(home)
    marker = _stale_marker(layout)
    try:
        with FileLock(str(layout.home / ".search.lock"), timeout=0):
            for p in layout.home.glob(".tmp-*-search*.duckdb*"):
                if time.time() - p.stat().st_mtime > LEFTOVER_AGE_S:
                    p.unlink(missing_ok=True)
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


_HITS_SQL = (
    "SELECT article_id, title, outlet, published, clean_text, score FROM ("
    "  SELECT *, fts_main_docs.match_bm25(article_id, ?) AS score FROM docs) "
    "WHERE score IS NOT NULL AND (? IS NULL OR list_contains(entities, ?)) "
    "AND (?::DATE IS NULL OR published >= ?::DATE) {exclude} ORDER BY score DESC, article_id LIMIT ?")


def _delta_applies(base: dict[str, str] | None, delta: dict[str, str] | None) -> bool:
    """The delta holds what changed after the base's snapshot: it is newer than the base (else a base rebuilt
    since folded it in) and was built on a base no newer than this one (else it misses changes)."""
    if base is None or delta is None or delta.get("lake") != base.get("lake"):
        return False
    return int(delta["base_snapshot"]) <= int(base["snapshot"]) < int(delta["snapshot"])


def search(home: Path, query: str, entity: str | None = None, since: str | None = None,
           limit: int = 10) -> list[dict[str, Any]]:
    """The best-matching articles by BM25 (title and clean text), from the base and the delta (module doc)."""
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
    dpath = delta_path(HomeLayout(home))
    params = [query, entity, entity, since_date, since_date, int(limit)]
    con = duckdb.connect(str(path), read_only=True)
    try:
        lk.load(con, "fts")
        use_delta = False
        if _delta_applies(read_meta(path), read_meta(dpath)):
            try:
                con.execute(f"ATTACH {lk.sql_str(str(dpath))} AS delta (READ_ONLY)")
                use_delta = True
            except duckdb.Error:  # replaced by a newer base's cleanup, or unreadable: the base alone answers
                use_delta = False
        if use_delta:
            rows = con.execute(_HITS_SQL.format(
                exclude="AND article_id NOT IN (SELECT article_id FROM delta.tombstones)"), params).fetchall()
            if con.execute("SELECT count(*) FROM delta.docs").fetchone()[0]:
                con.execute("USE delta")  # its fts macros, over its docs, with base + delta statistics
                rows += con.execute(_HITS_SQL.format(exclude=""), params).fetchall()
                rows.sort(key=lambda r: (-r[5], r[0]))
                rows = rows[:limit]
        else:
            rows = con.execute(_HITS_SQL.format(exclude=""), params).fetchall()
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


def detached_main(home: str, after_pid: int | None = None) -> str:
    """The detached rebuild (`python -m warehouse.search HOME [--after-pid PID]`): lowest CPU priority, the
    wait for the command that started it to exit, then rebuild; its log line."""
    nice = os.nice(REBUILD_NICENESS)
    waited = _wait_for_parent_exit(after_pid, AFTER_EXIT_WAIT_S) if after_pid else 0.0
    done = rebuild_while_stale(Path(home))
    return (f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} rebuilds: {done} (nice {nice}"
            f"{f', after {waited:.1f} s waiting for PID {after_pid} to exit' if after_pid else ''})")


if __name__ == "__main__":  # the detached rebuild started by refresh_in_background
    _after = int(sys.argv[3]) if sys.argv[2:3] == ["--after-pid"] else None
    print(detached_main(sys.argv[1], _after), flush=True)
