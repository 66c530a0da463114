"""`corpus`: a thin command line over flows.ops; every command is a library call."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text
from typer.core import TyperOption

from flows import ops
from transforms.errors import TransformError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=("Ingest noisy news articles into a clean, entity-linked corpus (Parquet + DuckDB)."),
)
quarantine_app = typer.Typer(no_args_is_help=True, help="See and retry held articles.")
entities_app = typer.Typer(no_args_is_help=True, help="Gazetteer tools.")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(entities_app, name="entities")

# Data is printed as it is: no Rich markup, no :emoji: codes, no highlighting on either console. Styled
# words are Text objects built in code; control characters in data are shown escaped (see visible()).
out = Console(soft_wrap=True, markup=False, emoji=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """Help shows `--json`, not `--json <bool>`: a flag takes no value."""
    return None if getattr(self, "is_flag", False) else _plain_type(self, ctx)


_plain_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def visible(value: Any) -> str:
    """`value` as text with control characters (ESC, BEL, CR, C1 codes...) written as \\xNN.

    A stored title holding ESC[31m must not recolour the terminal or move its cursor; tab and newline
    stay as they are.
    """
    text = "" if value is None else str(value)
    if text.isprintable() or not any(unicodedata.category(c) == "Cc" for c in text):
        return text
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) != "Cc" else f"\\x{ord(c):02x}" for c in text
    )


def _styled(*parts: str | tuple[str, str]) -> Text:
    """Text from plain strings (shown as they are) and (string, style) pairs."""
    return Text.assemble(*((visible(p), "") if isinstance(p, str) else (visible(p[0]), p[1]) for p in parts))


HomeOpt = Annotated[str | None, typer.Option("--home", help="Corpus home (default $CORPUS_HOME or ./corpus_data).")]
VerboseOpt = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Show Prefect's and GX's log lines on stderr (default: $CORPUS_LOG_LEVEL or WARNING)."
    ),
]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _console_logs(verbose: bool) -> None:
    """A run shows its progress bar and summary; Prefect's and GX's INFO lines only when asked.

    Only the console handler is quietened: Prefect's API handler still records every flow and task log
    line, so the run's full log stays in the Prefect UI.
    """
    import logging

    level = "INFO" if verbose else (os.environ.get("CORPUS_LOG_LEVEL") or "WARNING").strip().upper()
    if level not in LOG_LEVELS:
        _fail(f"CORPUS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = level  # read when Prefect sets its logging up
    for handler in logging.getLogger().handlers:  # Prefect already imported in this process (tests)
        if type(handler).__name__ == "PrefectConsoleHandler":
            handler.setLevel(level)


def _say_if_new_home(home: str | None) -> None:
    """A mistyped --home must not pass for an empty corpus: say that a new one is being made."""
    new_home = ops.is_new_home(home)
    if new_home is not None:
        err.print(visible(f"creating a new corpus home at {new_home}"))


def _fail(message: str, code: int = 2) -> None:
    err.print(_styled(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


@contextmanager
def _user_and_busy_errors() -> Iterator[None]:
    """Bad input exits 2, a busy or unusable warehouse exits 3, each as one line."""
    from warehouse import WarehouseError

    try:
        yield
    except ops.UserError as exc:
        _fail(str(exc))
    except WarehouseError as exc:
        _fail(str(exc), getattr(exc, "exit_code", 3))


def _run_with_progress(**kwargs: Any) -> dict[str, Any]:
    """Run the ingest flow with a progress bar when stderr is a terminal."""
    from flows import early_server
    from flows.guard import guard_children

    guard_children()  # no process (Prefect's temporary server) outlives this one, even under kill -9
    early_server.start()  # with no PREFECT_API_URL: the server boots while we import Prefect and GX
    from flows import ingest
    if not err.is_terminal:
        return ops.run_ingest(**kwargs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task_id = bar.add_task("ingest", total=None, info="starting Prefect")

        def hook(event: str, **f: Any) -> None:
            if event == "start":
                bar.update(task_id, total=f["total"], info="")
            elif event == "advance":
                bar.update(
                    task_id, advance=f["n"], info=f"new {f['new']} · dup {f['duplicate']} · held {f['quarantined']}"
                )

        ingest.progress_hook = hook
        try:
            return ops.run_ingest(**kwargs)
        finally:
            ingest.progress_hook = None


def _print_summary(s: dict[str, Any]) -> None:
    out.print(
        _styled(
            f"run {s['run_id']}: ", (f"{s['n_new']} new", "bold"), f", {s['n_duplicate']} duplicate(s), "
            f"{s['n_quarantined']} quarantined, {s['n_seen']} seen  (home: {s['home']})"
        )
    )
    for reason, n in sorted(s.get("quarantined_by_reason", {}).items()):
        out.print(visible(f"  quarantined {n} × {reason}"))
    if s.get("runner"):
        r = s["runner"]
        out.print(visible(f"  runner: {r['name']}" + (f" ({r['workers']} workers)" if r.get("workers") else "")
                          + f" - {r['reason']}"))
    if s.get("stage_seconds"):
        out.print("  seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in s["stage_seconds"].items()))


@app.command()
def ingest(
    home: HomeOpt = None,
    inbox: Annotated[
        str | None, typer.Option(help="Folder to ingest (default HOME/inbox; an outside folder is left untouched).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Articles per batch (default $CORPUS_BATCH_SIZE or 1000).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    dask: Annotated[
        bool,
        typer.Option(
            "--dask",
            help=("Clean and link on Dask: the cluster at $CORPUS_DASK_ADDRESS, else 2 local worker processes."),
        ),
    ] = False,
    runner: Annotated[
        str | None,
        typer.Option(
            "--runner",
            help=("Where clean and link run: thread, process or dask (default $CORPUS_RUNNER, else the "
                  "fastest here: worker processes for a large inbox on 2+ cores, threads for a small one)."),
        ),
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """One run of the Prefect ingest flow over the inbox."""
    from warehouse import WarehouseError

    _console_logs(verbose)
    _say_if_new_home(home)
    try:
        summary = _run_with_progress(home=home, inbox=inbox, batch_size=batch_size, dask=dask, runner=runner)
    except ops.UserError as exc:
        _fail(str(exc))
    except WarehouseError as exc:
        _fail(str(exc), getattr(exc, "exit_code", 3))  # 3 busy, 4 a damaged catalog
    except TransformError as exc:  # a broken rules file or gazetteer: the message names file and line
        _fail(str(exc), 2)
    except Exception as exc:  # noqa: BLE001 - the run failed; say why in one line, Prefect logged the rest
        _fail(f"the ingest run failed: {type(exc).__name__}: {exc}", 1)
    if json_out:
        out.print_json(json.dumps(summary, default=str))
    else:
        _print_summary(summary)


@app.command()
def add(
    targets: Annotated[list[str] | None, typer.Argument(help="Files, folders or http(s) URLs.")] = None,
    now: Annotated[bool, typer.Option("--now", help="Ingest at once.")] = False,
    from_file: Annotated[
        str | None, typer.Option("--from-file", help="A text file with one URL or path per line.")
    ] = None,
    home: HomeOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Put articles into the inbox (URLs are fetched with trafilatura)."""
    new_home = ops.is_new_home(home)
    try:
        res = ops.add_articles(list(targets or []), home=home, url_file=from_file)
    except ops.UserError as exc:
        _fail(str(exc))
    if new_home is not None and res.added:
        err.print(visible(f"creating a new corpus home at {new_home}"))
    for p in res.added:
        out.print(visible(f"added {p}"))
    for item, why in res.failed:
        err.print(_styled(("not added", "red"), f" {item}: {why}"))
    if now and res.added:
        if not _ingest_on_server(home):
            ingest(home=home, inbox=None, batch_size=None, json_out=False, dask=False, runner=None, verbose=verbose)
    if res.failed:
        raise typer.Exit(2 if res.missing else 1)


def _ingest_on_server(home: str | None) -> bool:
    """Hand the run to a running `corpus serve` for this home and print its summary; False when none serves it."""
    from flows import fastpath
    from warehouse.paths import resolve_home

    if os.environ.get("CORPUS_NO_SERVER", "").strip() in ("1", "true", "yes"):
        return False
    try:
        summary = fastpath.run_on_server(resolve_home(home))
    except fastpath.NoServer:
        return False
    except fastpath.ServedRunFailed as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _fail("interrupted: the run goes on in the served deployment", 130)
    _print_summary(summary)
    by = summary["served_by"]
    pid = (by.get("infrastructure_pid") or "").rsplit(":", 1)[-1]
    out.print(visible(f"  ran by corpus serve (pid {pid}) as flow run {by['flow_run']} at {by['api_url']}"))
    return True


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="When to run, as a five-field cron expression.")] = "*/15 * * * *",
    home: HomeOpt = None,
    inbox: Annotated[str | None, typer.Option(help="Folder each run reads (default HOME/inbox).")] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help=(
                "Port of the local Prefect server started when PREFECT_API_URL is unset "
                "(default 4200, else any free one)."
            )
        ),
    ] = None,
) -> None:
    """Serve the ingest flow as a Prefect deployment on a schedule (starts a local server when needed)."""
    from flows.serve import ServerStartError
    from flows.serve import serve as serve_flow

    try:
        serve_flow(home, cron=cron, inbox=inbox, port=port, echo=lambda m: out.print(visible(m)))
    except ops.UserError as exc:
        _fail(str(exc))
    except ServerStartError as exc:
        _fail(str(exc), 1)


