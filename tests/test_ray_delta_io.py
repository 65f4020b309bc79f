"""Ray <-> Delta: partition reads, one-commit partition replacement, interplay with Spark's tables."""
from __future__ import annotations

import pyarrow as pa
import pytest

from gpu_jobs import delta_io
from gpu_jobs.cluster import ActorPlan, plan_actors

SCHEMA = pa.schema([("doc_id", pa.string()), ("snapshot", pa.string()), ("score", pa.float64())])


def _rows(snapshot: str, n: int, offset: int = 0) -> pa.Table:
    return pa.table({"doc_id": [f"{snapshot}-{i}" for i in range(offset, offset + n)],
                     "snapshot": [snapshot] * n,
                     "score": [i / 10 for i in range(offset, offset + n)]}, schema=SCHEMA)


def _dataset(ray_session, table: pa.Table, blocks: int = 3):
    return ray_session.data.from_arrow(table).repartition(blocks)


def _sorted(table) -> list[dict]:
    if not isinstance(table, pa.Table):  # a Ray Dataset
        import ray

        table = pa.concat_tables(ray.get(table.to_arrow_refs()))
    return sorted(table.to_pylist(), key=lambda r: r["doc_id"])


def test_write_then_read_one_partition(ray_session, tmp_path):
    uri = str(tmp_path / "scores")
    assert delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-10", 50)), uri,
                                    "CC-MAIN-2024-10", SCHEMA) == 50
    back = delta_io.read_partition(uri, "CC-MAIN-2024-10", ["doc_id", "snapshot", "score"])
    assert _sorted(back) == _sorted(_rows("CC-MAIN-2024-10", 50))
    assert len(delta_io.partition_files(uri, "CC-MAIN-2024-10")) == 3  # one file per block


def test_rewriting_a_partition_replaces_it_and_leaves_other_crawls(ray_session, tmp_path):
    uri = str(tmp_path / "scores")
    delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-10", 20)), uri, "CC-MAIN-2024-10", SCHEMA)
    delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-18", 7)), uri, "CC-MAIN-2024-18", SCHEMA)
    version = delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-10", 5, 100)), uri,
                                       "CC-MAIN-2024-10", SCHEMA)
    assert version == 5
    assert _sorted(delta_io.read_partition_table(uri, "CC-MAIN-2024-10")) == _sorted(_rows("CC-MAIN-2024-10", 5, 100))
    assert _sorted(delta_io.read_partition_table(uri, "CC-MAIN-2024-18")) == _sorted(_rows("CC-MAIN-2024-18", 7))


class _FailOnSecondBlock:
    def __call__(self, batch: pa.Table) -> pa.Table:
        if any(d.endswith("-13") for d in batch.column("doc_id").to_pylist()):
            raise RuntimeError("model crashed")
        return batch


def test_a_failed_write_leaves_the_table_as_it_was(ray_session, tmp_path):
    from deltalake import DeltaTable

    uri = str(tmp_path / "scores")
    delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-10", 20)), uri, "CC-MAIN-2024-10", SCHEMA)
    before = DeltaTable(uri).version()
    failing = _dataset(ray_session, _rows("CC-MAIN-2024-10", 30, 0)).map_batches(
        _FailOnSecondBlock(), batch_format="pyarrow")
    with pytest.raises(Exception, match="model crashed"):
        delta_io.write_partition(failing, uri, "CC-MAIN-2024-10", SCHEMA)
    assert DeltaTable(uri).version() == before
    assert _sorted(delta_io.read_partition_table(uri, "CC-MAIN-2024-10")) == _sorted(_rows("CC-MAIN-2024-10", 20))


def test_empty_partition_and_missing_table_read_as_empty(ray_session, tmp_path):
    uri = str(tmp_path / "scores")
    assert delta_io.read_partition(uri, "CC-MAIN-2024-10", ["doc_id"]).count() == 0
    delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-10", 4), 1), uri, "CC-MAIN-2024-10", SCHEMA)
    empty = delta_io.read_partition(uri, "CC-MAIN-2099-01", ["doc_id", "score"])
    assert empty.count() == 0
    assert empty.schema().names == ["doc_id", "score"]


