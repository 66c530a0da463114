"""`corpus`: a thin command line over flows.ops; every command is a library call."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import sys
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text
from typer.core import TyperOption

from flows import ops
from transforms.errors import CorpusError

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


def maps_errors(failed: str | None = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The CLI's one error mapping, for every command: a CorpusError is one line and its `exit_code` (2 bad
    input or a broken data file, 3 busy warehouse, 4 damaged catalog, ...; table in README "Exit codes").
    With `failed` ("the ingest run failed"), any other error is one line too, exit 1: Prefect logged the rest."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> None:
            try:
                command(*args, **kwargs)
            except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.ClickException,
                    click.exceptions.Abort):
                raise  # exits already decided (_fail, typer.Exit(1)) and usage errors
            except CorpusError as exc:
                _fail(str(exc), exc.exit_code)
            except Exception as exc:
                if failed is None:
                    raise  # a bug: the traceback is the report
                _fail(f"{failed}: {type(exc).__name__}: {exc}", 1)

        return run

    return decorate


def _run_with_progress(**kwargs: Any) -> dict[str, Any]:
    """Run the ingest flow with a progress bar when stderr is a terminal."""
    from flows import early_server, startup
    from flows.guard import guard_children

    # no full collections while Prefect and GX import: early_server.wait_until_healthy(), which ops.run_ingest
    # calls just before the flow, resumes them (or the finally below, if the run ends before that)
    startup.pause_gc()
    try:
        guard_children()  # no process (Prefect's temporary server) outlives this one, even under kill -9
        early_server.start()  # with no PREFECT_API_URL: the server boots while we import Prefect and GX
        return _run_ingest_shown(**kwargs)
    finally:
        startup.resume_gc()


def _run_ingest_shown(**kwargs: Any) -> dict[str, Any]:
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

        return ops.run_ingest(**kwargs, progress=hook)


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
@maps_errors("the ingest run failed")
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
    _console_logs(verbose)
    _say_if_new_home(home)
    summary = _run_with_progress(home=home, inbox=inbox, batch_size=batch_size, dask=dask, runner=runner)
    if json_out:
        out.print_json(json.dumps(summary, default=str))
    else:
        _print_summary(summary)


@app.command()
@maps_errors()
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
    res = ops.add_articles(list(targets or []), home=home, url_file=from_file)
    if new_home is not None and res.added:
        err.print(visible(f"creating a new corpus home at {new_home}"))
    for p in res.added:
        out.print(visible(f"added {p}"))
    for item, why in res.failed:
        err.print(_styled(("not added", "red"), f" {item}: {why}"))
    if now and res.added and not _ingest_on_server(home):
        ingest(home=home, inbox=None, batch_size=None, json_out=False, dask=False, runner=None, verbose=verbose)
    if res.failed:
        raise typer.Exit(2 if res.missing else 1)


def _ingest_on_server(home: str | None) -> bool:
    """Hand the run to a running `corpus serve` for this home and print its summary; False when none serves it."""
    from flows import fastpath
    from flows.settings import Settings
    from warehouse.paths import resolve_home

    if Settings.from_env(home).no_server:
        return False
    try:
        summary = fastpath.run_on_server(resolve_home(home))
    except fastpath.NoServer as exc:
        if fastpath.candidate_apis(resolve_home(home)):  # a server was expected to take it: say why it did not
            err.print(visible(f"running here, not by corpus serve: {exc}"))
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
@maps_errors()
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
    runner: Annotated[
        str | None,
        typer.Option(
            "--runner",
            help=(
                "Where scheduled runs clean and link: thread, process, dask or auto (as for `corpus ingest`); "
                "default Prefect's threads. `corpus add --now` runs always use threads."
            ),
        ),
    ] = None,
) -> None:
    """Serve the ingest flow as a Prefect deployment on a schedule (starts a local server when needed)."""
    from flows.serve import serve as serve_flow

    os.environ.pop("CORPUS_SEARCH_AFTER_PID", None)  # a long-lived process: its search rebuilds start at once
    serve_flow(home, cron=cron, inbox=inbox, port=port, echo=lambda m: out.print(visible(m)), runner=runner)


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
@maps_errors()
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
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Answer as the corpus stood after a run (RUN_ID) or at a time.")
    ] = None,
) -> None:
    """Read-only SQL on the warehouse, in DuckDB's sandbox, on a snapshot of the catalog."""
    if format not in ("table", "csv", "json"):
        _fail(f"--format must be table, csv or json, not {format!r}")
    if query == "-":
        query = sys.stdin.read()
    if not query.strip():
        _fail("the query is empty: give one SQL statement, e.g. corpus sql \"select count(*) from articles\"")
    try:
        cols, rows = ops.query(query, home=home, timeout=timeout, as_of=as_of)  # refused: exit 2, timeout: 124
    except KeyboardInterrupt:
        _fail("interrupted: the query was stopped", 130)
    _render(cols, rows, format)


