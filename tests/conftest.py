"""Shared fixtures: one Prefect test server per session, temporary corpus homes, the sample corpus."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from transforms.telemetry import turn_off_analytics

turn_off_analytics()  # before Prefect or GX is imported

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


@contextmanager
def local_site(pages: dict[str, bytes]) -> Iterator[str]:
    """Serve `pages` (path -> HTML bytes) on 127.0.0.1, 404 for anything else; yields the base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def catalog_rows(home: Path, sql: str) -> list[tuple]:
    """Rows of a query on a home's plain read-out views in corpus.duckdb (what a bare DuckDB client sees)."""
    import duckdb

    con = duckdb.connect(str(home / "corpus.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def copy_samples(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in SAMPLES.iterdir():
        shutil.copy(f, dest / f.name)
    return dest


@pytest.fixture(scope="module")
def linker():
    """The name linker on the packaged gazetteer (a module may define its own)."""
    from transforms.names import Linker, load_gazetteer

    return Linker(load_gazetteer())


def link_pairs(linker, text: str) -> list[tuple[str, str]]:
    """(surface, entity id) of each mention `linker` finds in `text`, checking every offset on the way."""
    ms = linker.link(text)
    for m in ms:
        assert text[m.start : m.end] == m.surface
    return [(m.surface, m.entity_id) for m in ms]
