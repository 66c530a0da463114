"""Issue 17, item 7, last point: a big .jsonl streams with memory bounded by the batch size.

The run kept a set of every content hash it had read (and of every article id and held hash in the lake)
to find duplicates: ~30 MB per 200,000 records. Duplicates are now looked up in the catalog per read
batch, plus the hashes of the batches read but not landed yet. The first test failed on the code before
(the run's containers grew by one hash per record); the second pins the duplicate semantics the look-up
must keep (same bytes landed or seen earlier in the run, held by an earlier run; a rerun adds nothing).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import catalog_rows

SENTENCE = (
    "The library board agreed on Thursday to keep the reading room open until nine on weekdays, after "
    "students asked for a quiet place to work in the evenings. The extra hours will be paid from the "
    "book sale, and volunteers offered to help at the desk during the first month of the trial."
)
BATCH = 20
RECORDS = 240  # 12 batches


def _feed(n: int) -> bytes:
    """n records, every 6th a real article, the rest tiny notes validation holds; record 3 (an article) and
    record 4 (a note) come back near the end, many batches after they were read and landed."""
    recs = [{"title": f"Board {i}", "text": f"Board report {i}. {SENTENCE}"} if i % 6 == 3 else
            {"text": f"short note {i}"} for i in range(n)]
    recs[n - 7] = recs[3]
    recs[n - 5] = recs[4]
    return b"".join(json.dumps(r).encode() + b"\n" for r in recs)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory, prefect_server):
    """One .jsonl through the real flow in batches of 20, recording the size of the run's own containers
    (sets, dicts, lists held by the IngestRun) after each landed batch; then a rerun of the same file."""
    from flows import ingest
    from flows.ops import run_ingest

    home = tmp_path_factory.mktemp("jsonl-mem") / "home"
    inbox = home.parent / "outside"
    inbox.mkdir()
    (inbox / "feed.jsonl").write_bytes(_feed(RECORDS))
    sizes: list[int] = []
    orig = ingest.IngestRun.count

    def spy(self, *args, **kwargs):
        orig(self, *args, **kwargs)
        held = [v for v in vars(self).values() if isinstance(v, set | frozenset | dict | list)]
        sizes.append(sum(len(v) for v in held) + sum(len(s) for d in held if isinstance(d, dict)
                                                      for s in d.values() if isinstance(s, set)))

    mp = pytest.MonkeyPatch()
    mp.setattr(ingest.IngestRun, "count", spy)
    try:
        first = run_ingest(home=str(home), inbox=str(inbox), batch_size=BATCH, runner="thread")
        first_sizes = sizes[:]
        rerun = run_ingest(home=str(home), inbox=str(inbox), batch_size=BATCH, runner="thread")
    finally:
        mp.undo()
    return home, first_sizes, first, rerun


def test_run_state_does_not_grow_with_the_records_read(streamed) -> None:
    _, sizes, first, _ = streamed
    n_batches = RECORDS // BATCH
    assert len(sizes) == n_batches, sizes
    # what the run holds after batch 2 and after the last: bounded by the batches in flight, not by the
    # 200 further records read in between (the code before held one hash per record: +200)
    assert sizes[-1] - sizes[1] < BATCH, sizes
    assert first["n_seen"] == RECORDS


def test_duplicates_are_found_across_batches_and_runs(streamed) -> None:
    home, _, first, rerun = streamed
    # records 3 and 4 return 230+ records later: both are duplicates of this run, by their bytes
    assert first["n_duplicate"] == 2, first
    assert first["n_new"] + first["n_quarantined"] + first["n_duplicate"] == RECORDS
    run1 = first["run_id"]
    assert catalog_rows(home, f"SELECT reason, count(*) FROM duplicates WHERE run_id = '{run1}' GROUP BY ALL") == [
        ("same_bytes", 2)]
    # the rerun lands nothing: landed articles are same_bytes, records held by the first run are "held"
    assert (rerun["n_new"], rerun["n_quarantined"], rerun["n_duplicate"]) == (0, 0, RECORDS), rerun
    got = dict(catalog_rows(
        home, f"SELECT reason, count(*) FROM duplicates WHERE run_id = '{rerun['run_id']}' GROUP BY ALL"))
    n_articles = catalog_rows(home, "SELECT count(*) FROM articles")[0][0]
    assert n_articles == first["n_new"] > 0
    assert got == {"same_bytes": n_articles + 1, "held": RECORDS - n_articles - 1}, got


def test_the_duckdb_engine_is_recycled_between_attaches_never_under_one(tmp_path: Path) -> None:
    """DuckDB kept ~0.13 MB per ATTACH/DETACH of the catalog (several per batch: ~0.45 MB per batch of a
    200-batch run). The process's engine is now made again every RECYCLE_AFTER detaches, only while no
    session has the catalog attached. Failed on the code before: one engine for the process's whole life."""
    from warehouse import Warehouse, store

    n = getattr(store._Engine, "RECYCLE_AFTER", 50) + 5
    with Warehouse(tmp_path / "other").writer(30) as other, Warehouse(tmp_path / "home").writer(30) as w:
        with other.connect() as held:  # another home's catalog, attached all along: its engine stays usable
            first = store._Engine._db
            for _ in range(n):
                with w.connect() as con:
                    con.execute("SELECT count(*) FROM articles").fetchall()
            assert store._Engine._db is first
            assert held.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)
        for _ in range(n):
            with w.connect() as con:
                con.execute("SELECT count(*) FROM articles").fetchall()
        assert store._Engine._db is not first
        with w.connect() as con:
            assert con.execute("SELECT count(*) FROM articles").fetchone() == (0,)
