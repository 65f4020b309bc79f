"""Bronze's side rows: the skips, errors and accounting row of each file, out of the Spark task
beside its documents.

A bronze task streams its file's documents to Spark (`mapInArrow`, written straight into
bronze/documents) and keeps the few other rows (skip, error and the `file` row of bronze's union
schema) until the file ends; then it writes them as one Parquet file, `<staging>/<index>.parquet`
(the file's index in the job), under a staging directory of the run below the lake root. After the
documents' write the driver reads exactly those files back (`side_rows`) and writes bronze/skips and
bronze/errors from them, and collects the accounts; then the staging directory goes. A run killed
before that leaves its directory; the crawl's next run removes it first (`remove_stale_staging`).

Why not one union frame: splitting one `mapInArrow` output into several tables needs it persisted,
and caching every document's text cost the JVM more than writing it (BENCHMARKS.md, bronze).

A retried or speculative task rewrites its file whole with the same content (extraction is
deterministic), and a local file is replaced atomically, so the driver sees one complete file per
index. A file the driver does not find is a lost task output and an error, never a silent zero.

The task-side half is pure pyarrow (tests call it without Spark).
"""
from __future__ import annotations

import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from core.shards import lake_files
from spark_jobs.bronze_batches import UNION_SCHEMA

STAGING_DIR = "_staging/bronze"  # under the lake root; `_` keeps it apart from the tables


def new_staging_dir(lake_root: str, snapshot: str) -> str:
    """A directory of its own for one bronze run (absolute, so Python workers find it whatever
    their working directory)."""
    root = lake_root if lake_files.is_uri(lake_root) else str(lake_files.filesystem(lake_root)[1])
    return lake_files.join(root, STAGING_DIR, snapshot, uuid.uuid4().hex)


def remove_stale_staging(lake_root: str, snapshot: str) -> int:
    """Remove the staging directories that earlier runs of `snapshot` left behind (a process killed
    before its `finally`); returns how many. Runs of one crawl do not overlap (they would overwrite
    the same partitions), so every directory found here at the start of a run is a leftover."""
    parent = lake_files.join(new_staging_dir(lake_root, snapshot).rsplit("/", 1)[0])
    stale = lake_files.list_directories(parent)
    for name in stale:
        remove_staging(lake_files.join(parent, name))
    return len(stale)


def side_file(staging: str, index: int) -> str:
    return lake_files.join(staging, f"{index:06d}.parquet")


def write_side_rows(staging: str, index: int, batches: list[pa.RecordBatch], s3_settings=None) -> None:
    """One task's side rows (union batches; none at all is still a file) as one Parquet file;
    `s3_settings` (the driver's S3Settings) when the staging directory is on S3."""
    for batch in batches:
        if batch.schema != UNION_SCHEMA:
            raise ValueError(f"side rows of file {index}: not bronze's union schema: {batch.schema}")
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_batches(batches, schema=UNION_SCHEMA), sink)
    lake_files.write_bytes(side_file(staging, index), sink.getvalue().to_pybytes(), s3_settings)


def missing_side_files(staging: str, n_files: int) -> list[int]:
    """Indexes of the files whose side rows are not in `staging`."""
    present = set(lake_files.list_names(staging))
    return [i for i in range(n_files) if side_file(staging, i).rsplit("/", 1)[1] not in present]


def side_rows(spark, staging: str, n_files: int):
    """The side rows of files 0..n_files-1 as one frame of the union schema (read from the exact
    file names, so a stray temporary file of a failed attempt is never read)."""
    from spark_jobs.arrow_schema import to_spark_schema

    schema = to_spark_schema(UNION_SCHEMA)
    if n_files == 0:
        return spark.createDataFrame([], schema)
    missing = missing_side_files(staging, n_files)
    if missing:  # every task writes its file's side rows; none means a lost task output
        raise RuntimeError(f"bronze: no side rows (skips, errors, accounting) for {len(missing)} "
                           f"file(s) of the job, indexes {missing[:5]} under {staging}")
    return spark.read.schema(schema).parquet(*[side_file(staging, i) for i in range(n_files)])


def remove_staging(staging: str) -> None:
    """Delete a run's staging directory (absent is fine)."""
    try:
        lake_files.delete_directory(staging)
    except FileNotFoundError:
        pass
