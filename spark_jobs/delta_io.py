"""Delta Lake reads and writes that every Spark stage shares."""
from __future__ import annotations

from typing import Iterable

from core.io.disk_full import disk_full_error


def sql_literal(value: str) -> str:
    """A Spark SQL string literal (quotes and backslashes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def partition_predicate(snapshot: str, column: str | None = None, values: Iterable[str] = ()) -> str:
    """`snapshot = 'X'`, optionally `AND column IN (...)`: what a stage may overwrite."""
    predicate = f"snapshot = {sql_literal(snapshot)}"
    values = list(values)
    if column is not None:
        if not values:
            raise ValueError("a column restriction needs at least one value")
        predicate += f" AND {column} IN ({', '.join(sql_literal(v) for v in values)})"
    return predicate


def table_exists(spark, uri: str) -> bool:
    from delta.tables import DeltaTable

    return DeltaTable.isDeltaTable(spark, uri)


def overwrite_where(df, uri: str, predicate: str, partition_by=("snapshot",)) -> None:
    """Replace exactly the rows matching `predicate` with `df` (creating the table if needed).

    Delta checks that every written row matches the predicate, so a stage cannot write outside
    its own partition by mistake. A rerun with the same input gives the same table contents.
    A full disk under the table (ENOSPC, which Spark reports as a Hadoop FSError inside a Java
    trace) raises DiskFullError naming the table; Delta committed nothing of the write.
    """
    spark = df.sparkSession
    writer = df.write.format("delta")
    try:
        if table_exists(spark, uri):
            writer.mode("overwrite").option("replaceWhere", predicate).save(uri)
        else:
            writer.mode("overwrite").partitionBy(*partition_by).save(uri)
    except Exception as exc:
        full = disk_full_error(exc, uri)
        if full is None:
            raise
        raise full from exc


def read_partition(spark, uri: str, snapshot: str):
    """The rows of one crawl from a Delta table."""
    from pyspark.sql import functions as F

    return spark.read.format("delta").load(uri).where(F.col("snapshot") == snapshot)
