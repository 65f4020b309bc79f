"""Bronze extraction on Spark: WARC/WET files in; `bronze/documents`, `bronze/skips` and
`bronze/errors` out, and every file's accounting for the manifest.

One file per Spark task: a `range(n, numPartitions=n)` frame carries file indexes, and each task
streams its file from its URI (never `binaryFiles`, which would hold a 1 GB file in memory) through
`extract_file`, emitting Arrow batches through `mapInArrow` (`bronze_batches.file_batches`). The
documents go straight from `mapInArrow` into bronze/documents, in one pass and without a cache; the
task writes its file's few other rows (skips, errors, the accounting row) to a staging directory
(`bronze_side_rows`), from which bronze/skips and bronze/errors are written and the accounts read
once the documents are written.

Accounting: every response and conversion record of a file ends as exactly one row, in
bronze/documents, bronze/skips, or bronze/errors (with its `record_type`); requests, metadata and
warcinfo records are counted only. The manifest stores each file's counts (`FileOutcome`), and
`bronze_balance` checks the tables against them file by file.

Files the manifest no longer lists (after a smaller re-selection with `reset`) lose their rows in
the same Delta commits that write the processed files (`unlisted_paths`, `retire=`), so the bronze
partition holds exactly the manifest's files, and a run that fails before writing leaves both the
stale rows and the manifest's counts as they were (the balance check still agrees).
"""
from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa

from contract.tables import (
    BRONZE_DOCUMENTS, BRONZE_ERRORS, BRONZE_ERRORS_SCHEMA, BRONZE_SCHEMA, BRONZE_SKIPS,
    BRONZE_SKIPS_SCHEMA, MANIFEST, table_uri,
)
from core.io.object_store import S3Settings, is_s3_uri
from core.io.remote import open_uri
from core.warc.extract import ExtractionConfig, extract_file
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.bronze_batches import (
    ROW_DOC, ROW_ERROR, ROW_FILE, ROW_RECORD_TYPES, ROW_SKIP, FileAccount, file_batches,
)
from spark_jobs.bronze_side_rows import (
    new_staging_dir, remove_stale_staging, remove_staging, side_rows, write_side_rows,
)
from spark_jobs.delta_columns import add_missing_columns
from spark_jobs.delta_io import overwrite_where, partition_predicate, read_partition, table_exists
from spark_jobs.manifest import FileOutcome

# Errors after which a file counts as failed when it gave no document at all.
FILE_LEVEL_REASONS = {"file.missing", "file.unreadable", "file.empty", "warc.no_records"}

# The tables bronze writes, their contract, and the union rows that go into each.
OUTPUT_TABLES = (
    (BRONZE_DOCUMENTS, BRONZE_SCHEMA, ROW_DOC),
    (BRONZE_SKIPS, BRONZE_SKIPS_SCHEMA, ROW_SKIP),
    (BRONZE_ERRORS, BRONZE_ERRORS_SCHEMA, ROW_ERROR),
)
SIDE_TABLES = OUTPUT_TABLES[1:]  # written from the side rows, after the documents
_DOC_NAMES = BRONZE_SCHEMA.names


def driver_s3_settings(paths: list[str]) -> S3Settings | None:
    """The driver's S3 settings when it reads the crawl (or writes side rows) on S3 and its AWS_* variables name
    something (an endpoint, a region, a key), else None: the executors then use their own chain.
    Shipped with the tasks, as the Ray stages ship their filesystem: Python workers inherit the
    environment of the JVM, which may have started before the variables were set (a notebook's
    session, a test's), and then would not reach the store the driver's run names."""
    if not any(is_s3_uri(path) for path in paths):
        return None
    settings = S3Settings.from_env()
    return None if settings == S3Settings() else settings


