"""The `manifest` Delta table: which files of a crawl are selected, and how far each one got."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contract.tables import MANIFEST, MANIFEST_SCHEMA, table_uri
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.delta_io import overwrite_where, partition_predicate, table_exists


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # done | failed
    n_documents: int
    n_errors: int
    error: str | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def register_files(spark, lake_root: str, snapshot: str, paths: list[str], kind: str,
                   reset: bool = False) -> dict:
    """Add selected files as `pending`; files already in the manifest keep their status.

    With `reset`, the crawl's partition is replaced by exactly `paths` (all pending) in one commit,
    so a smaller re-selection forgets the files it no longer lists; their rows in later stages are
    removed by those stages (bronze drops the rows of files the manifest no longer lists).
    Returns counts: selected, new, and files per status after the update.
    """
    uri = table_uri(lake_root, MANIFEST)
    now = _now()
    rows = [(snapshot, p, kind, "pending", None, None, None, now) for p in dict.fromkeys(paths)]
    incoming = spark.createDataFrame(rows, to_spark_schema(MANIFEST_SCHEMA))
    exists = table_exists(spark, uri)
    existing = _paths(spark, uri, snapshot) if exists else set()
    if reset or not exists:
        overwrite_where(incoming, uri, partition_predicate(snapshot))
    else:
        from delta.tables import DeltaTable

        (DeltaTable.forPath(spark, uri).alias("m")
         .merge(incoming.alias("i"), "m.snapshot = i.snapshot AND m.path = i.path")
         .whenNotMatchedInsertAll().execute())
    new = len(set(paths) - existing)
    counts = status_counts(spark, lake_root, snapshot)
    return {"selected": len(paths), "new": new, **counts}


def _paths(spark, uri: str, snapshot: str) -> set[str]:
    from pyspark.sql import functions as F

    return {r.path for r in spark.read.format("delta").load(uri)
            .where(F.col("snapshot") == snapshot).select("path").collect()}


def status_counts(spark, lake_root: str, snapshot: str) -> dict:
    from pyspark.sql import functions as F

    uri = table_uri(lake_root, MANIFEST)
    if not table_exists(spark, uri):
        return {}
    rows = (spark.read.format("delta").load(uri).where(F.col("snapshot") == snapshot)
            .groupBy("status").count().collect())
    return {f"files_{r['status']}": r["count"] for r in rows}


def files_to_process(spark, lake_root: str, snapshot: str, reprocess: bool = False) -> list[str]:
    """Paths not yet done (pending or failed), or every path when `reprocess`."""
    from pyspark.sql import functions as F

    uri = table_uri(lake_root, MANIFEST)
    if not table_exists(spark, uri):
        return []
    frame = spark.read.format("delta").load(uri).where(F.col("snapshot") == snapshot)
    if not reprocess:
        frame = frame.where(F.col("status") != "done")
    return sorted(r.path for r in frame.select("path").collect())


def record_outcomes(spark, lake_root: str, snapshot: str, outcomes: list[FileOutcome]) -> None:
    """Write each processed file's status and counts back to the manifest."""
    if not outcomes:
        return
    from delta.tables import DeltaTable

    uri = table_uri(lake_root, MANIFEST)
    now = _now()
    rows = [(snapshot, o.path, "", o.status, o.n_documents, o.n_errors, o.error, now)
            for o in outcomes]
    updates = spark.createDataFrame(rows, to_spark_schema(MANIFEST_SCHEMA))
    (DeltaTable.forPath(spark, uri).alias("m")
     .merge(updates.alias("u"), "m.snapshot = u.snapshot AND m.path = u.path")
     .whenMatchedUpdate(set={
         "status": "u.status", "n_documents": "u.n_documents", "n_errors": "u.n_errors",
         "error": "u.error", "updated_at": "u.updated_at"})
     .execute())