@app.command()
@maps_errors()
def status(home: HomeOpt = None) -> None:
    """Counts, last runs, quarantine, latest validation results."""
    s = ops.status(home)
    out.print(_styled(("corpus home", "bold"), " ", s["home"]))
    _render(["table", "rows"], list(s["counts"].items()), "table")
    out.print(_styled(("inbox", "bold"), f": {s['n_inbox']} file(s) waiting, {s['n_ignored']} ignored"
                      + (" (first 20)" if s["n_ignored"] > 20 else "")))
    if s["ignored"]:
        _render(["ignored", "why"], [(i["name"], i["why"]) for i in s["ignored"][:20]], "table")
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
@maps_errors()
def quarantine_list(
    home: HomeOpt = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Include resolved rows.")] = False,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
) -> None:
    """What is held in quarantine, with stage and reason."""
    if format not in ("table", "csv", "json"):
        _fail(f"--format must be table, csv or json, not {format!r}")
    cols, rows = ops.quarantine_rows(home, include_resolved=all_rows)
    if not rows and format == "table":
        out.print("nothing is held" if not all_rows else "the quarantine is empty")
        return
    _render(cols, rows, format)


@quarantine_app.command("retry")
@maps_errors("the retry run failed")
def quarantine_retry(home: HomeOpt = None, verbose: VerboseOpt = False) -> None:
    """Re-run held articles from the archive (after a fix to rules, gazetteer or limits)."""
    _console_logs(verbose)
    summary = _run_with_progress(home=home, retry_quarantined=True)
    _print_summary(summary)


# ---- new names and re-linking (issue 10) -------------------------------------------------------
def _clusters_json(clusters: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "cluster": c.cluster_id,
            "count": c.count,
            "name": c.best_name,
            "spellings": [
                {"spelling": s.text, "count": s.count, "articles": s.n_articles, "surname": s in c.surnames,
                 "example": s.example}
                for s in c.members
            ],
        }
        for c in clusters
    ]


