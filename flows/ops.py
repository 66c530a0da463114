"""Library calls behind each CLI command, so tests can call them directly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.fetch import FetchError, fetch_url, is_url, name_for_url
from flows.settings import Settings
from transforms.errors import UserError
from warehouse import Warehouse, connect_readonly
from warehouse.inbox import add_bytes, ignored_entries, scan_inbox
from warehouse.paths import HomeLayout, resolve_home
from warehouse.store import catalog_exists

CONTRACT_TABLES = ("articles", "mentions", "removed_spans", "entities", "quarantine", "runs")


def run_ingest(home: str | None = None, inbox: str | None = None, batch_size: int | None = None,
               retry_quarantined: bool = False, dask: bool = False, runner: str | None = None,
               progress: Callable[..., None] | None = None) -> dict[str, Any]:
    """One run of the Prefect ingest flow; `runner` thread|process|dask (None or "auto": the fastest here;
    `dask` is --dask). `progress` is called as (event, **fields) for "start", each "advance" and "done".

    The summary says which runner cleaned and linked, and why (`runner`: name, workers, reason).
    """
    from flows.runners import RunnerError, choose_runner, estimate_articles

    if inbox is not None and not Path(inbox).is_dir():
        raise UserError(f"inbox {inbox} is not a folder")
    settings = Settings.from_env(home=home, batch_size=batch_size)
    inbox_path = Path(inbox) if inbox else HomeLayout(settings.home).inbox
    n_waiting = 0 if retry_quarantined else estimate_articles(inbox_path)
    try:
        requested = "dask" if dask else (runner or settings.runner)
        choice = choose_runner(requested, n_waiting if not retry_quarantined else 0, settings.batch_size)
    except RunnerError as exc:
        raise UserError(str(exc)) from None
    from flows import early_server
    from flows.ingest import check_data_files, ingest_flow, start_gx_warm_up

    if n_waiting or retry_quarantined:  # an empty inbox validates nothing: no GX import, no context
        start_gx_warm_up(force=early_server.started())
    # Before a flow run exists: a broken rules file or gazetteer, or a busy warehouse, is a plain message.
    check_data_files(settings)
    Warehouse(settings.home).check_catalog()  # a damaged catalog: one line and exit 4, no flow run
    Warehouse(settings.home).wait_until_free(settings.lock_timeout)
    early_server.wait_until_healthy()  # the temporary server the CLI started first (flows/early_server.py)
    kwargs: dict[str, Any] = dict(home=str(resolve_home(home)), inbox=inbox, batch_size=batch_size,
                                  retry_quarantined=retry_quarantined, progress=progress)
    with flow_on_runner(ingest_flow, choice, settings) as flow:
        summary = flow(**kwargs)
    summary["runner"] = choice.as_dict()
    return summary


@contextmanager
def flow_on_runner(flow: Any, choice: Any, settings: Settings) -> Iterator[Any]:
    """`flow` with the task runner of `choice` (flows/runners.py), for one run inside what that runner needs:
    the process runner's lean workers (flows/workers.py), or Dask workers that record their task runs on the
    flow's server. The thread runner is the flow as it is."""
    from flows.runners import task_runner, worker_pool

    runner_obj = task_runner(choice, settings.dask_address)
    with worker_pool(choice, settings):
        if runner_obj is None:
            yield flow
        else:
            with _one_api_for_dask_workers():
                yield flow.with_options(task_runner=runner_obj)


# ---- Dask scale-out (issue 7) ------------------------------------------------------------------
DASK_LOCAL_WORKERS = 2


def dask_task_runner(address: str | None = None, n_workers: int = DASK_LOCAL_WORKERS):
    """A DaskTaskRunner on the cluster at `address` or $CORPUS_DASK_ADDRESS, else on local worker processes."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise UserError("--dask needs prefect-dask: pip install 'corpus-pipeline[dask]'") from exc
    address = address or Settings.from_env().dask_address
    if address:
        return DaskTaskRunner(address=address)
    # one thread per process: clean and link are pure-Python CPU work, so processes, not threads, add cores;
    # no dashboard, so no port to collide with and no bokeh needed
    return DaskTaskRunner(cluster_kwargs={"n_workers": n_workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


@contextmanager
def _one_api_for_dask_workers() -> Iterator[None]:
    """With no PREFECT_API_URL, point Dask workers at the flow's temporary server.

    Workers are other processes: left alone, each starts its own temporary Prefect server (~5 s) and
    records its task runs there, out of sight. Task runners pass the settings context to workers, so
    naming the server's URL in it is enough.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    # the same per-process singleton Prefect's client starts in ephemeral mode (and stops at exit)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield


# ---- end Dask scale-out ------------------------------------------------------------------------


@dataclass
class AddResult:
    added: list[Path]
    failed: list[tuple[str, str]]
    missing: int = 0  # how many of `failed` name no file, folder or URL at all (a usage error, exit 2)


