"""Table schemas: Arrow schemas of the lake tables and DDL of the operational tables."""

from __future__ import annotations

import pyarrow as pa

# Bump with a migration in warehouse/migrations.py whenever a table's shape changes.
SCHEMA_VERSION = 4  # 4: the lake is a DuckLake (every table, operational ones too, in one catalog)

_SPAN = pa.struct([("start_char", pa.int32()), ("end_char", pa.int32())])
_TS = pa.timestamp("us", tz="UTC")

LAKE_SCHEMAS: dict[str, pa.Schema] = {
    "articles": pa.schema(
        [
            ("article_id", pa.string()),
            ("source_name", pa.string()),
            ("content_sha256", pa.string()),
            ("title", pa.string()),
            ("author", pa.string()),
            ("published", pa.date32()),
            ("dateline_place", pa.string()),
            ("language", pa.string()),
            ("raw_text", pa.string()),
            ("clean_text", pa.string()),
            ("normalized_text", pa.string()),
            ("ingested_at", _TS),
            ("run_id", pa.string()),
            ("source_kind", pa.string()),
            ("url", pa.string()),
            ("sitename", pa.string()),
            ("encoding", pa.string()),
            ("language_score", pa.float32()),
            ("headings", pa.list_(_SPAN)),
            ("near_duplicates", pa.list_(_SPAN)),
            # encoding repairs the text needed: ("invalid_utf8", bad byte sequences replaced by U+FFFD),
            # ("mojibake", lines repaired by ftfy); empty when the text arrived sound
            ("repairs", pa.list_(pa.struct([("kind", pa.string()), ("count", pa.int32())]))),
        ]
    ),
    "mentions": pa.schema(
        [
            ("article_id", pa.string()),
            ("start_char", pa.int32()),
            ("end_char", pa.int32()),
            ("surface", pa.string()),
            ("entity_id", pa.string()),
            ("method", pa.string()),
            ("score", pa.float32()),
            ("run_id", pa.string()),
            # which text the offsets point into: body (clean_text), title or dateline_place (version 2)
            ("field", pa.string()),
        ]
    ),
    "removed_spans": pa.schema(
        [
            ("article_id", pa.string()),
            ("start_char", pa.int32()),
            ("end_char", pa.int32()),
            ("rule", pa.string()),
            ("text", pa.string()),
            ("run_id", pa.string()),
        ]
    ),
    "entities": pa.schema(
        [
            ("entity_id", pa.string()),
            ("canonical_name", pa.string()),
            ("type", pa.string()),
            ("aliases", pa.list_(pa.string())),
            ("gazetteer_version", pa.string()),
        ]
    ),
}

# Operational tables are DuckLake tables too, in the same catalog: a batch's quarantine and validation rows
# commit in the same transaction (one snapshot) as its articles. DuckLake has no keys: runs are upserted
# by DELETE + INSERT.
OPS_DDL = [
    """CREATE TABLE IF NOT EXISTS _meta (key VARCHAR, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
        n_seen BIGINT, n_new BIGINT, n_duplicate BIGINT, n_quarantined BIGINT, status VARCHAR,
        flow_run_name VARCHAR, inbox VARCHAR, error VARCHAR, stage_seconds VARCHAR)""",
    # archive_path: the archived file holding the held item's raw bytes, relative to the home
    # ("archive/ab/abcd…"; a .jsonl record: its file's blob), NULL when the item was never read; filled by
    # WarehouseWriter when the row is inserted (and once for older rows, see WarehouseWriter.open)
    """CREATE TABLE IF NOT EXISTS quarantine (
        source_name VARCHAR, content_sha256 VARCHAR, stage VARCHAR, reason VARCHAR, detail VARCHAR,
        run_id VARCHAR, quarantined_at TIMESTAMPTZ, article_id VARCHAR, archive_path VARCHAR,
        resolved_at TIMESTAMPTZ, resolution VARCHAR)""",
    # which source was a duplicate of which article (reason: same_bytes, same_text or held)
    """CREATE TABLE IF NOT EXISTS duplicates (
        run_id VARCHAR, source_name VARCHAR, content_sha256 VARCHAR, article_id VARCHAR, reason VARCHAR,
        seen_at TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS validation_results (
        run_id VARCHAR, batch_no INTEGER, suite VARCHAR, expectation VARCHAR, success BOOLEAN,
        unexpected_count BIGINT, checked_at TIMESTAMPTZ)""",
]
OPS_TABLES = ("_meta", "runs", "quarantine", "duplicates", "validation_results")

QUARANTINE_COLUMNS = (
    "source_name", "content_sha256", "stage", "reason", "detail", "run_id", "quarantined_at",
    "article_id", "archive_path",
)
