"""Delta tables from Ray: read one crawl's partition, replace one crawl's partition in one commit.

Spark writes the lake through delta-spark; the Ray stages read and write the same tables through
delta-rs (`deltalake`). Reading lists the data files of one `snapshot` partition from the Delta log
and hands them to `ray.data.read_parquet`, so no process reads another crawl's files. Writing is
parallel and atomic: every Ray task writes its Parquet files straight into the table directory
(`snapshot=<crawl>/part-<uuid>.parquet`, partition column left out as Delta expects) and returns
their metadata; the driver then commits all of them in ONE Delta transaction that replaces exactly
that partition (`mode="overwrite"` with a partition filter). A run that fails before the commit leaves
the table as it was (the orphan files are invisible to readers and removed by VACUUM).

Ray's own `Dataset.write_delta` overwrites whole tables only, hence this module.

Object storage: for `s3://` and `s3a://` tables, delta-rs's `storage_options` and pyarrow's S3
filesystem come from the AWS_* variables of the calling (driver) process when not given
(`core.io.object_store`); the filesystem is built on the driver and travels to the Ray tasks, so
workers need no credentials of their own. delta-rs 1.x commits to S3 with conditional writes
(PUT If-None-Match), so two delta-rs writers never overwrite each other's commit.
"""
from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from core.io.disk_full import disk_full_error
from core.io.object_store import is_s3_uri, pyarrow_filesystem, split_s3_uri, storage_options_for

PARTITION_COLUMN = "snapshot"


@contextmanager
def disk_full_said(uri: str) -> Iterator[None]:
    """A full disk under `uri` (in a Ray task's traceback or delta-rs's "os error 28") raised as
    DiskFullError naming the table; any other error as it was."""
    try:
        yield
    except Exception as exc:
        full = disk_full_error(exc, uri)
        if full is None:
            raise
        raise full from exc


def _filesystem(uri: str):
    """(pyarrow filesystem, path inside it) for a table URI: local paths, s3:// and s3a:// (settings
    from the AWS_* variables) and any other scheme pyarrow knows."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), uri
    return pyarrow_filesystem(uri)


def _path_in_filesystem(uri: str) -> str:
    """The path `_filesystem(uri)` pairs with its filesystem, without building the filesystem."""
    if "://" not in uri:
        return uri
    if is_s3_uri(uri):
        bucket, key = split_s3_uri(uri)
        return f"{bucket}/{key}".rstrip("/")
    from pyarrow import fs

    return fs.FileSystem.from_uri(uri)[1]


def _options(uri: str, storage_options: dict | None) -> dict | None:
    """The caller's storage options, else the AWS_* variables' for an S3 table (None otherwise)."""
    return storage_options if storage_options is not None else storage_options_for(uri)


def table_exists(uri: str, storage_options: dict | None = None) -> bool:
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(uri, storage_options=_options(uri, storage_options))


def _check_readable(table) -> None:
    """delta-rs lists files; a table whose rows are masked by deletion vectors needs more than that."""
    features = set(table.protocol().reader_features or [])
    if "deletionVectors" in features and table.deletion_vectors().num_rows:
        raise RuntimeError(
            f"{table.table_uri} has deletion vectors; the Ray readers read whole files. Disable "
            "deletion vectors on the lake's tables (delta.enableDeletionVectors=false) or run "
            "REORG TABLE ... APPLY (PURGE) in Spark first")


def partition_files(uri: str, snapshot: str, storage_options: dict | None = None) -> list[str]:
    """URIs of the data files of one crawl's partition (empty when the table does not exist)."""
    from deltalake import DeltaTable

    if not table_exists(uri, storage_options):
        return []
    table = DeltaTable(uri, storage_options=_options(uri, storage_options))
    _check_readable(table)
    return sorted(table.file_uris(partition_filters=[(PARTITION_COLUMN, "=", snapshot)]))


def table_schema(uri: str, storage_options: dict | None = None) -> pa.Schema:
    from deltalake import DeltaTable

    return pa.schema(DeltaTable(uri, storage_options=_options(uri, storage_options)).schema())


