"""The ingest flow: discover -> read & archive -> clean -> link names -> validate -> land.

Each stage is one Prefect task call per batch of articles, so Prefect's overhead grows with the
number of batches, not of articles. All writing goes through `warehouse`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows import workers
from flows.batching import bounded_window, chunks, freed_per_batch
from flows.guard import TermGuard
from flows.settings import Settings
from flows.workers import _gazetteer_and_linker, _rules, file_digest, link_prepared
from transforms import pipeline
from transforms.errors import CorpusError
from transforms.sources import SourceDoc, SourceFailure, file_kind, split_jsonl, split_source
from warehouse import Warehouse, WarehouseWriter
from warehouse.archive import add_locators, archive_file, read_archived
from warehouse.inbox import (
    FileStamp,
    InboxItem,
    NotARegularFile,
    consume,
    read_item_stamped,
    scan_inbox,
    set_aside,
    stamp_of,
)
from warehouse.schema import LAKE_SCHEMAS

T = TypeVar("T")


def _q(value: T) -> T:
    """`value` quoted for a task call: Prefect must not walk big batches for task inputs (the task gets
    the value itself; typed as the value, which is what the task sees)."""
    return cast(T, quote(value))


class Payload:
    """A batch handed to a submitted task: Prefect does not walk plain objects for task inputs (as it
    walks lists and dicts, at a real cost per article), and it pickles as is for Dask workers, where
    `quote()` arrives unwrapped as a bare tuple."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __getstate__(self):
        return self.value

    def __setstate__(self, state):
        self.value = state


class BatchError(CorpusError):
    """A whole batch is unusable (wrong schema, nothing parsed from a non-empty inbox): the run fails."""


@dataclass
class RunStats:
    n_seen: int = 0
    n_new: int = 0
    n_duplicate: int = 0
    n_quarantined: int = 0
    quarantined_by_reason: Counter = field(default_factory=Counter)
    stage_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    entity_counts: Counter = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in ("n_seen", "n_new", "n_duplicate", "n_quarantined")}


@dataclass
class ReadResult:
    docs: list[SourceDoc]
    quarantine: list[dict[str, Any]]
    consumed: list[InboxItem]
    n_seen: int = 0
    # what each consumed file was when read (by path): it leaves the inbox only while it still matches
    stamps: dict[str, FileStamp] = field(default_factory=dict)
    cursor: dict[str, Any] | None = None  # where the next read resumes inside a big .jsonl
    n_duplicate: int = 0
    n_units: int = 0
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # which source duplicated what
    new_shas: set[str] = field(default_factory=set)  # content hashes of `docs`, merged by the caller

    def hold_unread(self, source_name: str, reason: str, detail: str) -> None:
        """Count a file that could not be read as one unit seen, held with its reason at the read stage."""
        self.n_seen += 1
        self.n_units += 1
        self.quarantine.append({"source_name": source_name, "stage": "read", "reason": reason, "detail": detail})