def _render(cols: list[str], rows: list[tuple], fmt: str) -> None:
    """Rows as a table, CSV or JSON, every value verbatim (control characters escaped on a terminal)."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
        # piped or redirected, CSV is the data byte for byte; on a terminal, control characters are escaped
        sys.stdout.write(visible(buf.getvalue()) if sys.stdout.isatty() else buf.getvalue())
    elif fmt == "json":
        sys.stdout.write(
            json.dumps([dict(zip(cols, r, strict=True)) for r in rows], default=str, ensure_ascii=False, indent=1)
            + "\n"
        )
    else:
        t = Table(*(Column(Text(visible(c))) for c in cols), show_lines=False)
        for r in rows:
            t.add_row(*(Text(visible(v)) for v in r))
        # off a terminal Rich assumes 80 columns and wraps every cell; give tables room instead
        (out if out.is_terminal else Console(width=240, markup=False, emoji=False, highlight=False)).print(t)


@app.command(context_settings={"ignore_unknown_options": True})
def sql(
    query: Annotated[
        str,
        typer.Argument(
            help="One read-only SQL statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN); - reads it "
            "from stdin. A query may start with a -- comment.",
            show_default=False,
        ),
    ],
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    home: HomeOpt = None,
    timeout: Annotated[
        float, typer.Option(help="Stop the query after this many seconds (exit 124); 0 = no limit.")
    ] = 300.0,
) -> None:
    """Read-only SQL on the warehouse, in DuckDB's sandbox, on a snapshot of the catalog."""
    from warehouse import WarehouseError
    from warehouse.reader import QueryTimeout

    if format not in ("table", "csv", "json"):
        _fail(f"--format must be table, csv or json, not {format!r}")
    if query == "-":
        query = sys.stdin.read()
    if not query.strip():
        _fail("the query is empty: give one SQL statement, e.g. corpus sql \"select count(*) from articles\"")
    try:
        cols, rows = ops.query(query, home=home, timeout=timeout)
    except QueryTimeout as exc:
        _fail(str(exc), 124)
    except KeyboardInterrupt:
        _fail("interrupted: the query was stopped", 130)
    except (ops.UserError, WarehouseError) as exc:
        _fail(str(exc))
    _render(cols, rows, format)


