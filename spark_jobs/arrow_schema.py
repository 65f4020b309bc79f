"""pyarrow schemas of the table contract as Spark schemas."""
from __future__ import annotations

import pyarrow as pa


def to_spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
