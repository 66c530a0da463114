"""The ingest flow: discover -> read & archive -> clean -> link names -> validate -> land.

Each stage is one Prefect task call per batch of articles, so Prefect's overhead grows with the
number of batches, not of articles. All writing goes through `warehouse`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote  # big batches: Prefect must not walk them for task inputs

from flows.guard import TermGuard
from flows.settings import Settings
from transforms import pipeline
from transforms.sources import SourceDoc, SourceFailure, file_kind, split_jsonl, split_source
from warehouse import Warehouse, WarehouseWriter
from warehouse.archive import archive_file, read_archived
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

# The CLI sets this to drive a progress bar; called as (event, **fields).
progress_hook: Callable[..., None] | None = None


def _progress(event: str, **fields: Any) -> None:
    if progress_hook is not None:
        progress_hook(event, **fields)


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


class BatchError(RuntimeError):
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

    def hold_unread(self, source_name: str, reason: str, detail: str) -> None:
        """Count a file that could not be read as one unit seen, held with its reason at the read stage."""
        self.n_seen += 1
        self.n_units += 1
        self.quarantine.append({"source_name": source_name, "stage": "read", "reason": reason, "detail": detail})


@lru_cache(maxsize=4)
def _gazetteer_and_linker(path: str | None, overlays: tuple[tuple[str, str], ...] = ()):
    """The gazetteer (path or the packaged one, plus overlays as (path, content hash)) and its Linker."""
    from transforms.names import Linker, load_gazetteer

    gaz = load_gazetteer(Path(path) if path else None, overlays=[o for o, _ in overlays])
    return gaz, Linker(gaz)


def gazetteer_overlays(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The settings' gazetteer overlays with a hash of their content, so an edited overlay is reloaded."""
    return tuple(
        (str(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in settings.gazetteer_overlays if p.is_file()
    )


_gx_warm_up: threading.Thread | None = None


def _import_gx() -> None:
    try:
        from expectations import gx_context

        gx_context()
    except Exception:  # noqa: BLE001 - only a head start; the validate task reports real errors
        pass


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


@lru_cache(maxsize=4)
def _rules(path: str | None):
    from transforms.clean import load_rules

    return load_rules(Path(path) if path else None)


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


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


@task(name="read", task_run_name="read-batch-{batch_no}", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5])
def read_task(
    writer: WarehouseWriter,
    items: list[InboxItem],
    batch_no: int,
    max_file_bytes: int,
    known_shas: set[str],
    held_shas: set[str],
    max_docs: int | None = None,
    cursor: dict[str, Any] | None = None,
) -> ReadResult:
    """Read and archive each file's bytes, split it into documents, and drop exact duplicates.

    A `.jsonl` is split at most `max_docs` records at a time: when a call stops inside a file, the result
    holds a `cursor` and the next call resumes there from the archived copy (exactly the bytes read).
    Memory then follows the batch size, not the size of the file's record count.
    """
    out = ReadResult([], [], [])
    start = cursor["index"] if cursor else 0
    for index in range(start, len(items)):
        item = items[index]
        resume = cursor if cursor and cursor["index"] == index else None
        if resume is None:
            try:
                if item.size > max_file_bytes:
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
                    continue
                data, stamp = read_item_stamped(item)
            except FileNotFoundError:
                out.hold_unread(item.name, "vanished", f"{item.name} was deleted before it could be read")
                continue
            except NotARegularFile as exc:  # swapped for a FIFO, a device or a folder after discover: never blocks
                out.hold_unread(item.name, "unreadable", f"cannot read {item.name}: {exc.strerror}; set aside")
                continue
            except OSError as exc:  # no permission, an I/O error: one file must not fail the run
                out.hold_unread(item.name, "unreadable", f"cannot read {item.name}: {exc.strerror or exc}")
                continue
            sha, _ = writer.archive(data, durable=False)
            writer.index_archived(sha, item.name)
        else:
            sha, stamp = resume["sha"], resume["stamp"]
            data = read_archived(writer.layout.archive, sha)
        out.stamps[item.path] = stamp
        next_pos = None
        if file_kind(item.name) == "jsonl" and max_docs is not None:
            room = max(1, max_docs - len(out.docs) - out.n_duplicate)
            pos, lineno, n_before = (resume["pos"], resume["lineno"], resume["n"]) if resume else (0, 0, 0)
            docs, failures, next_pos, lineno = split_jsonl(item.name, data, pos, lineno, max_records=room)
            n_records = n_before + len(docs) + len(failures)
            if next_pos is None and not n_records:
                failures.append(SourceFailure(item.name, data, "empty", "the .jsonl file holds no records"))
        else:
            docs, failures = split_source(item.name, data)
        for f in failures:
            writer.archive(f.data, f.content_sha256, durable=False)
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
        for doc in docs:
            out.n_seen += 1
            if doc.raw is not data:
                writer.archive(doc.raw, doc.content_sha256, durable=False)
            if doc.content_sha256 in known_shas or doc.content_sha256 in held_shas:
                out.n_duplicate += 1
                out.duplicates.append({"source_name": doc.source_name, "content_sha256": doc.content_sha256,
                                       "reason": "same_bytes" if doc.content_sha256 in known_shas else "held"})
                continue
            known_shas.add(doc.content_sha256)
            out.docs.append(doc)
        if next_pos is not None:  # the file goes on: stop here, the next call resumes after `lineno`
            out.cursor = {"index": index, "sha": sha, "stamp": stamp, "pos": next_pos, "lineno": lineno,
                          "n": n_records}
            break
        out.n_units += 1
        out.consumed.append(item)
    writer.flush_archive()  # raw bytes are durable before anything about them lands
    return out


@dataclass
class LinkedBatch:
    """A batch after cleaning and linking, with the seconds each stage took (measured where it ran)."""

    prepared: pipeline.PreparedBatch
    mentions: list[dict[str, Any]]
    clean_seconds: float
    link_seconds: float


@task(name="clean", task_run_name="clean-batch-{batch_no}", cache_policy=NO_CACHE)
def clean_task(docs: Payload, batch_no: int, rules_path: str | None) -> tuple[pipeline.PreparedBatch, float]:
    """Decode, extract and clean a batch (pure transforms)."""
    t = time.perf_counter()
    prepared = pipeline.prepare_batch(docs.value, _rules(rules_path))
    return prepared, time.perf_counter() - t


@task(name="link", task_run_name="link-batch-{batch_no}", cache_policy=NO_CACHE)
def link_task(
    cleaned: tuple[pipeline.PreparedBatch, float],
    batch_no: int,
    gazetteer_path: str | None,
    overlays: tuple[tuple[str, str], ...] = (),
    max_clean_chars: int | None = None,
) -> LinkedBatch:
    """Link every name to a gazetteer entity; fills normalized_text (articles over the size limit are not linked)."""
    prepared, clean_seconds = cleaned
    t = time.perf_counter()
    gaz, linker = _gazetteer_and_linker(gazetteer_path, overlays)
    # over CORPUS_MAX_CLEAN_CHARS: validation holds it as too long anyway, and linking megabytes of
    # name-dense text first could take minutes; it keeps normalized_text = clean_text and no mentions
    limit = max_clean_chars if max_clean_chars is not None else float("inf")
    linkable = [a for a in prepared.articles if len(a["clean_text"]) <= limit]
    for a in prepared.articles:
        if len(a["clean_text"]) > limit:
            a["normalized_text"] = a["clean_text"]
    mentions = pipeline.link_batch(linkable, linker, gaz)
    return LinkedBatch(prepared, mentions, clean_seconds, time.perf_counter() - t)


@dataclass
class Verdict:
    tables: dict[str, pa.Table]
    quarantine: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    report: Any = None  # the GX batch report, for Data Docs


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
    """Run the GX suites over the batch; failing articles leave the batch for quarantine."""
    if not articles:  # nothing new (all duplicates or held): nothing to validate, so no GX import or context
        return Verdict({t: LAKE_SCHEMAS[t].empty_table() for t in ("articles", "mentions", "removed_spans")}, [], [])
    _wait_for_gx_warm_up()
    import pandas as pd

    from expectations import BatchSchemaError, ValidationConfig, validate_batch

    for a in articles:
        a["archived_sha256"] = writer.verify_archived(a["content_sha256"])
        a["run_id"] = run_id
    cfg = ValidationConfig(min_clean_chars=settings.min_clean_chars, max_clean_chars=settings.max_clean_chars)
    art_cols = list(LAKE_SCHEMAS["articles"].names) + ["archived_sha256"]
    frames = {
        "articles": pd.DataFrame(articles, columns=[c for c in art_cols if c != "ingested_at"]),
        "mentions": pd.DataFrame(
            mentions,
            columns=["article_id", "start_char", "end_char", "surface", "entity_id", "method", "score", "field"],
        ),
        "removed_spans": pd.DataFrame(removed, columns=["article_id", "start_char", "end_char", "rule", "text"]),
    }
    try:
        result = validate_batch(frames, entity_ids, cfg)
    except BatchSchemaError as exc:
        raise BatchError(f"batch {batch_no} failed schema validation: {exc}") from exc
    rejected = set(result.rejected_article_rows)  # positions in `articles`; a duplicate's first copy is kept
    first_pos: dict[str, int] = {}
    for pos, a in enumerate(articles):
        first_pos.setdefault(a["article_id"], pos)
    quarantine: list[dict[str, Any]] = []
    explained: set[int] = set()
    for f in result.failures:
        if f.article_id is None:
            continue  # entity rows are not validated per batch here
        pos = f.row_index if f.table == "articles" and f.row_index is not None else first_pos.get(f.article_id)
        if pos is None:
            continue
        if pos not in rejected:  # a child-row failure of an id held twice: it belongs to the rejected copy
            pos = next((p for p in sorted(rejected) if articles[p]["article_id"] == f.article_id), pos)
        a = articles[pos]
        explained.add(pos)
        quarantine.append(
            {
                "source_name": a["source_name"],
                "content_sha256": a["content_sha256"],
                "stage": "validate",
                "reason": f.expectation,
                "detail": f"{f.table}: {f.detail}",
                "article_id": a["article_id"],
            }
        )
    for pos in sorted(rejected - explained):
        a = articles[pos]
        quarantine.append(
            {
                "source_name": a["source_name"],
                "content_sha256": a["content_sha256"],
                "stage": "validate",
                "reason": "rejected",
                "detail": "rejected by the batch validation",
                "article_id": a["article_id"],
            }
        )
    keep = [a for pos, a in enumerate(articles) if pos not in rejected]
    kept_rows = {a["_row"] for a in keep}
    now = _now()
    for a in keep:
        a["ingested_at"] = now
    tables = {
        "articles": pa.Table.from_pylist(keep, schema=LAKE_SCHEMAS["articles"]),
        "mentions": pa.Table.from_pylist(
            [dict(m, run_id=run_id) for m in mentions if m["_row"] in kept_rows], schema=LAKE_SCHEMAS["mentions"]
        ),
        "removed_spans": pa.Table.from_pylist(
            [dict(r, run_id=run_id) for r in removed if r["_row"] in kept_rows], schema=LAKE_SCHEMAS["removed_spans"]
        ),
    }
    validation = [
        {"suite": r.suite, "expectation": r.expectation, "success": r.success, "unexpected_count": r.unexpected_count}
        for r in result.results
    ]
    return Verdict(tables, quarantine, validation, result)


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
    try:
        from prefect.runtime import flow_run

        rid = flow_run.get_id()
        if rid:
            return str(rid)
    except Exception:  # noqa: BLE001 - outside a flow run there is no id; make one
        pass
    return str(uuid.uuid4())


# ---- the flow --------------------------------------------------------------------------------
@flow(name="ingest", log_prints=False)
def ingest_flow(
    home: str | None = None,
    inbox: str | None = None,
    batch_size: int | None = None,
    consume_inbox: bool | None = None,
    retry_quarantined: bool = False,
) -> dict[str, Any]:
    """Ingest every article in the inbox into the warehouse; returns the run summary."""
    settings = Settings.from_env(home=home, batch_size=batch_size)
    logger = get_run_logger()
    wh = Warehouse(settings.home)
    inbox_path = Path(inbox).expanduser().resolve() if inbox else wh.layout.inbox
    # Files are removed from the home's own inbox once archived and landed; an outside folder is left as is.
    if consume_inbox is None:
        consume_inbox = inbox_path == wh.layout.inbox.resolve()
    run_id = _run_id()
    stats = RunStats()
    with wh.writer(settings.lock_timeout) as writer:
        writer.start_run(run_id, _flow_run_name(), str(inbox_path))
        # SIGTERM (cron, systemd, `timeout`): mark the run and end within seconds, as kill -9 would
        term = TermGuard(lambda: writer.mark_terminated(run_id)).start()
        try:
            t0 = time.perf_counter()
            # Load the data files first: a broken rules file or gazetteer fails the run before any work.
            _rules(_str(settings.rules_path))
            overlays = gazetteer_overlays(settings)
            _gazetteer_and_linker(_str(settings.gazetteer_path), overlays)
            entity_ids = sync_entities_task(writer, _str(settings.gazetteer_path), overlays)
            known_shas, known_ids, held_shas = writer.known_keys()
            if retry_quarantined:
                items, refused = [], []
                retry_docs = _quarantined_docs(writer)
                held_shas = set()
            else:
                items, refused = discover_task(str(inbox_path))
                retry_docs = []
            stats.stage_seconds["discover"] += time.perf_counter() - t0
            if refused:
                writer.record_quarantine(refused, run_id)
                if consume_inbox:
                    set_aside(inbox_path, [r["source_name"] for r in refused])
                stats.n_seen += len(refused)
                stats.n_quarantined += len(refused)
                stats.quarantined_by_reason.update(r["reason"] for r in refused)
            total = len(items) + len(retry_docs)
            logger.info(
                "run %s: %d item(s) from %s, batch size %d",
                run_id,
                total,
                "quarantine" if retry_quarantined else inbox_path,
                settings.batch_size,
            )
            _progress("start", total=total)
            if retry_quarantined:
                batches: list[Any] = [("docs", c) for c in _chunks(retry_docs, settings.batch_size)]
            else:
                batches = list(_chunks(items, settings.batch_size))
            # Read in order (it archives and de-duplicates), let clean+link of the next batches run on the
            # task runner meanwhile (threads by default, processes on Dask), then validate and land in order.
            window = max(1, settings.max_in_flight)
            in_flight: list[tuple[int, ReadResult, Any, Any]] = []
            last_report: list[Any] = []

            def finish_oldest() -> None:
                batch_no, read, cleaned, future = in_flight.pop(0)
                cleaned.result()  # raises the cleaning stage's own error, not "upstream not completed"
                linked: LinkedBatch = future.result()
                stats.stage_seconds["clean"] += linked.clean_seconds
                stats.stage_seconds["link"] += linked.link_seconds
                validate_and_land(batch_no, read, linked)

            def validate_and_land(batch_no: int, read: ReadResult, linked: LinkedBatch) -> None:
                prepared = linked.prepared
                fresh, fresh_rows = [], set()
                for art in prepared.articles:
                    if art["article_id"] in known_ids:
                        stats.n_duplicate += 1
                        read.duplicates.append({"source_name": art.get("source_name"), "reason": "same_text",
                                                "content_sha256": art.get("content_sha256"),
                                                "article_id": art["article_id"]})
                    else:
                        fresh.append(art)
                        fresh_rows.add(art["_row"])
                removed = [r for r in prepared.removed_spans if r["_row"] in fresh_rows]
                mentions = [m for m in linked.mentions if m["_row"] in fresh_rows]
                t = time.perf_counter()
                verdict = validate_task(
                    writer, batch_no, run_id, quote(fresh), quote(mentions), quote(removed), quote(entity_ids), settings
                )
                stats.stage_seconds["validate"] += time.perf_counter() - t
                last_report[:] = [verdict.report]
                quarantine = read.quarantine + [f.as_row() for f in prepared.failures]
                t = time.perf_counter()
                landed = land_task(writer, run_id, batch_no, quote(verdict), quote(quarantine))
                writer.record_duplicates(read.duplicates, run_id)
                stats.stage_seconds["land"] += time.perf_counter() - t
                if consume_inbox and read.consumed:
                    left = consume(read.consumed, read.stamps)
                    if left:
                        logger.info(
                            "%d file(s) changed while being ingested, left for the next run: %s",
                            len(left),
                            ", ".join(i.name for i in left[:5]),
                        )
                if consume_inbox:
                    set_aside(inbox_path, [q["source_name"] for q in read.quarantine if q["reason"] == "unreadable"])
                if retry_quarantined:
                    writer.resolve_quarantine([d.content_sha256 for d in read.docs], f"retried in run {run_id}")
                all_q = quarantine + verdict.quarantine
                stats.n_new += landed
                stats.n_quarantined += len({(q.get("source_name"), q.get("content_sha256")) for q in all_q})
                stats.quarantined_by_reason.update(q["reason"] for q in all_q)
                known_ids.update(verdict.tables["articles"].column("article_id").to_pylist())
                stats.entity_counts.update(verdict.tables["mentions"].column("entity_id").to_pylist())
                logger.info(
                    "batch %d: %d new, %d duplicate(s) and %d quarantined so far",
                    batch_no,
                    landed,
                    stats.n_duplicate,
                    stats.n_quarantined,
                )
                _progress(
                    "advance",
                    n=read.n_units,
                    new=stats.n_new,
                    duplicate=stats.n_duplicate,
                    quarantined=stats.n_quarantined,
                )

            def read_units() -> Iterator[tuple[Any, ReadResult]]:
                """One ReadResult per batch of files, several for a batch holding a big .jsonl."""
                for batch in batches:
                    if isinstance(batch, tuple):
                        yield batch, ReadResult(batch[1], [], [], n_seen=len(batch[1]), n_units=len(batch[1]))
                        continue
                    cursor = None
                    while True:
                        read = read_task(
                            writer,
                            quote(batch),
                            batch_no_counter[0],
                            settings.max_file_bytes,
                            quote(known_shas),
                            quote(held_shas),
                            settings.batch_size,
                            cursor,
                        )
                        yield batch, read
                        if read.cursor is None:
                            break
                        cursor = read.cursor

            batch_no_counter = [0]
            units = read_units()
            while True:
                t = time.perf_counter()
                try:
                    batch, read = next(units)
                except StopIteration:
                    break
                batch_no = batch_no_counter[0]
                batch_no_counter[0] += 1
                stats.stage_seconds["read"] += time.perf_counter() - t
                stats.n_seen += read.n_seen
                stats.n_duplicate += read.n_duplicate
                if batch and not isinstance(batch, tuple) and not (read.docs or read.quarantine or read.n_duplicate):
                    # every file must become an article, a duplicate or a quarantine row: an empty batch
                    # from a non-empty inbox means a stage lost data, so the run stops
                    raise BatchError(
                        f"batch {batch_no}: {len(batch)} inbox file(s) gave no article, duplicate or "
                        "quarantine row"
                    )
                cleaned = clean_task.submit(Payload(read.docs), batch_no, _str(settings.rules_path))
                linked = link_task.submit(
                    cleaned, batch_no, _str(settings.gazetteer_path), overlays, settings.max_clean_chars
                )
                in_flight.append((batch_no, read, cleaned, linked))
                if len(in_flight) >= window:
                    finish_oldest()
            while in_flight:
                finish_oldest()
            _wait_for_gx_warm_up()
            if last_report and last_report[0] is not None:
                from expectations import build_data_docs

                build_data_docs(last_report[0], writer.layout.docs, run_name=run_id)
            if settings.compact_at and writer.live_file_count("articles") > settings.compact_at:
                # scheduled runs add a file per table per batch; merge them before queries slow down
                t = time.perf_counter()
                merged = writer.compact(f"compact-{run_id}")
                stats.stage_seconds["compact"] += time.perf_counter() - t
                logger.info("compacted the lake: %s", {k: f"{a} -> {b} files" for k, (a, b) in merged.items()})
            writer.finish_run(run_id, stats.counts(), "completed", stage_seconds=stats.stage_seconds)
        except BaseException as exc:
            writer.finish_run(
                run_id,
                stats.counts(),
                "terminated" if term.terminated else "failed",
                error=f"{type(exc).__name__}: {exc}",
                stage_seconds=stats.stage_seconds,
            )
            raise
        finally:
            term.stop()
    summary = _summary(run_id, settings, stats)
    _publish_artifacts(summary)
    _progress("done", **summary)
    return summary


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
