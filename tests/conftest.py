"""Shared fixtures: one Prefect test server per session, temporary corpus homes, the sample corpus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLES = REPO / "samples" / "articles"
BIN = Path(sys.executable).parent


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when the folder is not beside the repo."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found (../shared must sit beside the repo)")
    return path


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session; yields its API URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture
def corpus_home(tmp_path: Path) -> Path:
    home = tmp_path / "corpus_home"
    home.mkdir()
    return home


@pytest.fixture
def cli_env(prefect_server, corpus_home):
    """Environment for running the real `corpus` entry point against the session's Prefect server."""
    env = dict(os.environ)
    env["PREFECT_API_URL"] = prefect_server
    env["CORPUS_HOME"] = str(corpus_home)
    return env


def run_cli(args: list[str], env: dict[str, str], check: bool = True, timeout: float = 300, **kw):
    """Run `corpus ARGS` as a user would; returns the CompletedProcess."""
    proc = subprocess.run([str(BIN / "corpus"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"corpus {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory, prefect_server) -> Path:
    """A warehouse holding the five samples, ingested once through the real flow (read it, don't write)."""
    from flows.ops import run_ingest

    home = tmp_path_factory.mktemp("sample_home")
    summary = run_ingest(home=str(home), inbox=str(SAMPLES))
    assert summary["n_new"] == 5, summary
    return home


def copy_samples(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in SAMPLES.iterdir():
        shutil.copy(f, dest / f.name)
    return dest
