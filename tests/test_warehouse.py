"""Warehouse units: atomic landing, orphans, idempotent upsert, versioning, single writer."""

from __future__ import annotations

import multiprocessing as mp
import time

import pyarrow as pa
import pytest

from warehouse import Warehouse, WarehouseBusy, WarehouseError, connect_readonly
from warehouse.schema import LAKE_SCHEMAS, SCHEMA_VERSION


def _articles(*ids: str) -> pa.Table:
    return pa.Table.from_pylist(
        [{"article_id": i, "source_name": f"{i}.txt", "content_sha256": f"sha-{i}", "clean_text": f"text {i}"}
         for i in ids], schema=LAKE_SCHEMAS["articles"])


def _mentions(aid: str, n: int) -> pa.Table:
    return pa.Table.from_pylist(
        [{"article_id": aid, "start_char": 0, "end_char": 4, "surface": "text", "entity_id": "baghdad",
          "method": "exact", "score": 1.0} for _ in range(n)], schema=LAKE_SCHEMAS["mentions"])


def _count(home, table):
    con = connect_readonly(home)
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def test_land_is_idempotent_by_article_id(corpus_home):
    wh = Warehouse(corpus_home)
    with wh.writer() as w:
        assert w.land_batch("r1", 0, {"articles": _articles("a", "b"), "mentions": _mentions("a", 3)}) == 2
        # same ids again, with children: nothing new lands, children of known ids are dropped too
        assert w.land_batch("r1", 1, {"articles": _articles("a", "c"), "mentions": _mentions("a", 3)}) == 1
    assert _count(corpus_home, "articles") == 3
    assert _count(corpus_home, "mentions") == 3


def test_failed_commit_leaves_no_files_and_no_rows(corpus_home, monkeypatch):
    wh = Warehouse(corpus_home)
    with wh.writer() as w:
        w.land_batch("r1", 0, {"articles": _articles("a")})
        before = sorted(p.name for p in (corpus_home / "lake").rglob("*.parquet"))
        monkeypatch.setattr(w, "_before_commit", lambda con: (_ for _ in ()).throw(RuntimeError("boom")))
        with pytest.raises(RuntimeError):  # 40 rows: over DuckLake's inlining limit, so files are written
            w.land_batch("r1", 1, {"articles": _articles(*(f"b{i}" for i in range(40))),
                                   "mentions": _mentions("b0", 40)})
        after = sorted(p.name for p in (corpus_home / "lake").rglob("*.parquet"))
    assert before == after
    assert _count(corpus_home, "articles") == 1
    assert _count(corpus_home, "mentions") == 0


class _SignalAfterCommit:
    """A connection that raises KeyboardInterrupt on leaving its `with` block once COMMIT has run: a signal
    (SIGTERM's handler, Ctrl-C) arriving just after the commit."""

    def __init__(self, cm):
        self.cm, self.committed = cm, False

    def execute(self, sql, *args):
        self.committed |= sql.strip().upper() == "COMMIT"
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)

    def __enter__(self):
        self.con = self.cm.__enter__()
        return self

    def __exit__(self, *exc):
        self.cm.__exit__(*exc)
        if self.committed and exc[0] is None:
            raise KeyboardInterrupt


def test_a_signal_just_after_commit_keeps_the_committed_files(corpus_home, monkeypatch):
    wh = Warehouse(corpus_home)
    with wh.writer() as w:
        w.land_batch("r1", 0, {"articles": _articles("a")})
        real_connect = w.connect
        monkeypatch.setattr(w, "connect", lambda: _SignalAfterCommit(real_connect()))
        with pytest.raises(KeyboardInterrupt):
            w.land_batch("r1", 1, {"articles": _articles("b"), "mentions": _mentions("b", 2)})
    # the batch was committed: its files must still be there, and the next writer opens the lake
    with wh.writer():
        pass
    assert _count(corpus_home, "articles") == 2
    assert _count(corpus_home, "mentions") == 2


def test_orphan_files_from_a_killed_run_are_invisible_and_removed(corpus_home):
    wh = Warehouse(corpus_home)
    with wh.writer() as w:
        w.land_batch("r1", 0, {"articles": _articles("a")})
    orphan = corpus_home / "lake" / "main" / "articles" / "ducklake-dead-00000.parquet"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    pq.write_table(_articles("zombie"), orphan)
    assert _count(corpus_home, "articles") == 1  # views only read committed files
    with wh.writer():
        pass
    assert not orphan.exists()