def read_partition(uri: str, snapshot: str, columns: list[str] | None = None,
                   storage_options: dict | None = None, override_num_blocks: int | None = None):
    """One crawl's rows of a Delta table as a Ray Dataset (the `snapshot` column included when asked).

    An absent table or an empty partition gives an empty Dataset with the requested columns.
    """
    import ray

    files = partition_files(uri, snapshot, storage_options)
    wanted = list(columns) if columns is not None else None
    file_columns = [c for c in wanted if c != PARTITION_COLUMN] if wanted is not None else None
    if not files:
        schema = _empty_schema(uri, wanted, storage_options)
        return ray.data.from_arrow(schema.empty_table())
    filesystem, _ = _filesystem(files[0])
    paths = [_path_in_filesystem(f) for f in files]
    ds = ray.data.read_parquet(paths, columns=file_columns, filesystem=filesystem,
                               override_num_blocks=override_num_blocks)
    if wanted is None or PARTITION_COLUMN in wanted:
        ds = ds.map_batches(_AddConstant(PARTITION_COLUMN, snapshot), batch_format="pyarrow",
                            zero_copy_batch=True)
        if wanted is not None:
            ds = ds.select_columns(wanted)
    return ds


@dataclass(frozen=True)
class RowGroup:
    """One Parquet row group of a partition's data file: the unit an actor reads by itself."""

    path: str  # the file's path inside the table's filesystem
    index: int  # row group number within the file
    rows: int


def partition_row_groups(uri: str, snapshot: str, storage_options: dict | None = None,
                         threads: int = 16) -> tuple[object, list[RowGroup]]:
    """(pyarrow filesystem, every row group of one crawl's partition, files sorted by path).

    Reads only the files' footers (in `threads` threads: object stores answer them one GET each).
    An absent table or empty partition gives no row groups. Empty row groups are left out."""
    from concurrent.futures import ThreadPoolExecutor

    files = partition_files(uri, snapshot, storage_options)
    if not files:
        return None, []
    filesystem, _ = _filesystem(files[0])
    paths = [_path_in_filesystem(f) for f in files]

    def groups(path: str) -> list[RowGroup]:
        with filesystem.open_input_file(path) as handle:
            metadata = pq.ParquetFile(handle).metadata
        return [RowGroup(path, i, metadata.row_group(i).num_rows) for i in range(metadata.num_row_groups)
                if metadata.row_group(i).num_rows]

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(paths)))) as pool:
        return filesystem, [g for file_groups in pool.map(groups, paths) for g in file_groups]


def read_row_group(filesystem, group: RowGroup, columns: list[str], batch_size: int) -> Iterator[pa.Table]:
    """The rows of one row group, `columns` only, as tables of at most `batch_size` rows."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    with filesystem.open_input_file(group.path) as handle:
        for batch in pq.ParquetFile(handle).iter_batches(batch_size, row_groups=[group.index], columns=columns):
            yield pa.Table.from_batches([batch])


def _empty_schema(uri: str, columns: list[str] | None, storage_options: dict | None) -> pa.Schema:
    if table_exists(uri, storage_options):
        schema = table_schema(uri, storage_options)
        return pa.schema([schema.field(c) for c in columns]) if columns is not None else schema
    return pa.schema([(c, pa.string()) for c in (columns or [])])


class _AddConstant:
    """A picklable batch function that adds a constant string column."""

    def __init__(self, name: str, value: str):
        self.name, self.value = name, value

    def __call__(self, batch: pa.Table) -> pa.Table:
        return batch.append_column(self.name, pa.array([self.value] * batch.num_rows, pa.string()))


# ----------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class WrittenFile:
    """A Parquet file a task put into the table directory, not yet committed."""

    path: str  # relative to the table root, as Delta's add action wants it
    size: int
    rows: int


def _partition_dir(snapshot: str) -> str:
    return f"{PARTITION_COLUMN}={urllib.parse.quote(snapshot, safe='')}"


def write_part_file(uri: str, snapshot: str, table: pa.Table, filesystem=None) -> WrittenFile:
    """Write one Parquet data file of `snapshot`'s partition (without the partition column).
    `filesystem`: the table's, when the caller built it (a Ray task gets the driver's)."""
    if filesystem is None:
        filesystem, root = _filesystem(uri)
    else:
        root = _path_in_filesystem(uri)
    relative = f"{_partition_dir(snapshot)}/part-{uuid.uuid4().hex}.c000.zstd.parquet"
    directory = f"{root.rstrip('/')}/{_partition_dir(snapshot)}"
    filesystem.create_dir(directory, recursive=True)
    data = table.drop_columns([PARTITION_COLUMN]) if PARTITION_COLUMN in table.column_names else table
    full = f"{root.rstrip('/')}/{relative}"
    pq.write_table(data, full, filesystem=filesystem, compression="zstd")
    size = filesystem.get_file_info(full).size
    return WrittenFile(relative, int(size), table.num_rows)


class PartFileWriter:
    """Ray batch function: each input batch becomes one Parquet file; outputs one row per file."""

    OUTPUT = pa.schema([("path", pa.string()), ("size", pa.int64()), ("rows", pa.int64())])

    def __init__(self, uri: str, snapshot: str, schema: pa.Schema):
        self.uri, self.snapshot, self.schema = uri, snapshot, schema
        self.filesystem = _filesystem(uri)[0]  # built here, on the driver, with its settings

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0:
            return self.OUTPUT.empty_table()
        table = conform(batch, self.schema)
        written = write_part_file(self.uri, self.snapshot, table, self.filesystem)
        return pa.table({"path": [written.path], "size": [written.size], "rows": [written.rows]},
                        schema=self.OUTPUT)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The columns of `schema`, in its order and types (a missing partition column is filled)."""
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        elif field.name == PARTITION_COLUMN:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            raise KeyError(f"column {field.name!r} of the table contract is missing from the output")
    return pa.Table.from_arrays(columns, schema=schema)