@app.command()
def status(home: HomeOpt = None) -> None:
    """Counts, last runs, quarantine, latest validation results."""
    from warehouse import WarehouseError

    try:
        s = ops.status(home)
    except WarehouseError as exc:
        _fail(str(exc))
    out.print(_styled(("corpus home", "bold"), " ", s["home"]))
    _render(["table", "rows"], list(s["counts"].items()), "table")
    out.print(_styled(("inbox", "bold"), f": {s['n_inbox']} file(s) waiting"))
    out.print(_styled(("last runs", "bold")))
    _render(["run_id", "status", "started_at", "finished_at", "seen", "new", "dup", "quarantined"], s["runs"], "table")
    out.print(_styled(("quarantine", "bold"), f": {s['n_held']} held" + (" (latest 20)" if s["n_held"] > 20 else "")))
    if s["quarantine"]:
        _render(["source_name", "stage", "reason", "detail", "at"], s["quarantine"], "table")
    failed = [v for v in s["validation"] if not v[2]]
    out.print(
        _styled(
            ("latest validation", "bold"),
            f": {len(s['validation']) - len(failed)} of {len(s['validation'])} "
            "expectations passed on the last validated run",
        )
    )
    if failed:
        _render(["suite", "expectation", "success", "unexpected"], failed, "table")
    if s["data_docs"]:
        out.print(visible(f"Data Docs: file://{s['data_docs']}"))


@quarantine_app.command("list")
def quarantine_list(
    home: HomeOpt = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Include resolved rows.")] = False,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
) -> None:
    """What is held in quarantine, with stage and reason."""
    from warehouse import WarehouseError

    if format not in ("table", "csv", "json"):
        _fail(f"--format must be table, csv or json, not {format!r}")
    try:
        cols, rows = ops.quarantine_rows(home, include_resolved=all_rows)
    except WarehouseError as exc:
        _fail(str(exc))
    if not rows and format == "table":
        out.print("nothing is held" if not all_rows else "the quarantine is empty")
        return
    _render(cols, rows, format)


