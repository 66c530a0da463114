"""Which Prefect task runner cleans and links a run's batches, and why (issue 20).

`corpus ingest` with no flag picks the runner fastest on this machine for the work waiting: clean and
link are pure-Python CPU work, so with two or more cores and enough batches to keep them busy,
worker processes (Prefect's ProcessPoolTaskRunner) beat threads; a small run (one added article) does
not pay the ~5 s the workers take to start and import the transforms. `--runner thread|process|dask`
(or CORPUS_RUNNER) overrides the choice. Nothing here imports Prefect until a runner is built.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RUNNERS = ("thread", "process", "dask")
# below this many articles waiting, worker processes cost more to start than they save (measured in
# BENCHMARKS.md: at 2,000 articles processes already win; at a few hundred start-up dominates)
PROCESS_MIN_ARTICLES = 1500
PROCESS_MIN_BATCHES = 2
JSONL_BYTES_PER_ARTICLE = 4000  # a .jsonl counts as this many bytes per record when estimating the work


class RunnerError(ValueError):
    """An unknown runner name (flag or CORPUS_RUNNER)."""


@dataclass(frozen=True)
class RunnerChoice:
    name: str  # thread, process or dask
    workers: int  # threads or processes that clean and link
    reason: str  # one line: why this runner

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def estimate_articles(inbox: Path | None) -> int:
    """A cheap estimate of the articles waiting: one per file, a .jsonl by its size. No file is opened."""
    if inbox is None or not inbox.is_dir():
        return 0
    n = 0
    stack = [str(inbox)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for e in it:
                    if e.name.startswith("."):
                        continue
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        elif e.name.endswith(".jsonl"):
                            n += max(1, e.stat().st_size // JSONL_BYTES_PER_ARTICLE)
                        else:
                            n += 1
                    except OSError:
                        n += 1
        except OSError:
            continue
    return n


def runner_name(requested: str | None) -> str | None:
    """The runner asked for (flag or CORPUS_RUNNER), lower-cased, or None when none is named; RunnerError
    for an unknown name."""
    name = (requested or "").strip().lower() or None
    if name is not None and name not in RUNNERS + ("auto",):
        raise RunnerError(f"--runner must be one of {', '.join(RUNNERS)} or auto, not {name!r}")
    return name


def choose_runner(
    requested: str | None, n_articles: int, batch_size: int, cores: int | None = None
) -> RunnerChoice:
    """The runner for a run of about `n_articles` in batches of `batch_size`; `requested` (flag or
    CORPUS_RUNNER) wins when given."""
    cores = cpu_count() if cores is None else cores
    requested = runner_name(requested)
    workers = max(2, min(cores, 8))
    if requested == "dask":
        return RunnerChoice("dask", workers, "asked for (--runner dask / --dask)")
    if requested == "process":
        return RunnerChoice("process", workers, "asked for (--runner process)")
    if requested == "thread":
        return RunnerChoice("thread", 0, "asked for (--runner thread)")
    n_batches = -(-n_articles // max(1, batch_size))
    if cores < 2:
        return RunnerChoice("thread", 0, f"auto: {cores} core, so worker processes add nothing")
    if n_articles < PROCESS_MIN_ARTICLES or n_batches < PROCESS_MIN_BATCHES:
        return RunnerChoice(
            "thread", 0,
            f"auto: about {n_articles} article(s) in {n_batches} batch(es), too few to repay starting "
            f"worker processes (needs {PROCESS_MIN_ARTICLES}+ in {PROCESS_MIN_BATCHES}+ batches)",
        )
    return RunnerChoice(
        "process", workers,
        f"auto: about {n_articles} articles in {n_batches} batches on {cores} cores: "
        f"clean and link on {workers} worker processes",
    )


def task_runner(choice: RunnerChoice, dask_address: str | None = None):
    """The Prefect task runner for a choice (None = the flow's own default, threads); Dask on the cluster at
    `dask_address` (Settings.dask_address, CORPUS_DASK_ADDRESS), else on local worker processes.

    The process runner's tasks run on the flow's threads too: they hand clean and link to the lean worker
    processes of `worker_pool` (flows/workers.py)."""
    if choice.name == "dask":
        from flows.ops import dask_task_runner

        return dask_task_runner(dask_address)
    return None


def worker_pool(choice: RunnerChoice, settings: Any) -> AbstractContextManager[Any]:
    """For the process runner, the pool of lean worker processes that clean and link while the run is in it
    (started now, so the workers import and load the rules and gazetteer while the flow starts); a no-op
    context for the other runners."""
    if choice.name != "process":
        return contextlib.nullcontext()
    from flows.ingest import gazetteer_overlays
    from flows.workers import WorkerPool

    gaz = str(settings.gazetteer_path) if settings.gazetteer_path else None
    rules = str(settings.rules_path) if settings.rules_path else None
    return WorkerPool(choice.workers, rules, gaz, gazetteer_overlays(settings))