def make_extract_batches(paths: list[str], snapshot: str, config: ExtractionConfig, staging: str,
                         s3_settings: S3Settings | None = None):
    """The function Spark runs per task: file indexes in, bronze/documents batches out; each file's
    side rows (skips, errors, its accounting row) to `staging` once the file is done. `s3_settings`
    (the driver's) reach the crawl and the staging directory when they are on S3."""
    opener = functools.partial(open_uri, s3_settings=s3_settings) if s3_settings else open_uri

    def extract_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for index in batch.column("id").to_pylist():
                path = paths[index]
                side = []
                for part in file_batches(path, snapshot, extract_file(path, snapshot, config, opener)):
                    if part.column("row_type")[0].as_py() == ROW_DOC:  # one row_type per batch
                        yield part.select(_DOC_NAMES)
                    else:
                        side.append(part)
                write_side_rows(staging, index, side, s3_settings)

    return extract_batches


@dataclass
class BronzeResult:
    files: int
    documents: int
    errors: int
    skipped: dict[str, int]  # every skipped record by reason (requests and metadata included)
    errors_by_reason: dict[str, int]
    outcomes: list[FileOutcome]
    seconds: float
    chars: int = 0
    failed_files: list[str] = field(default_factory=list)
    retired_files: list[str] = field(default_factory=list)
    records_by_type: dict[str, int] = field(default_factory=dict)
    skip_rows: int = 0  # rows written to bronze/skips
    record_errors: int = 0  # responses and conversions that failed (rows of bronze/errors)
    stale_staging_removed: int = 0  # staging directories of earlier killed runs, removed first


def file_outcome(path: str, account: FileAccount) -> FileOutcome:
    """A file failed when a file-level error left it without any document."""
    fatal = next((r for r in account.errors if r in FILE_LEVEL_REASONS), None)
    failed = fatal is not None and account.documents == 0
    return FileOutcome(
        path, "failed" if failed else "done", account.documents, account.n_errors,
        fatal if failed else None, n_records=account.n_records,
        n_responses=account.records["response"], n_conversions=account.records["conversion"],
        n_skipped=account.skip_rows, n_record_errors=account.record_errors,
    )


def _result(paths: list[str], accounts: dict[str, FileAccount], retire: list[str],
            seconds: float) -> BronzeResult:
    missing = sorted(set(paths) - set(accounts))
    if missing:  # every task ends its file with an accounting row; none means a lost task output
        raise RuntimeError(f"bronze: no accounting row for {len(missing)} file(s): {missing[:5]}")
    total = FileAccount()
    for account in accounts.values():
        total.records += account.records
        total.skipped += account.skipped
        total.errors += account.errors
        total.documents += account.documents
        total.chars += account.chars
        total.skip_rows += account.skip_rows
        total.record_errors += account.record_errors
    outcomes = [file_outcome(path, accounts[path]) for path in paths]
    return BronzeResult(
        files=len(paths), documents=total.documents, errors=total.n_errors,
        skipped=dict(sorted(total.skipped.items())), errors_by_reason=dict(sorted(total.errors.items())),
        outcomes=outcomes, seconds=seconds, chars=total.chars,
        failed_files=[o.path for o in outcomes if o.status == "failed"], retired_files=retire,
        records_by_type=dict(sorted(total.records.items())), skip_rows=total.skip_rows,
        record_errors=total.record_errors,
    )


def unlisted_paths(spark, lake_root: str, snapshot: str) -> list[str]:
    """Files with rows of the crawl in a bronze table that its manifest no longer lists (a missing
    manifest lists nothing)."""
    from pyspark.sql import functions as F

    found = None
    for table, _, _ in OUTPUT_TABLES:
        uri = table_uri(lake_root, table)
        if table_exists(spark, uri):
            paths = read_partition(spark, uri, snapshot).select("warc_path").distinct()
            found = paths if found is None else found.union(paths).distinct()
    if found is None:
        return []
    manifest_uri = table_uri(lake_root, MANIFEST)
    if table_exists(spark, manifest_uri):
        listed = (read_partition(spark, manifest_uri, snapshot)
                  .select(F.col("path").alias("warc_path")))
        found = found.join(listed, "warc_path", "left_anti")
    return sorted(r.warc_path for r in found.collect())