def test_killed_run_is_marked_crashed(corpus_home):
    wh = Warehouse(corpus_home)
    with wh.writer() as w:
        w.start_run("dead", None, "inbox")
    with wh.writer() as w:
        w.start_run("alive", None, "inbox")
        w.finish_run("alive", {"n_new": 0}, "completed")
    con = connect_readonly(corpus_home)
    assert dict(con.execute("SELECT run_id, status FROM runs").fetchall()) == {"dead": "crashed", "alive": "completed"}


def test_newer_schema_is_refused(corpus_home):
    wh = Warehouse(corpus_home)
    with wh.writer():
        pass
    with wh.writer() as w, w.connect() as con:
        con.execute("UPDATE _meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    with pytest.raises(WarehouseError, match="newer than this code"), wh.writer():
        pass


def _hold_lock(home, seconds, ready):
    with Warehouse(home).writer():
        ready.set()
        time.sleep(seconds)


def test_second_writer_waits_then_gives_up_clearly(corpus_home):
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    p = ctx.Process(target=_hold_lock, args=(str(corpus_home), 3, ready))
    p.start()
    try:
        assert ready.wait(60)
        with pytest.raises(WarehouseBusy, match="another ingest is writing"), \
                Warehouse(corpus_home).writer(lock_timeout=0.5):
            pass
        # readers are not blocked by the writer lock
        assert _count(corpus_home, "articles") == 0
    finally:
        p.join(30)


def test_entities_replaced_only_when_gazetteer_changes(corpus_home):
    ents = pa.Table.from_pylist([{"entity_id": "x", "canonical_name": "X", "type": "PERSON", "aliases": ["Ex"],
                                  "gazetteer_version": "1"}], schema=LAKE_SCHEMAS["entities"])
    with Warehouse(corpus_home).writer() as w:
        assert w.sync_entities(ents, "1") is True
        assert w.sync_entities(ents, "1") is False
        assert w.sync_entities(ents.set_column(4, "gazetteer_version", pa.array(["2"])), "2") is True
    assert _count(corpus_home, "entities") == 1
    con = connect_readonly(corpus_home)
    assert con.execute("SELECT gazetteer_version FROM entities").fetchall() == [("2",)]


def test_reader_without_warehouse_gets_clear_error(tmp_path):
    with pytest.raises(WarehouseError, match="run `corpus ingest` first"):
        connect_readonly(tmp_path / "nothing")


def test_rewrite_tables_swaps_whole_tables_atomically(corpus_home):
    wh = Warehouse(corpus_home)
    with wh.writer() as w:
        w.land_batch("r1", 0, {"articles": _articles("a", "b"), "mentions": _mentions("a", 3)})
        batches = [{"articles": t, "mentions": _mentions(t["article_id"][0].as_py(), 1)}
                   for t in w.iter_table("articles", LAKE_SCHEMAS["articles"].names, batch_rows=1)]
        assert w.rewrite_tables("r2", batches) == {"articles": 2, "mentions": 2}
    assert _count(corpus_home, "articles") == 2
    assert _count(corpus_home, "mentions") == 2
    con = connect_readonly(corpus_home)
    assert con.execute("SELECT count(*) FROM mentions WHERE run_id IS NULL").fetchone()[0] == 2  # the new rows
    assert con.execute("SELECT count(*) FROM mentions WHERE article_id = 'a'").fetchone()[0] == 1


def test_compact_merges_batch_files_and_keeps_every_row(corpus_home):
    wh = Warehouse(corpus_home)
    with wh.writer() as w:
        for i in range(6):  # 12 rows a batch: over DuckLake's inlining limit (10), one file each
            ids = [f"a{i}-{k}" for k in range(12)]
            w.land_batch("r1", i, {"articles": _articles(*ids), "mentions": _mentions(ids[0], 12)})
        before = _count(corpus_home, "articles"), _count(corpus_home, "mentions")
        result = w.compact("compact-1")
    assert result["articles"] == (6, 1) and result["mentions"] == (6, 1)
    assert (_count(corpus_home, "articles"), _count(corpus_home, "mentions")) == before == (72, 72)
    con = connect_readonly(corpus_home)
    assert con.execute("SELECT count(DISTINCT article_id) FROM articles").fetchone()[0] == 72