@entities_app.command("suggest")
@maps_errors()
def entities_suggest(
    home: HomeOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many clusters.")] = 20,
    min_count: Annotated[int, typer.Option(help="Only clusters named at least this often in all.")] = 1,
    min_spellings: Annotated[int, typer.Option(help="Only clusters with at least this many spellings.")] = 2,
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Clusters of name spellings in the corpus that match no known entity, most named first."""
    if format not in ("table", "json"):
        _fail(f"--format must be table or json, not {format!r}")
    res = ops.suggest_entities(home, min_count=min_count, min_spellings=min_spellings)
    shown = res.clusters[:limit]
    if format == "json":
        sys.stdout.write(json.dumps(_clusters_json(shown), ensure_ascii=False, indent=1) + "\n")
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
@maps_errors()
def entities_accept(
    cluster: Annotated[str, typer.Argument(help="A cluster id from `corpus entities suggest`.")],
    home: HomeOpt = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Entity id (default: a slug of the name).")] = None,
    name: Annotated[str | None, typer.Option(help="Canonical name (default: the most used spelling).")] = None,
    etype: Annotated[str | None, typer.Option("--type", help="PERSON, ORG or PLACE (default PERSON).")] = None,
) -> None:
    """Make a suggested cluster a gazetteer entity (HOME/gazetteer/local.yaml)."""
    acc = ops.accept_entity(cluster, home, entity_id=entity_id, name=name, etype=etype)
    out.print(
        f"accepted {cluster} as {acc.id} ({acc.type}) '{acc.name}': {', '.join(acc.spellings)}"
        + (f"; surnames {', '.join(acc.surnames)}" if acc.surnames else ""),
    )
    out.print("run `corpus renormalize` to link the stored articles with it")


@entities_app.command("reject")
@maps_errors()
def entities_reject(
    cluster: Annotated[str, typer.Argument(help="A cluster id from `corpus entities suggest`.")],
    home: HomeOpt = None,
    spelling: Annotated[
        list[str] | None,
        typer.Option("--spelling", help="Keep only this spelling apart from the rest of the cluster (repeatable)."),
    ] = None,
) -> None:
    """Record that a cluster's spellings are not one entity; none of its pairs is proposed again."""
    rej = ops.reject_entity(cluster, home, spellings=list(spelling or []) or None)
    out.print(f"rejected {cluster}: {len(rej.pairs)} pair(s) of spellings kept apart")


@app.command()
@maps_errors("the renormalize run failed")
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
@maps_errors("compacting failed")
def compact(
    home: HomeOpt = None,
    keep_days: Annotated[
        float | None, typer.Option("--keep-days", help="Expire snapshots older than this (time travel ends there).")
    ] = None,
) -> None:
    """Merge the lake's small files (DuckLake) and, with --keep-days, expire old snapshots."""
    result = ops.compact(home, keep_days=keep_days)
    for table, (before, after) in result.items():
        out.print(f"{table}: {before} file(s) -> {after}")


# ---- reliability (issue 17): rebuild from the archive, check the lake ---------------------------
@app.command()
@maps_errors("the rebuild failed")
def rebuild(
    home: HomeOpt = None,
    batch_size: Annotated[int | None, typer.Option(help="Articles per batch (default $CORPUS_BATCH_SIZE).")] = None,
) -> None:
    """Rebuild catalog and lake from archive/ alone (the old ones are moved aside to HOME/replaced-*)."""
    from flows import repair
    from flows.guard import guard_children

    guard_children()
    s = repair.rebuild(home, batch_size=batch_size)  # RepairError is a UserError: one line, exit 2
    if s["moved_aside"]:
        out.print(f"moved the old catalog and lake to {s['moved_aside']}", highlight=False)
    out.print(
        f"rebuilt {s['home']} from {s['n_blobs']} archived file(s) in {s['n_runs']} run(s): {s['n_new']} new, "
        f"{s['n_duplicate']} duplicate(s), {s['n_quarantined']} quarantined"
        + (f"; {s['n_missing']} indexed file(s) missing from the archive" if s["n_missing"] else ""),
        highlight=False,
    )


@app.command()
@maps_errors()
def check(
    home: HomeOpt = None,
    repair_: Annotated[
        bool, typer.Option("--repair", help="Move a damaged catalog and lake aside, re-land all from the archive.")
    ] = False,
) -> None:
    """Verify lake files against the catalog (exist, readable, row counts); exit 1 when something is damaged."""
    from flows import repair
    from flows.guard import guard_children

    if repair_:
        guard_children()
    r = repair.check(home, repair=repair_)
    out.print(f"{r.n_files} lake file(s), {r.n_rows} row(s) checked in {r.home}", highlight=False)
    for table, rel, problem in r.damaged:
        out.print(f"damaged: {table}: {rel}: {problem}", highlight=False, markup=False)
    if r.unknown:
        out.print(f"{len(r.unknown)} lake file(s) the catalog does not name (kept; invisible to queries)",
                  highlight=False)
    if r.missing_blobs:
        out.print(f"{r.missing_blobs} archived file(s) named in archive/index.jsonl are missing", highlight=False)
    if r.records_missing:
        out.print(f"{r.records_missing} of {r.n_records} .jsonl record(s) in archive/records.sqlite point at a "
                  "missing file blob", highlight=False)
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


# ---- the lake (issue 18): runs and their snapshots, full-text search, migration -------------------
@app.command()
@maps_errors()
def runs(
    home: HomeOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
) -> None:
    """Every run with the lake snapshot after it: `corpus sql --as-of RUN_ID` answers as of then."""
    rows = ops.runs(home)
    _render(["run_id", "snapshot", "status", "started_at", "finished_at", "new", "dup", "quarantined"], rows, format)


@app.command()
@maps_errors()
def search(
    query: Annotated[str, typer.Argument(help="Words to look for (BM25 over titles and clean text).")],
    home: HomeOpt = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only articles that mention this entity id.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only articles published on or after this date.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many hits.")] = 10,
) -> None:
    """Full-text search: title, outlet, date and a highlighted snippet of the best matches."""
    hits = ops.search(query, home, entity=entity, since=since, limit=limit)
    if not hits:
        out.print("no match", highlight=False)
    for h in hits:
        out.print(_styled((h["title"] or "(no title)", "bold"), f"  {h['outlet']}  {h['date'] or ''}  "
                          f"score {h['score']:.2f}  {h['article_id']}"))
        out.print(h["snippet"], highlight=False)


@app.command()
@maps_errors()
def migrate(home: HomeOpt = None) -> None:
    """Bring a home written by an older version to the current format (the next run would do it too)."""
    r = ops.migrate(home)
    if r["migrated"]:
        out.print(f"migrated {r['home']} to schema version {r['schema_version']}", highlight=False)
    else:
        out.print(f"{r['home']} is already at schema version {r['schema_version']}", highlight=False)


def main() -> int:
    from flows.startup import freeze_before_exit

    # a search-index rebuild this command starts in the background waits until the command (and its temporary
    # Prefect server) has exited: their memory and the rebuild's never add up (warehouse/search.py)
    os.environ["CORPUS_SEARCH_AFTER_PID"] = str(os.getpid())
    try:
        app()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else (print(exc.code, file=sys.stderr) or 2)
    finally:
        freeze_before_exit()  # the interpreter's last garbage collection skips what Prefect and GX left
    return 0
