"""The table contract between stages: Delta table paths under the lake root, and their schemas.

Plain Python and pyarrow only, so that Spark jobs, Ray jobs, Dagster assets and tests import it
without pulling in an engine. A Spark job turns a schema here into a Spark schema with
`spark_jobs.arrow_schema.to_spark_schema`.
"""
from __future__ import annotations

import re

import pyarrow as pa

# Crawl ids look like Common Crawl's (`CC-MAIN-2024-33`); the embedded sample crawl has its own id.
CRAWL_ID_PATTERN = re.compile(r"^CC-MAIN-(\d{4})-(\d{2})$")
SAMPLE_CRAWL_ID = "CC-MAIN-SAMPLE"


def validate_crawl_id(crawl_id: str) -> str:
    """Return the crawl id if it is a Common Crawl id or the sample id, else raise ValueError."""
    if crawl_id == SAMPLE_CRAWL_ID or CRAWL_ID_PATTERN.match(crawl_id):
        return crawl_id
    raise ValueError(
        f"{crawl_id!r} is not a crawl id: expected CC-MAIN-YYYY-WW (e.g. CC-MAIN-2024-33) "
        f"or {SAMPLE_CRAWL_ID}"
    )


# Table paths, relative to the lake root.
MANIFEST = "manifest"
BRONZE_DOCUMENTS = "bronze/documents"
BRONZE_ERRORS = "bronze/errors"
SILVER_DOCUMENTS = "silver/documents"
SILVER_REJECTS = "silver/rejects"
DEDUP_DOCUMENTS = "dedup/documents"
DEDUP_SIGNATURES = "dedup/signatures"
DEDUP_CLUSTERS = "dedup/clusters"
DEDUP_REMOVED = "dedup/removed"


def table_uri(lake_root: str, table: str) -> str:
    """The URI of a table under the lake root (a local path or any URI Spark and delta-rs read)."""
    return lake_root.rstrip("/") + "/" + table


UTC_TS = pa.timestamp("us", tz="UTC")

# manifest: one row per selected WARC/WET file of a crawl.
MANIFEST_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),
        ("path", pa.string()),  # full URI of the file
        ("kind", pa.string()),  # warc | wet
        ("status", pa.string()),  # pending | done | failed
        ("n_documents", pa.int64()),
        ("n_errors", pa.int64()),
        ("error", pa.string()),  # why the file failed, when it did
        ("updated_at", UTC_TS),
    ]
)

MANIFEST_STATUSES = ("pending", "done", "failed")

# bronze/documents: one row per extracted document.
BRONZE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),  # WARC-Record-ID of the response/conversion record
        ("snapshot", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("fetch_time", UTC_TS),
        ("warc_path", pa.string()),
        ("offset", pa.int64()),  # byte offset of the record in the (compressed) file
        ("content_type", pa.string()),
        ("charset", pa.string()),  # the charset the payload was decoded with
        ("text", pa.string()),
        ("n_chars", pa.int64()),
        ("extractor", pa.string()),  # resiliparse | trafilatura | wet
    ]
)

# bronze/errors: one row per failure, with where it happened.
BRONZE_ERRORS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),
        ("warc_path", pa.string()),
        ("offset", pa.int64()),  # -1 when the failure is not at a record (missing file, ...)
        ("record_id", pa.string()),
        ("reason", pa.string()),  # stable name, e.g. warc.parse_error, file.missing
        ("detail", pa.string()),
    ]
)

# silver/documents: bronze columns (text after C4 line removal and PII scrubbing) + language,
# language_score and every filter statistic as `<filter>__<feature>` columns; silver/rejects: the same
# + reason (first failing rule, e.g. gopher_quality.word_count) and error. The statistics columns are
# defined by the filter chain (spark_jobs.silver.SILVER_SCHEMA builds the full schema).
SILVER_KEY_COLUMNS = ("doc_id", "snapshot", "url", "domain", "fetch_time", "text", "n_chars",
                      "language", "language_score")