@quarantine_app.command("retry")
def quarantine_retry(home: HomeOpt = None, verbose: VerboseOpt = False) -> None:
    """Re-run held articles from the archive (after a fix to rules, gazetteer or limits)."""
    from warehouse import WarehouseError

    _console_logs(verbose)
    try:
        summary = _run_with_progress(home=home, retry_quarantined=True)
    except WarehouseError as exc:
        _fail(str(exc), 3)
    except Exception as exc:  # noqa: BLE001 - the run failed; say why in one line, Prefect logged the rest
        _fail(f"the retry run failed: {type(exc).__name__}: {exc}", 1)
    _print_summary(summary)


# ---- new names and re-linking (issue 10) -------------------------------------------------------
@entities_app.command("suggest")
def entities_suggest(
    home: HomeOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many clusters.")] = 20,
    min_count: Annotated[int, typer.Option(help="Only clusters named at least this often in all.")] = 1,
    min_spellings: Annotated[int, typer.Option(help="Only clusters with at least this many spellings.")] = 2,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Clusters of name spellings in the corpus that match no known entity, most named first."""
    from warehouse import WarehouseError

    if format not in ("table", "json"):
        _fail(f"--format must be table or json, not {format!r}")
    try:
        res = ops.suggest_entities(home, min_count=min_count, min_spellings=min_spellings)
    except WarehouseError as exc:
        _fail(str(exc))
    shown = res.clusters[:limit]
    if format == "json":
        sys.stdout.write(
            json.dumps(
                [
                    {
                        "cluster": c.cluster_id,
                        "count": c.count,
                        "name": c.best_name,
                        "spellings": [
                            {
                                "spelling": s.text,
                                "count": s.count,
                                "articles": s.n_articles,
                                "surname": s in c.surnames,
                                "example": s.example,
                            }
                            for s in c.members
                        ],
                    }
                    for c in shown
                ],
                ensure_ascii=False,
                indent=1,
            )
            + "\n"
        )
        return
    t = Table("cluster", "count", "spelling (count)", "example", show_lines=False)
    for c in shown:
        for i, s in enumerate(c.members):
            t.add_row(
                Text(c.cluster_id if i == 0 else ""),
                Text(str(c.count) if i == 0 else ""),
                Text(visible(f"{s.text} ({s.count})" + (" [surname]" if s in c.surnames else ""))),
                Text(visible(s.example)),
                end_section=i == len(c.members) - 1,
            )
    out.print(t)
    out.print(
        f"{len(shown)} of {len(res.clusters)} cluster(s) from {res.n_candidates} unknown spelling(s) in "
        f"{res.n_articles} article(s). `corpus entities accept CLUSTER` makes one an entity, "
        "`corpus entities reject CLUSTER` keeps its spellings apart.",
    )
    if res.pending:
        out.print(
            f"{res.pending} accepted spelling(s) are not linked in the stored articles yet: run `corpus renormalize`.",
            highlight=False,
        )


@entities_app.command("accept")
def entities_accept(
    cluster: Annotated[str, typer.Argument(help="A cluster id from `corpus entities suggest`.")],
    home: HomeOpt = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Entity id (default: a slug of the name).")] = None,
    name: Annotated[str | None, typer.Option(help="Canonical name (default: the most used spelling).")] = None,
    etype: Annotated[str | None, typer.Option("--type", help="PERSON, ORG or PLACE (default PERSON).")] = None,
) -> None:
    """Make a suggested cluster a gazetteer entity (HOME/gazetteer/local.yaml)."""
    from warehouse import WarehouseError

    try:
        acc = ops.accept_entity(cluster, home, entity_id=entity_id, name=name, etype=etype)
    except (ops.UserError, WarehouseError) as exc:
        _fail(str(exc))
    out.print(
        f"accepted {cluster} as {acc.id} ({acc.type}) '{acc.name}': {', '.join(acc.spellings)}"
        + (f"; surnames {', '.join(acc.surnames)}" if acc.surnames else ""),
    )
    out.print("run `corpus renormalize` to link the stored articles with it")


@entities_app.command("reject")
def entities_reject(
    cluster: Annotated[str, typer.Argument(help="A cluster id from `corpus entities suggest`.")],
    home: HomeOpt = None,
    spelling: Annotated[
        list[str] | None,
        typer.Option("--spelling", help="Keep only this spelling apart from the rest of the cluster (repeatable)."),
    ] = None,
) -> None:
    """Record that a cluster's spellings are not one entity; none of its pairs is proposed again."""
    from warehouse import WarehouseError

    try:
        rej = ops.reject_entity(cluster, home, spellings=list(spelling or []) or None)
    except (ops.UserError, WarehouseError) as exc:
        _fail(str(exc))
    out.print(f"rejected {cluster}: {len(rej.pairs)} pair(s) of spellings kept apart")


@app.command()
def renormalize(
    home: HomeOpt = None,
    batch_size: Annotated[int | None, typer.Option(help="Articles per task (default $CORPUS_BATCH_SIZE).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Re-link every stored article with the current gazetteer (a Prefect flow; never reads the inbox)."""
    from flows.guard import guard_children

    _console_logs(verbose)
    guard_children()
    with _user_and_busy_errors():
        s = ops.run_renormalize(home, batch_size=batch_size)
    if json_out:
        out.print_json(json.dumps(s, default=str))
    else:
        out.print(
            f"run {s['run_id']}: re-linked {s['n_articles']} article(s), {s['n_changed']} changed; "
            f"{s['n_mentions']} mention(s) (were {s['n_mentions_before']})  (home: {s['home']})",
            highlight=False,
        )


@app.command()
def compact(
    home: HomeOpt = None,
    rows_per_file: Annotated[int, typer.Option(help="Rows per merged Parquet file.")] = 20_000,
) -> None:
    """Merge the lake's many small batch files into a few large ones (months of scheduled runs add up)."""
    with _user_and_busy_errors():
        result = ops.compact(home, rows_per_file=rows_per_file)
    for table, (before, after) in result.items():
        out.print(f"{table}: {before} file(s) -> {after}")


# ---- reliability (issue 17): rebuild from the archive, check the lake ---------------------------
@app.command()
def rebuild(
    home: HomeOpt = None,
    batch_size: Annotated[int | None, typer.Option(help="Articles per batch (default $CORPUS_BATCH_SIZE).")] = None,
) -> None:
    """Rebuild catalog and lake from archive/ alone (the old ones are moved aside to HOME/replaced-*)."""
    from flows import repair
    from flows.guard import guard_children

    guard_children()
    with _user_and_busy_errors():  # RepairError is a UserError: one line, exit 2
        s = repair.rebuild(home, batch_size=batch_size)
    if s["moved_aside"]:
        out.print(f"moved the old catalog and lake to {s['moved_aside']}", highlight=False)
    out.print(
        f"rebuilt {s['home']} from {s['n_blobs']} archived file(s) in {s['n_runs']} run(s): {s['n_new']} new, "
        f"{s['n_duplicate']} duplicate(s), {s['n_quarantined']} quarantined"
        + (f"; {s['n_missing']} indexed file(s) missing from the archive" if s["n_missing"] else ""),
        highlight=False,
    )


@app.command()
def check(
    home: HomeOpt = None,
    repair_: Annotated[
        bool, typer.Option("--repair", help="Retire damaged lake files and re-land their articles from the archive.")
    ] = False,
) -> None:
    """Verify lake files against the catalog (exist, readable, row counts); exit 1 when something is damaged."""
    from flows import repair
    from flows.guard import guard_children

    if repair_:
        guard_children()
    with _user_and_busy_errors():
        r = repair.check(home, repair=repair_)
    out.print(f"{r.n_files} lake file(s), {r.n_rows} row(s) checked in {r.home}", highlight=False)
    for table, rel, problem in r.damaged:
        out.print(f"damaged: {table}: {rel}: {problem}", highlight=False, markup=False)
    if r.unknown:
        out.print(f"{len(r.unknown)} lake file(s) the catalog does not name (kept; invisible to queries)",
                  highlight=False)
    if r.missing_blobs:
        out.print(f"{r.missing_blobs} archived file(s) named in archive/index.jsonl are missing", highlight=False)
    if r.repaired is not None:
        out.print(
            f"repaired: retired {len(r.repaired['retired'])} file(s), re-landed {r.repaired['n_new']} article(s) "
            "from the archive"
            + (f"; damaged files moved to {r.repaired['moved_to']}" if r.repaired["moved_to"] else ""),
            highlight=False,
        )
    elif r.damaged:
        out.print("run `corpus check --repair` to re-land them from the archive", highlight=False)
    if not r.ok and r.repaired is None:
        raise typer.Exit(1)


def main() -> int:
    try:
        app()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else (print(exc.code, file=sys.stderr) or 2)
    return 0