def _documents(spark, paths: list[str], snapshot: str, config: ExtractionConfig, staging: str):
    """The frame of the files' documents; computing it writes their side rows to `staging`."""
    schema = to_spark_schema(BRONZE_SCHEMA)
    if not paths:
        return spark.createDataFrame([], schema)
    return (spark.range(0, len(paths), 1, numPartitions=len(paths))
            .mapInArrow(make_extract_batches(paths, snapshot, config, staging,
                                             driver_s3_settings([*paths, staging])), schema))


def run_bronze(spark, lake_root: str, snapshot: str, paths: list[str],
               config: ExtractionConfig = ExtractionConfig(), retire: list[str] = ()) -> BronzeResult:
    """Extract `paths` and replace their rows in the bronze tables; the rows of `retire` (files no
    longer selected) go in the same commits. Returns counts per reason and each file's outcome."""
    from pyspark.sql import functions as F

    started = time.monotonic()
    paths = sorted(paths)
    retire = sorted(set(retire) - set(paths))
    if not paths and not retire:
        return BronzeResult(0, 0, 0, {}, {}, [], 0.0)
    for table, schema, _ in OUTPUT_TABLES:
        add_missing_columns(spark, table_uri(lake_root, table), schema)
    predicate = partition_predicate(snapshot, "warc_path", paths + retire)
    stale = remove_stale_staging(lake_root, snapshot)
    staging = new_staging_dir(lake_root, snapshot)
    try:
        # One job extracts the files and writes the documents; the side rows wait in staging.
        overwrite_where(_documents(spark, paths, snapshot, config, staging),
                        table_uri(lake_root, BRONZE_DOCUMENTS), predicate)
        side = side_rows(spark, staging, len(paths))
        for table, schema, row_type in SIDE_TABLES:
            rows = side.where(F.col("row_type") == row_type).select(*schema.names)
            overwrite_where(rows, table_uri(lake_root, table), predicate)
        accounts = {r.warc_path: FileAccount.from_json(r.detail) for r in
                    side.where(F.col("row_type") == ROW_FILE).select("warc_path", "detail").collect()}
    finally:
        remove_staging(staging)
    return dataclasses.replace(_result(paths, accounts, retire, time.monotonic() - started),
                               stale_staging_removed=stale)


@dataclass(frozen=True)
class BronzeBalance:
    """The crawl's bronze tables against its manifest, file by file."""

    rows_in_bronze: int  # documents
    documents_in_manifest: int
    skip_rows: int
    record_error_rows: int
    files: int  # files in the manifest or in a bronze table
    unbalanced: list[dict]  # up to 50 files whose rows disagree with their counts

    @property
    def passed(self) -> bool:
        return not self.unbalanced and self.rows_in_bronze == self.documents_in_manifest


def _rows_per_file(spark, lake_root: str, table: str, snapshot: str, name: str, where=None):
    uri = table_uri(lake_root, table)
    if not table_exists(spark, uri):
        return spark.createDataFrame([], f"warc_path string, {name} bigint")
    frame = read_partition(spark, uri, snapshot)
    if where is not None:
        frame = frame.where(where)
    from pyspark.sql import functions as F

    return frame.groupBy("warc_path").agg(F.count(F.lit(1)).alias(name))


def _manifest_counts(spark, lake_root: str, snapshot: str):
    from pyspark.sql import functions as F

    columns = ["n_documents", "n_skipped", "n_record_errors", "n_responses", "n_conversions"]
    uri = table_uri(lake_root, MANIFEST)
    if not table_exists(spark, uri):
        return spark.createDataFrame([], "warc_path string, " + ", ".join(f"{c} bigint" for c in columns))
    return read_partition(spark, uri, snapshot).select(F.col("path").alias("warc_path"), *columns)


