"""Columns the table contract gained since a Delta table was created, added in place."""
from __future__ import annotations

import pyarrow as pa

from spark_jobs.arrow_schema import to_spark_schema
from spark_jobs.delta_io import table_exists


def add_missing_columns(spark, uri: str, schema: pa.Schema) -> list[str]:
    """Add the columns of `schema` that the table at `uri` lacks (null in its existing rows), so a
    lake written by an older version takes the new columns; returns their names. A table that does
    not exist yet is left alone (its first write creates it with every column)."""
    if not table_exists(spark, uri):
        return []
    have = set(spark.read.format("delta").load(uri).columns)
    missing = [f for f in to_spark_schema(schema).fields if f.name not in have]
    if missing:
        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in missing)
        spark.sql(f"ALTER TABLE delta.`{uri.replace('`', '``')}` ADD COLUMNS ({columns})")
    return [f.name for f in missing]
