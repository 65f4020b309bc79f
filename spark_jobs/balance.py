"""Row counts of one crawl across tables: what every stage's count-balance check compares."""
from __future__ import annotations

from contract.tables import table_uri
from spark_jobs.delta_io import read_partition, table_exists


def partition_counts(spark, lake_root: str, snapshot: str, tables: dict[str, str]) -> dict[str, int]:
    """{name: rows of `snapshot` in the table at `tables[name]`}; a table that does not exist yet has 0."""
    counts = {}
    for name, table in tables.items():
        uri = table_uri(lake_root, table)
        counts[name] = read_partition(spark, uri, snapshot).count() if table_exists(spark, uri) else 0
    return counts