def bronze_balance(spark, lake_root: str, snapshot: str) -> BronzeBalance:
    """Per file of the crawl: documents, skip rows and record-error rows in the tables equal the
    manifest's n_documents, n_skipped and n_record_errors, and (for files bronze has counted)
    n_responses + n_conversions = n_documents + n_skipped + n_record_errors."""
    from pyspark.sql import functions as F

    found = (_rows_per_file(spark, lake_root, BRONZE_DOCUMENTS, snapshot, "documents")
             .join(_rows_per_file(spark, lake_root, BRONZE_SKIPS, snapshot, "skip_rows"),
                   "warc_path", "full_outer")
             .join(_rows_per_file(spark, lake_root, BRONZE_ERRORS, snapshot, "record_error_rows",
                                  F.col("record_type").isin(*ROW_RECORD_TYPES)),
                   "warc_path", "full_outer"))
    counted = ["documents", "skip_rows", "record_error_rows"]
    expected = ["n_documents", "n_skipped", "n_record_errors"]
    joined = (_manifest_counts(spark, lake_root, snapshot).join(found, "warc_path", "full_outer")
              .fillna(0, subset=counted + expected))
    wrong_rows = [F.col(c) != F.col(e) for c, e in zip(counted, expected)]
    wrong_sum = F.col("n_responses").isNotNull() & (
        F.col("n_responses") + F.col("n_conversions")
        != F.col("n_documents") + F.col("n_skipped") + F.col("n_record_errors"))
    unbalanced = wrong_sum
    for condition in wrong_rows:
        unbalanced = unbalanced | condition
    totals = joined.agg(*[F.sum(c).alias(c) for c in counted + ["n_documents"]],
                        F.count(F.lit(1)).alias("files")).first()
    bad = [r.asDict() for r in joined.where(unbalanced).orderBy("warc_path").limit(50).collect()]
    return BronzeBalance(
        rows_in_bronze=int(totals["documents"] or 0),
        documents_in_manifest=int(totals["n_documents"] or 0),
        skip_rows=int(totals["skip_rows"] or 0),
        record_error_rows=int(totals["record_error_rows"] or 0),
        files=int(totals["files"]),
        unbalanced=bad,
    )


def trace_url(spark, lake_root: str, snapshot: str, url: str) -> list[dict]:
    """Where the response or conversion records of `url` went in a crawl: one dict per record, with
    its table (documents, skips, errors), file, offset, record id, reason and content type."""
    return trace_urls(spark, lake_root, snapshot, [url]).get(url, [])


def trace_urls(spark, lake_root: str, snapshot: str, urls: list[str]) -> dict[str, list[dict]]:
    """`trace_url` for many URLs in one query: {url: its records}; URLs never read are absent."""
    from pyspark.sql import functions as F

    found: dict[str, list[dict]] = {}
    parts = []
    any_row, null = F.lit(True), F.lit(None).cast("string")
    for table, name, id_column, reason, content_type, which in (
            (BRONZE_DOCUMENTS, "documents", "doc_id", null, F.col("content_type"), any_row),
            (BRONZE_SKIPS, "skips", "record_id", F.col("reason"), F.col("content_type"), any_row),
            (BRONZE_ERRORS, "errors", "record_id", F.col("reason"), null,
             F.col("record_type").isin(*ROW_RECORD_TYPES))):
        uri = table_uri(lake_root, table)
        if table_exists(spark, uri):
            rows = read_partition(spark, uri, snapshot).where(F.col("url").isin(*urls) & which)
            parts.append(rows.select(
                "url", F.lit(name).alias("table"), "warc_path", "offset",
                F.col(id_column).alias("record_id"), reason.alias("reason"),
                content_type.alias("content_type")))
    if not parts or not urls:
        return found
    frame = parts[0]
    for part in parts[1:]:
        frame = frame.unionByName(part)
    for row in frame.orderBy("url", "warc_path", "offset").collect():
        record = row.asDict()
        found.setdefault(record.pop("url"), []).append(record)
    return found
