"""Issue 18 item 8: `corpus ingest --dask` on a real Dask cluster (a scheduler and two workers, each its own
process, as on separate machines), named by CORPUS_DASK_ADDRESS."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.serve import free_port
from tests.conftest import BIN, SAMPLES, run_cli
from tests.test_serve import _warehouse_snapshot

pytest.importorskip("prefect_dask")


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture
def dask_cluster(tmp_path: Path, cli_env: dict[str, str]) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on free local ports; yields the scheduler address."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(cli_env, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        log = open(tmp_path / "scheduler.log", "wb")  # noqa: SIM115 - closed below
        logs.append(log)
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        for i in range(2):
            log = open(tmp_path / f"worker{i}.log", "wb")  # noqa: SIM115 - closed below
            logs.append(log)
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                 "--name", f"corpus-test-{i}", "--local-directory", str(tmp_path / f"w{i}")],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        _stop(procs[1:])  # workers first, then the scheduler
        _stop(procs[:1])
        for log in logs:
            log.close()


def _tasks_run_on(address: str) -> dict[str, int]:
    """Per task prefix, how many tasks the cluster's scheduler saw reach memory (finished on a worker)."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        return client.run_on_scheduler(
            lambda dask_scheduler: {
                name: p.state_counts.get("memory", 0) for name, p in dask_scheduler.task_prefixes.items()
            }
        )


@pytest.mark.slow
def test_ingest_on_a_real_dask_cluster(dask_cluster, sample_home, cli_env, corpus_home):
    env = dict(cli_env, CORPUS_DASK_ADDRESS=dask_cluster)
    proc = run_cli(["ingest", "--dask", "--json", "--inbox", str(SAMPLES)], env, timeout=300)
    assert '"n_new": 5' in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert '"name": "dask"' in proc.stdout
    # every article landed, exactly as the thread runner lands them
    dask_wh, default_wh = _warehouse_snapshot(corpus_home), _warehouse_snapshot(sample_home)
    for table in default_wh:
        assert dask_wh[table] == default_wh[table], table
    # and the clean and link tasks ran on the cluster's workers, not in the ingest process
    done = _tasks_run_on(dask_cluster)
    assert sum(done.values()) >= 2, done  # one clean and one link task per batch