def test_ray_reads_spark_tables_and_spark_reads_ray_tables(spark, ray_session, tmp_path):
    from spark_jobs.delta_io import overwrite_where, partition_predicate

    spark_uri = str(tmp_path / "silver")
    frame = spark.createDataFrame(_rows("CC-MAIN-2024-10", 12).to_pandas())
    overwrite_where(frame, spark_uri, partition_predicate("CC-MAIN-2024-10"))
    from_spark = delta_io.read_partition(spark_uri, "CC-MAIN-2024-10", ["doc_id", "snapshot", "score"])
    assert _sorted(from_spark) == _sorted(_rows("CC-MAIN-2024-10", 12))

    ray_uri = str(tmp_path / "scores")
    delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-10", 9)), ray_uri, "CC-MAIN-2024-10", SCHEMA)
    delta_io.write_partition(_dataset(ray_session, _rows("CC-MAIN-2024-18", 3)), ray_uri, "CC-MAIN-2024-18", SCHEMA)
    read_by_spark = spark.read.format("delta").load(ray_uri)
    assert read_by_spark.where("snapshot = 'CC-MAIN-2024-10'").count() == 9
    assert read_by_spark.count() == 12
    # and Spark can still replace a partition of a table delta-rs created
    overwrite_where(spark.createDataFrame(_rows("CC-MAIN-2024-18", 2).to_pandas()), ray_uri,
                    partition_predicate("CC-MAIN-2024-18"))
    assert len(delta_io.read_partition_table(ray_uri, "CC-MAIN-2024-18")) == 2
    assert len(delta_io.read_partition_table(ray_uri, "CC-MAIN-2024-10")) == 9


def test_missing_contract_column_is_a_clear_error():
    with pytest.raises(KeyError, match="score"):
        delta_io.conform(pa.table({"doc_id": ["a"]}), SCHEMA)


def test_actor_plan_asks_for_gpus_only_when_the_cluster_has_them():
    cpu = plan_actors("auto", gpus=0, cpus=8, cpus_per_actor=2)
    assert cpu == ActorPlan(4, 2, 0.0) and cpu.device == "cpu" and "num_gpus" not in cpu.map_batches_args()
    gpu = plan_actors("auto", gpus=2, cpus=8)
    assert gpu.actors == 2 and gpu.device == "cuda" and gpu.map_batches_args()["num_gpus"] == 1.0
    assert plan_actors("never", gpus=2, cpus=8).device == "cpu"
    assert plan_actors("auto", gpus=0, cpus=8, max_actors=3).actors == 3
    with pytest.raises(RuntimeError, match="no GPU"):
        plan_actors("always", gpus=0, cpus=8)


def test_cpu_actors_leave_a_cpu_for_the_reads_that_feed_them():
    from gpu_jobs.cluster import leave_cpus_for_reads

    one_cpu = leave_cpus_for_reads(plan_actors("never", cpus=1), cpus=1)
    assert one_cpu.actors == 1 and one_cpu.num_cpus == 0.0  # the read task gets the only CPU
    two = leave_cpus_for_reads(plan_actors("never", cpus=2), cpus=2)
    assert two.actors == 2 and two.num_cpus == 0.5
    roomy = leave_cpus_for_reads(plan_actors("never", cpus=16, max_actors=4), cpus=16)
    assert roomy.num_cpus == 1.0  # enough CPUs: each actor keeps its whole CPU
    gpu = plan_actors("auto", gpus=1, cpus=1)
    assert leave_cpus_for_reads(gpu, cpus=1) == gpu


def _write_row_groups(uri: str, snapshot: str, tables: list[pa.Table], row_group_size: int) -> None:
    """Each table as one Parquet file of `row_group_size`-row groups, committed as the partition."""
    import pyarrow.parquet as pq

    files = []
    for table in tables:
        written = delta_io.write_part_file(uri, snapshot, table)
        full = f"{uri}/{written.path}"
        pq.write_table(table.drop_columns(["snapshot"]), full, row_group_size=row_group_size)
        files.append(delta_io.WrittenFile(written.path, len(open(full, "rb").read()), table.num_rows))
    delta_io.commit_partition(uri, snapshot, SCHEMA, files)


def test_row_groups_of_a_partition_are_listed_and_read_back(tmp_path):
    uri = str(tmp_path / "scores")
    _write_row_groups(uri, "CC-MAIN-2024-10", [_rows("CC-MAIN-2024-10", 25), _rows("CC-MAIN-2024-10", 4, 100)], 10)
    _write_row_groups(uri, "CC-MAIN-2024-18", [_rows("CC-MAIN-2024-18", 7)], 10)
    filesystem, groups = delta_io.partition_row_groups(uri, "CC-MAIN-2024-10")
    assert sorted(g.rows for g in groups) == [4, 5, 10, 10]  # 25 rows in groups of 10, 10, 5; then 4
    batches = [b for g in groups for b in delta_io.read_row_group(filesystem, g, ["doc_id", "score"], 3)]
    assert max(b.num_rows for b in batches) == 3 and batches[0].column_names == ["doc_id", "score"]
    back = pa.concat_tables(batches)
    want = pa.concat_tables([_rows("CC-MAIN-2024-10", 25), _rows("CC-MAIN-2024-10", 4, 100)]).select(["doc_id", "score"])
    assert _sorted(back) == _sorted(want)  # every row once, no other crawl's
    with pytest.raises(ValueError, match="batch_size"):
        next(delta_io.read_row_group(filesystem, groups[0], ["doc_id"], 0))
    assert delta_io.partition_row_groups(uri, "CC-MAIN-2099-01") == (None, [])
    assert delta_io.partition_row_groups(str(tmp_path / "absent"), "CC-MAIN-2024-10") == (None, [])
