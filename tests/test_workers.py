"""Issue 20: the process runner's workers are lean (pure transforms only) and clean and link as the flow does."""

from __future__ import annotations

import os

from flows import ingest, workers
from flows.runners import RunnerChoice, task_runner, worker_pool
from flows.settings import Settings
from flows.workers import HEAVY, WorkerPool, loaded_packages
from tests.conftest import SAMPLES
from transforms.sources import split_source


def _sample_docs():
    return [d for f in sorted(SAMPLES.iterdir()) for d in split_source(f.name, f.read_bytes())[0]]


def _clean_and_link(docs):
    cleaned = ingest.clean_task.fn(ingest.Payload(docs), 0, None)
    return ingest.link_task.fn(cleaned, 0, None, (), None)


def test_a_worker_imports_neither_prefect_nor_duckdb_nor_pyarrow_nor_gx():
    import duckdb  # noqa: F401 - the parent holds all of them (flows.ingest imports Prefect and pyarrow)

    assert {"prefect", "pyarrow", "duckdb"} <= set(loaded_packages())
    with WorkerPool(1) as pool:
        assert workers.active() is pool
        assert os.getpid() not in pool.pids()
        in_worker = pool.call(loaded_packages)
        pool.clean(_sample_docs()[:1], None)  # a batch cleaned: still nothing heavy (imports are lazy)
        after_work = pool.call(loaded_packages)
    assert workers.active() is None
    assert "transforms" in in_worker
    assert not set(HEAVY) & set(in_worker), set(HEAVY) & set(in_worker)
    assert not set(HEAVY) & set(after_work), set(HEAVY) & set(after_work)


def test_the_pool_cleans_and_links_as_the_flow_thread_does(tmp_path):
    docs = _sample_docs()
    here = _clean_and_link(docs)
    choice = RunnerChoice("process", 2, "test")
    assert task_runner(choice) is None  # the tasks stay on the flow's threads and hand their batch over
    with worker_pool(choice, Settings.from_env(tmp_path)) as pool:
        assert workers.active() is pool and len(pool.pids()) == 2
        there = _clean_and_link(docs)
    # every column, in the same order (the pool sends a worker only what linking reads, and puts back
    # only what it writes)
    assert [list(a.items()) for a in there.prepared.articles] == [list(a.items()) for a in here.prepared.articles]
    assert any(a["normalized_text"] != a["clean_text"] for a in here.prepared.articles)
    assert there.mentions == here.mentions and len(here.mentions) > 0
    assert there.prepared.removed_spans == here.prepared.removed_spans
    assert there.clean_seconds > 0 and there.link_seconds > 0


def test_other_runners_start_no_workers(tmp_path):
    with worker_pool(RunnerChoice("thread", 0, "test"), Settings.from_env(tmp_path)) as pool:
        assert pool is None and workers.active() is None


def test_a_finished_batch_in_a_reference_cycle_is_freed_at_once():
    """The flow's run loop frees each landed batch: rows held only by a cycle (as Prefect's futures hold
    them) go at the call, not at some later full collection, and nothing stays frozen after the run."""
    import gc
    import weakref

    from flows.batching import freed_per_batch

    class Rows(list):
        pass

    with freed_per_batch() as free:
        rows = Rows([{"clean_text": "x" * 100}])
        rows.append(rows)  # a cycle: reference counting alone never frees it
        gone = weakref.ref(rows)
        del rows
        gc.disable()  # no automatic collection may do the work instead
        try:
            assert gone() is not None
            free()
            assert gone() is None
        finally:
            gc.enable()
    assert gc.get_freeze_count() == 0


def test_release_ends_the_workers_before_the_runs_wrap_up():
    import psutil

    with WorkerPool(1) as pool:
        pids = pool.pids()
        workers.release()  # IngestRun.run calls it once the last batch landed
        assert workers.active() is None
        assert not [p for p in pids if psutil.pid_exists(p)]