def add_articles(targets: list[str], home: str | None = None, url_file: str | None = None) -> AddResult:
    """Copy files (or a folder's files) and fetched URLs into the inbox."""
    settings = Settings.from_env(home=home)
    inbox = HomeLayout(settings.home).inbox
    items = list(targets)
    if url_file:
        try:
            lines = Path(url_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"cannot read URL list {url_file}: {exc.strerror or exc}") from exc
        items += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not items:
        raise UserError("nothing to add: give files, folders or URLs")
    result = AddResult([], [])
    for item in items:
        if is_url(item):
            try:
                data = fetch_url(item, timeout=settings.fetch_timeout, max_bytes=settings.max_file_bytes,
                                 allow_private=settings.fetch_allow_private)
            except FetchError as exc:
                result.failed.append((item, str(exc)))
                continue
            result.added.append(add_bytes(inbox, name_for_url(item), data))
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files = [path]
        else:
            result.failed.append((item, "no such file, folder or http(s) URL"))
            result.missing += 1
            continue
        for f in files:
            try:
                data = f.read_bytes()
            except OSError as exc:
                result.failed.append((str(f), f"cannot read: {exc.strerror or exc}"))
                continue
            result.added.append(add_bytes(inbox, f.name, data))
    return result


def query(sql: str, home: str | None = None, timeout: float | None = None,
          as_of: str | None = None) -> tuple[list[str], list[tuple]]:
    """Run one read-only statement in the sandbox, on a snapshot of the catalog; returns (column names, rows).

    A refused or failing statement raises warehouse.reader.RefusedQuery (a WarehouseError), the time limit
    QueryTimeout. `timeout` defaults to warehouse.reader.DEFAULT_TIMEOUT (300 s).
    """
    from warehouse import reader

    return reader.run_query(sql, home, reader.DEFAULT_TIMEOUT if timeout is None else timeout, as_of=as_of)


