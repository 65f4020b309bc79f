"""What the Spark stages' asset checks read back: a stage's tables against the contract and their
doc_ids, in one aggregate query per stage.

A stage writes kept documents to one table and the documents it removed to another (silver:
`silver/documents` + `silver/rejects`; dedup: `dedup/documents` + `dedup/removed`); bronze has only
its documents table here (its skips and errors carry record ids, balanced per file by
`bronze_balance`). The query reads the doc_id column of the crawl's partition of both tables once and
counts rows of each and distinct doc_ids over both, so a duplicated doc_id, in one table or in both
(a document both kept and rejected), shows as fewer distinct ids than rows. Schemas are compared
from the Delta logs (no data read): same column names and Spark types as the contract's pyarrow
schema, nullability aside.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from contract.tables import table_uri
from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.delta_io import read_partition, table_exists


@dataclass(frozen=True)
class StageTables:
    kept_rows: int
    removed_rows: int
    distinct_doc_ids: int  # over both tables
    schema_differences: dict[str, list[str]]  # table -> differences from the contract ([]: equal)

    @property
    def rows(self) -> int:
        return self.kept_rows + self.removed_rows

    @property
    def schema_ok(self) -> bool:
        return not any(self.schema_differences.values())

    @property
    def unique_ok(self) -> bool:
        return self.distinct_doc_ids == self.rows


def schema_differences(actual, expected: pa.Schema) -> list[str]:
    """Columns of a Spark schema missing, unexpected or of another type than the contract's."""
    found = {f.name: f.dataType.simpleString() for f in actual.fields}
    wanted = {f.name: f.dataType.simpleString() for f in to_spark_schema(expected).fields}
    out = [f"missing column {name}" for name in wanted if name not in found]
    out += [f"unexpected column {name}" for name in found if name not in wanted]
    out += [f"{name}: {found[name]} instead of {kind}" for name, kind in wanted.items()
            if name in found and found[name] != kind]
    return out


def _doc_ids(spark, uri: str, snapshot: str, kept: bool):
    from pyspark.sql import functions as F

    return read_partition(spark, uri, snapshot).select("doc_id", F.lit(kept).alias("kept"))


def stage_tables(spark, lake_root: str, snapshot: str, kept: tuple[str, pa.Schema],
                 removed: tuple[str, pa.Schema] | None = None,
                 schema_only: tuple[tuple[str, pa.Schema], ...] = ()) -> StageTables:
    """Rows, distinct doc_ids and schema differences of a stage's (table, contract) pairs for one
    crawl (`schema_only` tables: their schema only); a table that does not exist has no rows and
    the difference `table missing`."""
    from pyspark.sql import functions as F

    differences: dict[str, list[str]] = {}
    for table, contract in schema_only:
        uri = table_uri(lake_root, table)
        differences[table] = (schema_differences(spark.read.format("delta").load(uri).schema, contract)
                              if table_exists(spark, uri) else ["table missing"])
    frames = []
    for (table, contract), is_kept in ((kept, True), (removed, False)) if removed else ((kept, True),):
        uri = table_uri(lake_root, table)
        if not table_exists(spark, uri):
            differences[table] = ["table missing"]
            continue
        frame = spark.read.format("delta").load(uri)
        differences[table] = schema_differences(frame.schema, contract)
        if "doc_id" in frame.columns:
            frames.append(_doc_ids(spark, uri, snapshot, is_kept))
    if not frames:
        return StageTables(0, 0, 0, differences)
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    row = union.agg(
        F.sum(F.col("kept").cast("long")).alias("kept"),
        F.sum((~F.col("kept")).cast("long")).alias("removed"),
        F.countDistinct("doc_id").alias("distinct"),
    ).first()
    return StageTables(int(row["kept"] or 0), int(row["removed"] or 0), int(row["distinct"] or 0),
                       differences)