def commit_partition(uri: str, snapshot: str, schema: pa.Schema, files: Iterable[WrittenFile],
                     storage_options: dict | None = None, description: str | None = None) -> int:
    """Replace `snapshot`'s partition with exactly `files`, in one Delta transaction.

    Creates the table (partitioned by snapshot) when it does not exist. Returns the new version.
    """
    with disk_full_said(uri):
        return _commit(uri, snapshot, schema, files, storage_options, description)


def _commit(uri: str, snapshot: str, schema: pa.Schema, files: Iterable[WrittenFile],
            storage_options: dict | None, description: str | None) -> int:
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import AddAction, CommitProperties, create_table_with_add_actions

    now = int(time.time() * 1000)
    actions = [AddAction(f.path, f.size, {PARTITION_COLUMN: snapshot}, now, True,
                         json.dumps({"numRecords": f.rows})) for f in files]
    properties = CommitProperties(custom_metadata={"cc-refinery": description or "ray stage",
                                                   "snapshot": snapshot})
    if not table_exists(uri, storage_options):
        create_table_with_add_actions(uri, Schema.from_arrow(schema), actions, mode="overwrite",
                                      partition_by=[PARTITION_COLUMN],
                                      storage_options=_options(uri, storage_options),
                                      commit_properties=properties)
    else:
        table = DeltaTable(uri, storage_options=_options(uri, storage_options))
        table.create_write_transaction(actions, mode="overwrite", schema=schema,
                                       partition_by=[PARTITION_COLUMN],
                                       partition_filters=[(PARTITION_COLUMN, "=", snapshot)],
                                       commit_properties=properties)
    return DeltaTable(uri, storage_options=_options(uri, storage_options)).version()


def write_partition(ds, uri: str, snapshot: str, schema: pa.Schema,
                    storage_options: dict | None = None, description: str | None = None) -> int:
    """Write a Ray Dataset as `snapshot`'s partition of the table at `uri` (parallel files, one commit).

    Returns the number of rows committed.
    """
    with disk_full_said(uri):
        manifest = ds.map_batches(PartFileWriter(uri, snapshot, schema), batch_format="pyarrow",
                                  zero_copy_batch=True).take_all()
    files = [WrittenFile(row["path"], row["size"], row["rows"]) for row in manifest]
    commit_partition(uri, snapshot, schema, files, storage_options, description)
    return sum(f.rows for f in files)


def read_partition_table(uri: str, snapshot: str, columns: list[str] | None = None,
                         storage_options: dict | None = None) -> pa.Table:
    """One crawl's rows as a pyarrow Table on the calling process (for small tables and checks)."""
    from deltalake import DeltaTable

    if not table_exists(uri, storage_options):
        return pa.table({c: pa.array([], pa.string()) for c in (columns or [])})
    table = DeltaTable(uri, storage_options=_options(uri, storage_options))
    _check_readable(table)
    dataset = table.to_pyarrow_dataset(partitions=[(PARTITION_COLUMN, "=", snapshot)])
    return dataset.to_table(columns=columns)


# ----------------------------------------------------------------------------- stage inputs


class MissingInputError(RuntimeError):
    """A table a stage's configuration needs is absent, or has no rows for the crawl."""


def require_partition(lake_uri: str, table: str, crawl: str, stage: str, why: str, written_by: str) -> str:
    """The table's URI; MissingInputError (naming `stage`, `why` it needs the table and the asset
    `written_by` that writes it) when the table does not exist or has no rows for the crawl."""
    from contract.tables import table_uri

    uri = table_uri(lake_uri, table)
    hint = f"materialize `{written_by}` for {crawl} first"
    if not table_exists(uri):
        raise MissingInputError(f"{stage} needs {table} ({why}), but there is no Delta table at {uri}: {hint}")
    if not partition_files(uri, crawl):
        raise MissingInputError(f"{stage} needs {table} ({why}), but it has no rows for crawl {crawl} at "
                                f"{uri}: {hint}")
    return uri