def gazetteer_overlays(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The settings' gazetteer overlays with a hash of their content, so an edited overlay is reloaded."""
    return tuple((str(p), file_digest(p) or "") for p in settings.gazetteer_overlays if p.is_file())


_gx_warm_up: threading.Thread | None = None


def _import_gx() -> None:
    with contextlib.suppress(Exception):  # only a head start; the validate task reports real errors
        from expectations import gx_context

        gx_context()
    # while the temporary server is still starting: what the first batch would otherwise load on the way
    # (the language model, ~0.3 s; FastAPI, which Prefect imports to serialise the flow's parameters)
    with contextlib.suppress(Exception):
        from transforms.lang import detect_language

        detect_language("A sentence or two in English, so the language model is loaded before the run.")
        import fastapi  # noqa: F401


def start_gx_warm_up(force: bool = False) -> None:
    """Import GX and build its context (~3 s) in a thread while Prefect's temporary server starts.

    Only when there is no PREFECT_API_URL: then the flow spends its first seconds waiting for that
    server, and the import overlaps with waiting rather than with the flow's own work.
    """
    global _gx_warm_up
    from prefect.settings import PREFECT_API_URL

    if _gx_warm_up is None and (force or not PREFECT_API_URL.value()):  # force: a server is still starting
        _gx_warm_up = threading.Thread(target=_import_gx, name="gx-warm-up", daemon=True)
        _gx_warm_up.start()


def _wait_for_gx_warm_up() -> None:
    # Importing GX from two threads at once fails with a circular-import error: wait for the warm-up.
    if _gx_warm_up is not None:
        _gx_warm_up.join()


def check_data_files(settings: Settings) -> None:
    """Load the cleaning rules and the gazetteer (cached): raises their file:line error before any work."""
    _rules(_str(settings.rules_path))
    _gazetteer_and_linker(_str(settings.gazetteer_path), gazetteer_overlays(settings))


# ---- tasks -----------------------------------------------------------------------------------
@task(name="sync-entities", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def sync_entities_task(
    writer: WarehouseWriter, gazetteer_path: str | None, overlays: tuple[tuple[str, str], ...] = ()
) -> list[str]:
    """Land the gazetteer as the `entities` table (only when it changed); returns the entity ids."""
    gaz, _ = _gazetteer_and_linker(gazetteer_path, overlays)
    rows = [
        {
            "entity_id": e.entity_id,
            "canonical_name": e.canonical_name,
            "type": e.type,
            "aliases": list(e.aliases),
            "gazetteer_version": str(gaz.version),
        }
        for e in gaz.entities
    ]
    # the version names the gazetteer's own version plus a hash of its content, so any edit re-lands it
    digest = hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]
    version = f"{gaz.version}-{digest}"
    for r in rows:
        r["gazetteer_version"] = version
    writer.sync_entities(pa.Table.from_pylist(rows, schema=LAKE_SCHEMAS["entities"]), version)
    return [r["entity_id"] for r in rows]


@task(name="discover", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def discover_task(inbox: str) -> tuple[list[InboxItem], list[dict[str, Any]]]:
    """List the inbox; links that leave it are refused with a quarantine row."""
    items, refusals = scan_inbox(Path(inbox))
    rows = [
        {
            "source_name": r.name,
            "content_sha256": r.content_sha256,
            "stage": "discover",
            "reason": r.reason,
            "detail": r.detail,
        }
        for r in refusals
    ]
    return items, rows


def _too_large(writer: WarehouseWriter, item: InboxItem, max_file_bytes: int, out: ReadResult) -> None:
    """Archive an over-size file without reading it into memory, and hold it (stage read, too_large)."""
    before = stamp_of(item.path)
    sha, _ = archive_file(writer.layout.archive, item.path)
    writer.index_archived(sha, item.name)
    after = stamp_of(item.path)
    out.n_seen += 1
    out.n_units += 1
    out.quarantine.append(
        {
            "source_name": item.name,
            "content_sha256": sha,
            "stage": "read",
            "reason": "too_large",
            "detail": f"{item.size:,} bytes is over the {max_file_bytes:,}-byte limit "
            "(CORPUS_MAX_FILE_MB); archived, not read",
        }
    )
    if after == before:
        out.stamps[item.path] = after
    out.consumed.append(item)


def _open_item(
    writer: WarehouseWriter, item: InboxItem, max_file_bytes: int, out: ReadResult
) -> tuple[bytes, FileStamp] | None:
    """The file's bytes and stamp, or None when it was held (too large, vanished, unreadable)."""
    try:
        if item.size > max_file_bytes:
            _too_large(writer, item, max_file_bytes, out)
            return None
        return read_item_stamped(item)
    except FileNotFoundError:
        out.hold_unread(item.name, "vanished", f"{item.name} was deleted before it could be read")
    except NotARegularFile as exc:  # swapped for a FIFO, a device or a folder after discover: never blocks
        out.hold_unread(item.name, "unreadable", f"cannot read {item.name}: {exc.strerror}; set aside")
    except OSError as exc:  # no permission, an I/O error: one file must not fail the run
        out.hold_unread(item.name, "unreadable", f"cannot read {item.name}: {exc.strerror or exc}")
    return None


def _split(
    name: str, data: bytes, resume: dict[str, Any] | None, room: int | None
) -> tuple[list[SourceDoc], list[SourceFailure], int | None, int, int]:
    """(documents, failures, where the next call resumes or None, last line number, records so far)."""
    if file_kind(name) != "jsonl" or room is None:
        docs, failures = split_source(name, data)
        return docs, failures, None, 0, 0
    pos, lineno, n_before = (resume["pos"], resume["lineno"], resume["n"]) if resume else (0, 0, 0)
    docs, failures, next_pos, lineno = split_jsonl(name, data, pos, lineno, max_records=room)
    n_records = n_before + len(docs) + len(failures)
    if next_pos is None and not n_records:
        failures.append(SourceFailure(name, data, "empty", "the .jsonl file holds no records"))
    return docs, failures, next_pos, lineno, n_records


def _archive_record(
    writer: WarehouseWriter, locators: list[tuple[str, str, int, int]], raw: bytes, raw_sha: str,
    span: tuple[int, int] | None, file_sha: str, data: bytes,
) -> None:
    """A .jsonl record: a locator into its file's blob (one blob per file); a JSON list item: its own blob."""
    if span is not None:
        if raw_sha != file_sha:
            locators.append((raw_sha, file_sha, span[0], span[1]))
    elif raw is not data:
        writer.archive(raw, raw_sha, durable=False)


def _hold_failures(
    writer: WarehouseWriter, failures: list[SourceFailure], out: ReadResult,
    locators: list[tuple[str, str, int, int]], file_sha: str, data: bytes,
) -> None:
    for f in failures:
        _archive_record(writer, locators, f.data, f.content_sha256, f.span, file_sha, data)
        out.n_seen += 1
        out.quarantine.append(
            {
                "source_name": f.source_name,
                "content_sha256": f.content_sha256,
                "stage": "parse",
                "reason": f.reason,
                "detail": f.detail,
            }
        )


def _drop_duplicates(
    writer: WarehouseWriter, docs: list[SourceDoc], in_flight_shas: Set[str], run_id: str, out: ReadResult
) -> None:
    """Keep the documents whose bytes are new; the others become duplicate rows ("same_bytes": landed, or
    seen earlier in this run; "held": held in quarantine by an earlier run). One catalog look-up per call."""
    known = writer.known_hashes((d.content_sha256 for d in docs), run_id)
    for doc in docs:
        h = doc.content_sha256
        reason = "same_bytes" if h in in_flight_shas or h in out.new_shas else known.get(h)
        if reason:
            out.n_duplicate += 1
            out.duplicates.append({"source_name": doc.source_name, "content_sha256": h, "reason": reason})
            continue
        out.new_shas.add(h)
        out.docs.append(doc)


@task(name="read", task_run_name="read-batch-{batch_no}", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_task(
    writer: WarehouseWriter,
    items: list[InboxItem],
    batch_no: int,
    max_file_bytes: int,
    in_flight_shas: Set[str],
    run_id: str,
    max_docs: int | None = None,
    cursor: dict[str, Any] | None = None,
) -> ReadResult:
    """Read and archive each file's bytes, split it into documents, and drop exact duplicates.

    A `.jsonl` is split at most `max_docs` records at a time: when a call stops inside a file, the result
    holds a `cursor` and the next call resumes there from the archived copy (exactly the bytes read).
    Memory then follows the batch size, not the size of the file's record count.

    Duplicates are found per call: the batch's hashes are looked up in the catalog (landed articles, rows
    of this run, rows held by earlier runs) plus `in_flight_shas`, the documents of this run read but not
    landed yet; no set of every hash seen is kept (issue 17: it grew with the record count).

    It changes none of its inputs, so a retry (Prefect runs it again after an error) sees what the first
    attempt saw: the hashes of the new documents come back in `new_shas`, for the caller to hold until
    the batch has landed.
    """
    out = ReadResult([], [], [])
    start = cursor["index"] if cursor else 0
    locators: list[tuple[str, str, int, int]] = []
    pending: list[SourceDoc] = []  # de-duplicated below, with one catalog look-up for the whole call
    for index in range(start, len(items)):
        item = items[index]
        resume = cursor if cursor and cursor["index"] == index else None
        if resume is None:
            opened = _open_item(writer, item, max_file_bytes, out)
            if opened is None:
                continue
            data, stamp = opened
            sha, _ = writer.archive(data, durable=False)
            writer.index_archived(sha, item.name)
        else:
            sha, stamp = resume["sha"], resume["stamp"]
            data = read_archived(writer.layout.archive, sha)
        out.stamps[item.path] = stamp
        room = None if max_docs is None else max(1, max_docs - len(pending))
        docs, failures, next_pos, lineno, n_records = _split(item.name, data, resume, room)
        _hold_failures(writer, failures, out, locators, sha, data)
        for doc in docs:
            out.n_seen += 1
            _archive_record(writer, locators, doc.raw, doc.content_sha256, doc.span, sha, data)
            pending.append(doc)
        if next_pos is not None:  # the file goes on: stop here, the next call resumes after `lineno`
            out.cursor = {"index": index, "sha": sha, "stamp": stamp, "pos": next_pos, "lineno": lineno,
                          "n": n_records}
            break
        out.n_units += 1
        out.consumed.append(item)
    _drop_duplicates(writer, pending, in_flight_shas, run_id, out)
    add_locators(writer.layout.archive, locators)
    writer.flush_archive()  # raw bytes and record locators are durable before anything about them lands
    return out


@dataclass
class LinkedBatch:
    """A batch after cleaning and linking, with the seconds each stage took (measured where it ran)."""

    prepared: pipeline.PreparedBatch
    mentions: list[dict[str, Any]]
    clean_seconds: float
    link_seconds: float


@task(name="clean", task_run_name="clean-batch-{batch_no}", cache_policy=NO_CACHE)
def clean_task(docs: Payload, batch_no: int, rules_path: str | None) -> Payload:
    """Decode, extract and clean a batch (pure transforms): on the run's lean worker processes when its
    runner is `process` (flows/workers.py), else here. Returns (PreparedBatch, seconds) in a Payload: the
    link task gets this result through its future, and Prefect walks a resolved future's value for
    task inputs (every row and value: ~0.2 ms of the flow's CPU per article, issue 20) unless it is opaque."""
    pool = workers.active()
    if pool is not None:
        return Payload(pool.clean(docs.value, rules_path))
    return Payload(workers.clean_docs(docs.value, rules_path))


@task(name="link", task_run_name="link-batch-{batch_no}", cache_policy=NO_CACHE)
def link_task(
    cleaned: Payload | tuple[pipeline.PreparedBatch, float],
    batch_no: int,
    gazetteer_path: str | None,
    overlays: tuple[tuple[str, str], ...] = (),
    max_clean_chars: int | None = None,
) -> LinkedBatch:
    """Link every name to a gazetteer entity (on the run's worker processes when it has them); the
    returned batch's articles have normalized_text (articles over the size limit are not linked, see
    `workers.link_prepared`). The batch passed in is left as it was."""
    prepared, clean_seconds = cleaned.value if isinstance(cleaned, Payload) else cleaned
    pool = workers.active()
    if pool is not None:
        linked, mentions, seconds = pool.link(prepared, gazetteer_path, overlays, max_clean_chars)
        return LinkedBatch(linked, mentions, clean_seconds, seconds)
    t = time.perf_counter()
    gaz, linker = _gazetteer_and_linker(gazetteer_path, overlays)
    linked, mentions = link_prepared(prepared, gaz, linker, max_clean_chars)
    return LinkedBatch(linked, mentions, clean_seconds, time.perf_counter() - t)


@dataclass
class Verdict:
    tables: dict[str, pa.Table]
    quarantine: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    report: Any = None  # the GX batch report, for Data Docs


def _columns(table: str, *extra: str) -> list[str]:
    """A lake table's columns as the validated frame holds them: what the stages fill in, plus `extra`
    (ingested_at is set on landing; mention and span rows get their run_id then too)."""
    later = ("ingested_at",) if table == "articles" else ("run_id",)
    return [c for c in LAKE_SCHEMAS[table].names if c not in later] + list(extra)


def _frames(articles: list[dict[str, Any]], mentions: list[dict[str, Any]], removed: list[dict[str, Any]]):
    import pandas as pd

    return {
        "articles": pd.DataFrame(articles, columns=_columns("articles", "archived_sha256")),
        "mentions": pd.DataFrame(mentions, columns=_columns("mentions")),
        "removed_spans": pd.DataFrame(removed, columns=_columns("removed_spans")),
    }


def _landed_tables(keep: list[dict[str, Any]], mentions: list[dict[str, Any]], removed: list[dict[str, Any]],
                   run_id: str) -> dict[str, pa.Table]:
    """The kept articles, with the mentions and removed spans of those articles, as lake tables."""
    now, rows = _now(), {a["_row"] for a in keep}
    return {
        "articles": pa.Table.from_pylist([dict(a, ingested_at=now) for a in keep], schema=LAKE_SCHEMAS["articles"]),
        "mentions": pa.Table.from_pylist(
            [dict(m, run_id=run_id) for m in mentions if m["_row"] in rows], schema=LAKE_SCHEMAS["mentions"]
        ),
        "removed_spans": pa.Table.from_pylist(
            [dict(r, run_id=run_id) for r in removed if r["_row"] in rows], schema=LAKE_SCHEMAS["removed_spans"]
        ),
    }


@task(name="validate", task_run_name="validate-batch-{batch_no}", cache_policy=NO_CACHE)
def validate_task(
    writer: WarehouseWriter,
    batch_no: int,
    run_id: str,
    articles: list[dict[str, Any]],
    mentions: list[dict[str, Any]],
    removed: list[dict[str, Any]],
    entity_ids: list[str],
    settings: Settings,
) -> Verdict:
    """Run the GX suites over the batch; failing articles leave the batch for quarantine (one row each)."""
    if not articles:  # nothing new (all duplicates or held): nothing to validate, so no GX import or context
        return Verdict({t: LAKE_SCHEMAS[t].empty_table() for t in ("articles", "mentions", "removed_spans")}, [], [])
    _wait_for_gx_warm_up()
    from expectations import BatchSchemaError, ValidationConfig, quarantine_rows, validate_batch

    stamped = [dict(a, archived_sha256=writer.verify_archived(a["content_sha256"]), run_id=run_id) for a in articles]
    cfg = ValidationConfig(min_clean_chars=settings.min_clean_chars, max_clean_chars=settings.max_clean_chars)
    try:
        result = validate_batch(_frames(stamped, mentions, removed), entity_ids, cfg)
    except BatchSchemaError as exc:
        raise BatchError(f"batch {batch_no} failed schema validation: {exc}") from exc
    keep = [a for pos, a in enumerate(stamped) if pos not in result.rejected_article_rows]
    validation = [
        {"suite": r.suite, "expectation": r.expectation, "success": r.success, "unexpected_count": r.unexpected_count}
        for r in result.results
    ]
    tables = _landed_tables(keep, mentions, removed, run_id)
    return Verdict(tables, quarantine_rows(stamped, result), validation, result)


@task(name="land", task_run_name="land-batch-{batch_no}", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def land_task(
    writer: WarehouseWriter, run_id: str, batch_no: int, verdict: Verdict, quarantine: list[dict[str, Any]]
) -> int:
    """Land the batch and its quarantine rows in one transaction."""
    return writer.land_batch(
        run_id, batch_no, verdict.tables, list(quarantine) + verdict.quarantine, verdict.validation
    )


def _now():
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def _run_id() -> str:
    with contextlib.suppress(Exception):  # outside a flow run there is no id; make one
        from prefect.runtime import flow_run

        rid = flow_run.get_id()
        if rid:
            return str(rid)
    return str(uuid.uuid4())


# ---- the run ---------------------------------------------------------------------------------
@dataclass
class InboxBatch:
    """Files listed from the inbox: read_task reads, archives and splits them (a big .jsonl in several
    calls, one ReadResult each)."""

    items: list[InboxItem]

    def reads(self, run: IngestRun) -> Iterator[ReadResult]:
        return run.read_inbox(self.items)


@dataclass
class RetryBatch:
    """Held documents rebuilt from the archive (`corpus quarantine retry`): already read, nothing to archive."""

    docs: list[SourceDoc]

    def reads(self, run: IngestRun) -> Iterator[ReadResult]:
        yield ReadResult(self.docs, [], [], n_seen=len(self.docs), n_units=len(self.docs))


Batch = InboxBatch | RetryBatch


@dataclass
class InFlight:
    """A batch read and submitted to clean and link, waiting to be validated and landed."""

    batch_no: int
    read: ReadResult
    cleaned: Any  # the clean task's future
    linked: Any  # the link task's future


class IngestRun:
    """One ingest run: the writer, the settings, the counts, and the keys known so far.

    Batches are read in order (reading archives and de-duplicates), cleaned and linked on the task runner
    (threads by default, processes on Dask) up to CORPUS_MAX_IN_FLIGHT batches ahead, then validated and
    landed in order. The tasks change none of their inputs: the run merges what a task returns (new
    content hashes, landed article ids) once it succeeded, so a retried task sees what the first try saw.
    """

    def __init__(self, writer: WarehouseWriter, settings: Settings, run_id: str, inbox: Path, *,
                 consume_inbox: bool, retry_quarantined: bool = False,
                 progress: Callable[..., None] | None = None):
        self.writer, self.settings, self.run_id, self.inbox = writer, settings, run_id, inbox
        self.consume_inbox, self.retry_quarantined = consume_inbox, retry_quarantined
        self._progress_hook = progress
        self.logger = get_run_logger()
        self.stats = RunStats()
        # content hashes of the documents read but not landed yet, by batch number (dropped once landed:
        # the catalog answers for landed ones, so the run holds no hash per record of the whole file)
        self.in_flight: dict[int, set[str]] = {}
        self.entity_ids: list[str] = []
        self.overlays: tuple[tuple[str, str], ...] = ()
        self.last_report: Any = None
        self.next_batch_no = 0

    def progress(self, event: str, **fields: Any) -> None:
        """Tell the caller's progress callback (the CLI's progress bar), if any."""
        if self._progress_hook is not None:
            self._progress_hook(event, **fields)

    def run(self) -> None:
        """The whole run, recorded in `runs` as completed, failed or terminated."""
        self.writer.start_run(self.run_id, _flow_run_name(), str(self.inbox))
        # SIGTERM (cron, systemd, `timeout`): mark the run and end within seconds, as kill -9 would
        term = TermGuard(lambda: self.writer.mark_terminated(self.run_id)).start()
        try:
            batches = self.start()
            with freed_per_batch() as free:
                for in_flight in bounded_window(self.submitted(batches), self.settings.max_in_flight):
                    self.finish(in_flight)
                    t = time.perf_counter()
                    free()  # the landed batch's rows, now, not in some later full collection
                    self.stats.stage_seconds["free"] += time.perf_counter() - t
            workers.release()  # the process runner's workers have nothing left to do
            self.wrap_up()
            self.writer.finish_run(self.run_id, self.stats.counts(), "completed",
                                   stage_seconds=self.stats.stage_seconds)
        except BaseException as exc:
            self.writer.finish_run(self.run_id, self.stats.counts(), "terminated" if term.terminated else "failed",
                                   error=f"{type(exc).__name__}: {exc}", stage_seconds=self.stats.stage_seconds)
            raise
        finally:
            term.stop()

    def start(self) -> list[Batch]:
        """Load the data files, land the entities, list the work: inbox files, or held documents on a retry."""
        t0 = time.perf_counter()
        # a broken rules file or gazetteer fails the run before any work
        _rules(_str(self.settings.rules_path))
        self.overlays = gazetteer_overlays(self.settings)
        _gazetteer_and_linker(_str(self.settings.gazetteer_path), self.overlays)
        self.entity_ids = sync_entities_task(self.writer, _str(self.settings.gazetteer_path), self.overlays)
        size = self.settings.batch_size
        batches: list[Batch]
        if self.retry_quarantined:
            docs = _quarantined_docs(self.writer)
            batches, total = [RetryBatch(c) for c in chunks(docs, size)], len(docs)
        else:
            items, refused = discover_task(str(self.inbox))
            self.hold_refused(refused)
            batches, total = [InboxBatch(c) for c in chunks(items, size)], len(items)
        self.stats.stage_seconds["discover"] += time.perf_counter() - t0
        source = "quarantine" if self.retry_quarantined else self.inbox
        self.logger.info("run %s: %d item(s) from %s, batch size %d", self.run_id, total, source, size)
        self.progress("start", total=total)
        return batches

    def hold_refused(self, refused: list[dict[str, Any]]) -> None:
        """Quarantine what discover refused (links leaving the inbox) and set it aside."""
        if not refused:
            return
        self.writer.record_quarantine(refused, self.run_id)
        if self.consume_inbox:
            set_aside(self.inbox, [r["source_name"] for r in refused])
        self.stats.n_seen += len(refused)
        self.stats.n_quarantined += len(refused)
        self.stats.quarantined_by_reason.update(r["reason"] for r in refused)

    def read_inbox(self, items: list[InboxItem]) -> Iterator[ReadResult]:
        """One ReadResult per call of read_task: one for a batch of files, several for a big .jsonl."""
        cursor = None
        while True:
            t = time.perf_counter()
            in_flight = frozenset().union(*self.in_flight.values())
            read = read_task(self.writer, _q(items), self.next_batch_no, self.settings.max_file_bytes,
                             _q(in_flight), self.run_id, self.settings.batch_size, cursor)
            self.in_flight[self.next_batch_no] = read.new_shas  # known until the batch has landed
            self.stats.stage_seconds["read"] += time.perf_counter() - t
            if not (read.docs or read.quarantine or read.n_duplicate):
                # every file must become an article, a duplicate or a quarantine row: an empty batch
                # from a non-empty inbox means a stage lost data, so the run stops
                raise BatchError(f"batch {self.next_batch_no}: {len(items)} inbox file(s) gave no article, "
                                 "duplicate or quarantine row")
            yield read
            if read.cursor is None:
                return
            cursor = read.cursor

    def submitted(self, batches: list[Batch]) -> Iterator[InFlight]:
        """Read each batch in order and submit it to clean and link; lazily, one batch per step."""
        rules, gazetteer = _str(self.settings.rules_path), _str(self.settings.gazetteer_path)
        for batch in batches:
            for read in batch.reads(self):
                batch_no, self.next_batch_no = self.next_batch_no, self.next_batch_no + 1
                self.stats.n_seen += read.n_seen
                self.stats.n_duplicate += read.n_duplicate
                cleaned = clean_task.submit(Payload(read.docs), batch_no, rules)
                linked = link_task.submit(cast(Any, cleaned), batch_no, gazetteer, self.overlays,  # a future: resolved
                                          self.settings.max_clean_chars)
                yield InFlight(batch_no, read, cleaned, linked)

    def finish(self, f: InFlight) -> None:
        """Validate and land one batch, then let its inbox files go and count it."""
        f.cleaned.result()  # raises the cleaning stage's own error, not "upstream not completed"
        linked: LinkedBatch = f.linked.result()
        self.stats.stage_seconds["clean"] += linked.clean_seconds
        self.stats.stage_seconds["link"] += linked.link_seconds
        fresh, duplicates = self.split_fresh(linked.prepared.articles)
        rows = {a["_row"] for a in fresh}
        removed = [r for r in linked.prepared.removed_spans if r["_row"] in rows]
        mentions = [m for m in linked.mentions if m["_row"] in rows]
        t = time.perf_counter()
        verdict = validate_task(self.writer, f.batch_no, self.run_id, _q(fresh), _q(mentions), _q(removed),
                                _q(self.entity_ids), self.settings)
        self.stats.stage_seconds["validate"] += time.perf_counter() - t
        self.last_report = verdict.report
        quarantine = f.read.quarantine + [x.as_row() for x in linked.prepared.failures]
        t = time.perf_counter()
        landed = land_task(self.writer, self.run_id, f.batch_no, _q(verdict), _q(quarantine))
        self.writer.record_duplicates(f.read.duplicates + duplicates, self.run_id)
        self.in_flight.pop(f.batch_no, None)  # landed: the catalog knows its hashes now
        self.stats.stage_seconds["land"] += time.perf_counter() - t
        self.let_go(f.read)
        self.count(f, landed, quarantine + verdict.quarantine, verdict, len(duplicates))

    def split_fresh(self, articles: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(articles not landed before, duplicate rows for those whose text already landed)."""
        fresh, duplicates = [], []
        known_ids = self.writer.known_article_ids(a["article_id"] for a in articles)  # earlier batches landed
        for art in articles:
            if art["article_id"] in known_ids:
                duplicates.append({"source_name": art.get("source_name"), "reason": "same_text",
                                   "content_sha256": art.get("content_sha256"), "article_id": art["article_id"]})
            else:
                fresh.append(art)
        return fresh, duplicates

    def let_go(self, read: ReadResult) -> None:
        """After landing: consume the batch's inbox files, set unreadable ones aside, resolve retried rows."""
        if self.consume_inbox and read.consumed:
            left = consume(read.consumed, read.stamps)
            if left:
                self.logger.info("%d file(s) changed while being ingested, left for the next run: %s",
                                 len(left), ", ".join(i.name for i in left[:5]))
        if self.consume_inbox:
            set_aside(self.inbox, [q["source_name"] for q in read.quarantine if q["reason"] == "unreadable"])
        if self.retry_quarantined:
            self.writer.resolve_quarantine([d.content_sha256 for d in read.docs], f"retried in run {self.run_id}")

    def count(self, f: InFlight, landed: int, held: list[dict[str, Any]], verdict: Verdict, n_dup: int) -> None:
        """Add a landed batch to the run's counts and ids, log it and advance the progress bar."""
        s = self.stats
        s.n_duplicate += n_dup
        s.n_new += landed
        s.n_quarantined += len({(q.get("source_name"), q.get("content_sha256")) for q in held})
        s.quarantined_by_reason.update(q["reason"] for q in held)
        s.entity_counts.update(verdict.tables["mentions"].column("entity_id").to_pylist())
        self.logger.info("batch %d: %d new, %d duplicate(s) and %d quarantined so far",
                         f.batch_no, landed, s.n_duplicate, s.n_quarantined)
        self.progress("advance", n=f.read.n_units, new=s.n_new, duplicate=s.n_duplicate, quarantined=s.n_quarantined)

    def wrap_up(self) -> None:
        """Data Docs of the last batch, and a compaction once the lake holds too many files."""
        _wait_for_gx_warm_up()
        if self.last_report is not None:
            from expectations import build_data_docs

            build_data_docs(self.last_report, self.writer.layout.docs, run_name=self.run_id)
        if self.settings.compact_at and self.writer.live_file_count("articles") > self.settings.compact_at:
            # scheduled runs add a file per table per batch; merge them before queries slow down
            t = time.perf_counter()
            merged = self.writer.compact(f"compact-{self.run_id}")
            self.stats.stage_seconds["compact"] += time.perf_counter() - t
            self.logger.info("compacted the lake: %s", {k: f"{a} -> {b} files" for k, (a, b) in merged.items()})


@flow(name="ingest", log_prints=False)
def ingest_flow(
    home: str | None = None,
    inbox: str | None = None,
    batch_size: int | None = None,
    consume_inbox: bool | None = None,
    retry_quarantined: bool = False,
    progress: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """Ingest every article in the inbox into the warehouse; returns the run summary.

    `progress` is called as (event, **fields) for "start", each "advance" and "done" (the CLI's progress bar).
    """
    settings = Settings.from_env(home=home, batch_size=batch_size)
    wh = Warehouse(settings.home)
    inbox_path = Path(inbox).expanduser().resolve() if inbox else wh.layout.inbox
    # Files are removed from the home's own inbox once archived and landed; an outside folder is left as is.
    if consume_inbox is None:
        consume_inbox = inbox_path == wh.layout.inbox.resolve()
    with wh.writer(settings.lock_timeout) as writer:
        run = IngestRun(writer, settings, _run_id(), inbox_path, consume_inbox=consume_inbox,
                        retry_quarantined=retry_quarantined, progress=progress)
        run.run()
        _refresh_search(writer, run.stats.n_new > 0)
    summary = _summary(run.run_id, settings, run.stats)
    _publish_artifacts(summary)
    run.progress("done", **summary)
    return summary


def _refresh_search(writer: WarehouseWriter, changed: bool) -> None:
    """After the run is recorded: refresh corpus.duckdb's plain views for any DuckDB client, and rebuild the
    derived full-text index (HOME/search.duckdb) when articles landed.

    A failure is logged, never fails the run: both are derived, and `corpus search` rebuilds a missing index.
    """
    try:
        writer.export_sql_views()
        writer.refresh_search(force=changed)
    except Exception as exc:  # noqa: BLE001 - the run's data is committed; the index is only a convenience
        writer.layout.search_db.unlink(missing_ok=True)
        get_run_logger().warning("full-text index not refreshed (%s); `corpus search` rebuilds it", exc)


def _quarantined_docs(writer: WarehouseWriter) -> list[SourceDoc]:
    """Held articles whose raw bytes are archived, rebuilt as documents for another try."""
    with writer.connect() as con:
        rows = con.execute(
            "SELECT DISTINCT source_name, content_sha256 FROM quarantine "
            "WHERE resolved_at IS NULL AND content_sha256 IS NOT NULL AND stage <> 'read'"
        ).fetchall()
    docs: list[SourceDoc] = []
    for name, sha in rows:
        try:
            data = read_archived(writer.layout.archive, sha)
        except FileNotFoundError:
            continue
        for doc in split_source(name.split("#", 1)[0], data)[0]:
            docs.append(SourceDoc(name, data, doc.kind, doc.meta, doc.payload, sha))
    return docs


def _str(p: Path | None) -> str | None:
    return str(p) if p else None


def _flow_run_name() -> str | None:
    try:
        from prefect.runtime import flow_run

        return flow_run.get_name()
    except Exception:  # noqa: BLE001 - not inside a flow run
        return None


def _summary(run_id: str, settings: Settings, stats: RunStats) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "home": str(settings.home),
        **stats.counts(),
        "quarantined_by_reason": dict(stats.quarantined_by_reason),
        "stage_seconds": {k: round(v, 3) for k, v in stats.stage_seconds.items()},
        "top_entities": stats.entity_counts.most_common(10),
    }


def _publish_artifacts(summary: dict[str, Any]) -> None:
    """A markdown summary and a top-entities table on the Prefect run."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    lines = [
        f"# Ingest run `{summary['run_id']}`",
        "",
        "| new | duplicates | quarantined | seen |",
        "|---:|---:|---:|---:|",
        f"| {summary['n_new']} | {summary['n_duplicate']} | {summary['n_quarantined']} | {summary['n_seen']} |",
        "",
        "## Quarantined by reason",
        "",
    ]
    lines += [f"- `{r}`: {n}" for r, n in sorted(summary["quarantined_by_reason"].items())] or ["- none"]
    lines += ["", "## Seconds per stage", "", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in summary["stage_seconds"].items()]
    try:
        create_markdown_artifact(
            markdown="\n".join(lines), key="ingest-summary", description="Counts of one ingest run"
        )
        create_table_artifact(
            table=[{"entity_id": e, "mentions": n} for e, n in summary["top_entities"]],
            key="ingest-top-entities",
            description="The ten most-named entities of the run",
        )
    except Exception as exc:  # noqa: BLE001 - an artifact must never fail a landed run
        get_run_logger().warning("could not create run artifacts: %s", exc)