def status(home: str | None = None) -> dict[str, Any]:
    """Table counts, the last runs, what is in quarantine, latest validation results."""
    import duckdb

    from warehouse import WarehouseError

    layout = HomeLayout(resolve_home(home))
    con = connect_readonly(home)
    try:
        counts = {t: _scalar(con, f"SELECT count(*) FROM {t}") for t in CONTRACT_TABLES}
        # DuckLake answers count(*) from its catalog: open each data file's footer, so a damaged file shows here
        import pyarrow.parquet as pq

        for t in CONTRACT_TABLES:
            for (path,) in con.execute("SELECT data_file FROM ducklake_list_files('lake', ?)", [t]).fetchall():
                try:
                    pq.read_metadata(path)
                except Exception as exc:
                    raise duckdb.IOException(f"{path}: {str(exc).splitlines()[0] if str(exc) else exc}") from exc
        runs = con.execute(
            "SELECT run_id, status, started_at, finished_at, n_seen, n_new, n_duplicate, n_quarantined "
            "FROM runs ORDER BY started_at DESC LIMIT 5").fetchall()
        held = con.execute(
            "SELECT source_name, stage, reason, detail, quarantined_at FROM quarantine "
            "WHERE resolved_at IS NULL ORDER BY quarantined_at DESC LIMIT 20").fetchall()
        n_held = _scalar(con, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL")
        validation = con.execute(
            "SELECT suite, expectation, success, unexpected_count FROM validation_results "
            "WHERE run_id = (SELECT run_id FROM validation_results ORDER BY checked_at DESC LIMIT 1) "
            "ORDER BY success, suite, expectation").fetchall()
    except duckdb.Error as exc:  # e.g. a damaged lake file: one line that says what to run
        raise WarehouseError(f"cannot read the warehouse ({str(exc).splitlines()[0]}): run `corpus check`") from exc
    finally:
        con.close()
    docs_index = layout.docs / "index.html"
    waiting, refused = scan_inbox(layout.inbox)
    # nothing sits in the inbox unseen: hidden names, what was set aside, and what the next run refuses
    ignored = [{"name": r.name, "why": f"refused by the next run ({r.reason})"} for r in refused]
    ignored += [{"name": i.name, "why": i.why} for i in ignored_entries(layout.inbox)]
    return {
        "home": str(layout.home), "counts": counts, "runs": runs, "quarantine": held, "n_held": n_held,
        "validation": validation, "data_docs": str(docs_index) if docs_index.exists() else None,
        "n_inbox": len(waiting), "n_ignored": len(ignored), "ignored": ignored,
    }


def is_new_home(home: str | None = None) -> Path | None:
    """The resolved home when it holds no warehouse yet (a first run, or a mistyped --home), else None."""
    path = resolve_home(home)
    return None if catalog_exists(HomeLayout(path)) else path


def quarantine_rows(home: str | None = None, include_resolved: bool = False) -> tuple[list[str], list[tuple]]:
    """What is held in quarantine."""
    where = "" if include_resolved else "WHERE resolved_at IS NULL"
    return query(
        "SELECT source_name, stage, reason, detail, run_id, quarantined_at, content_sha256, resolved_at "
        f"FROM quarantine {where} ORDER BY quarantined_at", home)


# ---- new names and re-linking (issue 10) -------------------------------------------------------
def suggest_entities(home: str | None = None, min_count: int = 1, min_spellings: int = 2):
    """Clusters of unknown name spellings in the corpus (flows/entities.py)."""
    from flows import entities

    return entities.suggest(home, min_count=min_count, min_spellings=min_spellings)


def accept_entity(cluster: str, home: str | None = None, entity_id: str | None = None, name: str | None = None,
                  etype: str | None = None):
    """Make a suggested cluster a gazetteer entity (HOME/gazetteer/local.yaml)."""
    from flows import entities

    return entities.accept_cluster(home, cluster, entity_id, name, etype)  # EntitiesError is a UserError


def reject_entity(cluster: str, home: str | None = None, spellings: list[str] | None = None):
    """Record that a cluster's spellings are not one entity; no such pair is proposed again."""
    from flows import entities

    return entities.reject_cluster(home, cluster, spellings)


def run_renormalize(home: str | None = None, batch_size: int | None = None) -> dict[str, Any]:
    """Re-link the stored corpus with the current gazetteer (the Prefect renormalize flow)."""
    from flows.ingest import check_data_files
    from flows.renormalize import renormalize_flow

    layout = HomeLayout(resolve_home(home))
    if not catalog_exists(layout):
        raise UserError(f"no warehouse at {layout.db}: run `corpus ingest` first")
    settings = Settings.from_env(home=home, batch_size=batch_size)
    check_data_files(settings)  # a broken gazetteer is one line naming file and line, before any flow run
    Warehouse(layout.home).wait_until_free(settings.lock_timeout)
    return renormalize_flow(home=str(layout.home), batch_size=batch_size)


def compact(home: str | None = None, rows_per_file: int = 20_000,
            keep_days: float | None = None) -> dict[str, tuple[int, int]]:
    """Merge the lake's small files and expire snapshots older than `keep_days`, under the writer lock."""
    import uuid

    settings = Settings.from_env(home=home)
    wh = Warehouse(settings.home)
    if not catalog_exists(wh.layout):
        raise UserError(f"no warehouse at {wh.layout.db}: run `corpus ingest` first")
    with wh.writer(settings.lock_timeout) as writer:
        return writer.compact(f"compact-{uuid.uuid4().hex[:12]}", rows_per_file=rows_per_file, keep_days=keep_days)


def runs(home: str | None = None) -> list[tuple]:
    """Every run with the lake snapshot the corpus stood at after it (for `corpus sql --as-of RUN_ID`)."""
    from warehouse.reader import open_lake_copy
    from warehouse.store import _snapshot_rows

    layout = HomeLayout(resolve_home(home))
    con, tmp = open_lake_copy(layout)
    try:
        last: dict[str, int] = {}
        for sid, _, _, run in _snapshot_rows(con, "lake"):
            if run:
                last[run] = sid
        rows = con.execute(
            "SELECT run_id, status, started_at, finished_at, n_new, n_duplicate, n_quarantined FROM runs "
            "ORDER BY started_at").fetchall()
    finally:
        con.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return [(r[0], last.get(r[0]), *r[1:]) for r in rows]


def search(query_text: str, home: str | None = None, entity: str | None = None, since: str | None = None,
           limit: int = 10) -> list[dict[str, Any]]:
    """Full-text search (BM25) over titles and clean text: title, outlet, date and a highlighted snippet."""
    from warehouse.search import search as _search

    return _search(resolve_home(home), query_text, entity=entity, since=since, limit=limit)


def migrate(home: str | None = None) -> dict[str, Any]:
    """Bring a home written by an older version to the current format (a writer run does it by itself)."""
    from warehouse.store import is_old_format

    settings = Settings.from_env(home=home)
    wh = Warehouse(settings.home)
    if not catalog_exists(wh.layout):
        raise UserError(f"no warehouse at {wh.layout.db}: run `corpus ingest` first")
    was_old = wh.layout.catalog.is_file and is_old_format(wh.layout.db)
    with wh.writer(settings.lock_timeout) as writer, writer.connect() as con:
        version = _scalar(con, "SELECT value FROM _meta WHERE key = 'schema_version'")
        origin = con.execute("SELECT value FROM _meta WHERE key = 'migrated_from'").fetchone()
    return {"home": str(wh.layout.home), "migrated": was_old, "schema_version": int(version),
            "migrated_from": origin[0] if origin else None}


def _scalar(con: Any, sql: str) -> Any:
    """The one value a query that always answers one row gives."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise RuntimeError(f"no row from: {sql}")
    return row[0]
