"""Bronze extraction on Spark: WARC/WET files in, `bronze/documents` and `bronze/errors` out.

Files the manifest no longer lists (after a smaller re-selection with `reset`) lose their rows in
the same Delta commit that writes the processed files (`unlisted_paths`, `retire=`), so the bronze
partition holds exactly the manifest's files, and a run that fails before writing leaves both the
stale rows and the manifest's counts as they were (the balance check still agrees).

One file per Spark task: a `range(n, numPartitions=n)` frame carries file indexes, and each task
streams its file from its URI (never `binaryFiles`, which would hold a 1 GB file in memory) through
`warc_extract.extract_file`, emitting Arrow batches through `mapInArrow`. Documents, errors and skip
counts travel in one union frame (a `row_type` column), which is persisted once and split, so the
files are read exactly once.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa

from contract.tables import (
    BRONZE_DOCUMENTS, MANIFEST, BRONZE_ERRORS, BRONZE_ERRORS_SCHEMA, BRONZE_SCHEMA, table_uri,
)
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.balance import partition_counts
from spark_jobs.delta_io import overwrite_where, partition_predicate, read_partition, table_exists
from spark_jobs.manifest import FileOutcome
from core.warc.extract import ExtractionConfig, ExtractionError, Skip, extract_file

# Errors after which a file counts as failed when it gave no document at all.
FILE_LEVEL_REASONS = {"file.missing", "file.unreadable", "file.empty", "warc.no_records"}

_EXTRA_FIELDS = [
    ("row_type", pa.string()),  # doc | error | skip
    ("record_id", pa.string()),
    ("reason", pa.string()),
    ("detail", pa.string()),
    ("count", pa.int64()),
]
UNION_SCHEMA = pa.schema(list(BRONZE_SCHEMA) + [pa.field(n, t) for n, t in _EXTRA_FIELDS])


def _rows_to_batch(rows: list[dict]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=UNION_SCHEMA)


def file_events_to_rows(path: str, snapshot: str, events) -> Iterator[dict]:
    """Union rows for one file: documents and errors as they come, skips counted at the end."""
    skips: dict[str, int] = defaultdict(int)
    for event in events:
        if isinstance(event, dict):
            yield {**event, "row_type": "doc"}
        elif isinstance(event, ExtractionError):
            yield {
                "row_type": "error", "snapshot": snapshot, "warc_path": path,
                "offset": event.offset, "record_id": event.record_id, "reason": event.reason,
                "detail": event.detail,
            }
        elif isinstance(event, Skip):
            skips[event.reason] += 1
    for reason, count in sorted(skips.items()):
        yield {"row_type": "skip", "snapshot": snapshot, "warc_path": path, "reason": reason,
               "count": count}


def make_extract_batches(paths: list[str], snapshot: str, config: ExtractionConfig,
                         batch_rows: int = 256):
    """The function Spark runs per task: file indexes in, union rows out as Arrow batches."""

    def extract_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for index in batch.column("id").to_pylist():
                path = paths[index]
                rows: list[dict] = []
                for row in file_events_to_rows(path, snapshot, extract_file(path, snapshot, config)):
                    rows.append(row)
                    if len(rows) >= batch_rows:
                        yield _rows_to_batch(rows)
                        rows = []
                if rows:
                    yield _rows_to_batch(rows)

    return extract_batches


@dataclass
class BronzeResult:
    files: int
    documents: int
    errors: int
    skipped: dict[str, int]
    errors_by_reason: dict[str, int]
    outcomes: list[FileOutcome]
    seconds: float
    chars: int = 0
    failed_files: list[str] = field(default_factory=list)
    retired_files: list[str] = field(default_factory=list)


def _outcomes(paths, per_file_docs, per_file_errors, file_level) -> list[FileOutcome]:
    outcomes = []
    for path in paths:
        docs = per_file_docs.get(path, 0)
        errors = per_file_errors.get(path, 0)
        fatal = file_level.get(path)
        failed = fatal is not None and docs == 0
        outcomes.append(FileOutcome(path, "failed" if failed else "done", docs, errors,
                                    fatal if failed else None))
    return outcomes


def unlisted_paths(spark, lake_root: str, snapshot: str) -> list[str]:
    """Files with rows of the crawl in bronze/documents or bronze/errors that its manifest no longer
    lists (a missing manifest lists nothing)."""
    from pyspark.sql import functions as F

    found = None
    for table in (BRONZE_DOCUMENTS, BRONZE_ERRORS):
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


def _empty_union(spark):
    return spark.createDataFrame([], to_spark_schema(UNION_SCHEMA))


def run_bronze(spark, lake_root: str, snapshot: str, paths: list[str],
               config: ExtractionConfig = ExtractionConfig(), retire: list[str] = ()) -> BronzeResult:
    """Extract `paths` and replace their rows in the bronze tables; the rows of `retire` (files no
    longer selected) go in the same commit. Returns counts per reason."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    started = time.monotonic()
    paths = sorted(paths)
    retire = sorted(set(retire) - set(paths))
    if not paths and not retire:
        return BronzeResult(0, 0, 0, {}, {}, [], 0.0)
    if paths:
        union = (spark.range(0, len(paths), 1, numPartitions=len(paths))
                 .mapInArrow(make_extract_batches(paths, snapshot, config),
                             to_spark_schema(UNION_SCHEMA)))
    else:
        union = _empty_union(spark)
    union = union.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        summary = (union.groupBy("row_type", "warc_path", "reason")
                   .agg(F.count(F.lit(1)).alias("rows"), F.sum("count").alias("skips"),
                        F.sum("n_chars").alias("chars"))
                   .collect())
        docs = union.where(F.col("row_type") == "doc").select(*BRONZE_SCHEMA.names)
        errors = union.where(F.col("row_type") == "error").select(*BRONZE_ERRORS_SCHEMA.names)
        predicate = partition_predicate(snapshot, "warc_path", paths + retire)
        overwrite_where(docs, table_uri(lake_root, BRONZE_DOCUMENTS), predicate)
        overwrite_where(errors, table_uri(lake_root, BRONZE_ERRORS), predicate)
    finally:
        union.unpersist()

    per_file_docs: dict[str, int] = defaultdict(int)
    per_file_errors: dict[str, int] = defaultdict(int)
    file_level: dict[str, str] = {}
    skipped: dict[str, int] = defaultdict(int)
    errors_by_reason: dict[str, int] = defaultdict(int)
    chars = 0
    for row in summary:
        if row["row_type"] == "doc":
            per_file_docs[row["warc_path"]] += row["rows"]
            chars += row["chars"] or 0
        elif row["row_type"] == "error":
            per_file_errors[row["warc_path"]] += row["rows"]
            errors_by_reason[row["reason"]] += row["rows"]
            if row["reason"] in FILE_LEVEL_REASONS:
                file_level[row["warc_path"]] = row["reason"]
        else:
            skipped[row["reason"]] += row["skips"]
    outcomes = _outcomes(paths, per_file_docs, per_file_errors, file_level)
    return BronzeResult(
        files=len(paths),
        documents=sum(per_file_docs.values()),
        errors=sum(per_file_errors.values()),
        skipped=dict(sorted(skipped.items())),
        errors_by_reason=dict(sorted(errors_by_reason.items())),
        outcomes=outcomes,
        seconds=time.monotonic() - started,
        chars=chars,
        failed_files=[o.path for o in outcomes if o.status == "failed"],
        retired_files=retire,
    )


def bronze_balance(spark, lake_root: str, snapshot: str) -> tuple[int, int]:
    """(rows of the crawl in bronze/documents, documents the manifest says its files gave)."""
    from pyspark.sql import functions as F

    rows = partition_counts(spark, lake_root, snapshot, {"bronze": BRONZE_DOCUMENTS})["bronze"]
    manifest_docs = (read_partition(spark, table_uri(lake_root, MANIFEST), snapshot)
                     .agg(F.coalesce(F.sum("n_documents"), F.lit(0)).alias("n")).first()["n"])
    return rows, int(manifest_docs)
