"""Scale-out on real engines: the pipeline against a Spark standalone cluster and a Ray head node on
loopback (through SPARK_MASTER and RAY_ADDRESS) writes the same Delta tables as in local mode.

Both runs are `refinery run` subprocesses (each with its own Dagster home and lake), so their Ray
drivers never meet the test suite's own local Ray instance in one process. The clusters are started
by the fixtures below and stopped in their teardown, also when the test fails; a cluster that cannot
start fails the test.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster_helpers import LOOPBACK, REPO, RayHead, SparkStandalone
from tests.conftest import WARC_2020, make_mirror

CRAWL = "CC-MAIN-2020-34"
RUN_TIMEOUT = 1500  # one small WARC through every stage: ~16 min on a 2-core machine at load 40
# Columns written from the clock or the run, not from the data: they differ between any two runs.
VOLATILE_COLUMNS = {"manifest": {"updated_at"},
                    "refined/documents": {"run_id"}, "refined/programs": {"run_id"}}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    """A one-file crawl: a small real WARC with a page that survives the filters (the smaller
    whirlwind sample keeps none, so dedup and shards would compare empty tables). The same file
    twice would not add duplicates to find: doc_id is the WARC-Record-ID, so it would repeat ids."""
    return make_mirror(tmp_path_factory.mktemp("mirror"), CRAWL, [WARC_2020])


@pytest.fixture(scope="module")
def local_run(mirror, tmp_path_factory):
    """The local-mode reference run, started before the clusters so it overlaps their start-up."""
    root = tmp_path_factory.mktemp("local")
    process = start_run(root, mirror, {"SPARK_MASTER": "local[2]"})
    try:
        yield process, root
    finally:
        if process.poll() is None:
            kill_run(process)


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    cluster = SparkStandalone(tmp_path_factory.mktemp("spark-standalone"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    # 2 logical CPUs, the machine's cores (with 1, refined_documents' pool used to hold the only CPU
    # and its reads waited forever; gpu_jobs.cluster.leave_cpus_for_reads now prevents that).
    head = RayHead(tmp_path_factory.mktemp("ray-head"), num_cpus=2)
    try:
        yield head.start()
    finally:
        head.stop()


def start_run(root: Path, mirror: Path, engines: dict[str, str]) -> subprocess.Popen:
    """`refinery run` of the crawl into ROOT/lake, with the given engine variables."""
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPARK_MASTER", "SPARK_REMOTE", "RAY_ADDRESS", "RAY_AUTH_MODE",
                        "RAY_AUTH_TOKEN", "PYSPARK_SUBMIT_ARGS")}
    env.update(DAGSTER_HOME=str(root / "dagster-home"), REFINERY_LAKE_ROOT=str(root / "lake"),
               REFINERY_CC_BASE=str(mirror), REFINERY_SAMPLE_DIR=str(root / "sample"),
               PYTHONPATH=str(REPO), SPARK_LOCAL_IP=LOOPBACK, **engines)
    log = open(root / "run.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run", "--crawl", CRAWL, "--selection", "all",
         # one document after dedup: too few to train PreSelect on; shards take every document
         "--skip", "preselect_model", "--skip", "quality_scores"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def finish(process: subprocess.Popen, root: Path) -> str:
    """Wait for a run; its log. A run that fails or hangs fails the test with the log's tail."""
    try:
        code = process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_run(process)
        raise AssertionError(f"run in {root} took over {RUN_TIMEOUT}s:\n"
                             f"{(root / 'run.log').read_text()[-5000:]}")
    except BaseException:  # interrupted (pytest-timeout, Ctrl-C): leave no run behind
        kill_run(process)
        raise
    log = (root / "run.log").read_text()
    assert code == 0, f"run in {root} failed ({code}):\n{log[-8000:]}"
    return log


def kill_run(process: subprocess.Popen) -> None:
    """SIGKILL a run's process group (the CLI, its Spark JVM and Python workers, its Ray driver)."""
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)


def delta_tables(lake: Path) -> list[str]:
    return sorted(str(log.parent.relative_to(lake)) for log in lake.rglob("_delta_log"))


def _plain(value, lake: Path):
    """A cell as comparable data: the lake's own path replaced, so two lakes can agree."""
    if isinstance(value, str):
        return value.replace(str(lake), "<lake>")
    if isinstance(value, list):
        return [_plain(v, lake) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, lake) for k, v in value.items()}
    return value


def table_rows(lake: Path, table: str) -> list[dict]:
    """A table's rows without its clock columns, ordered by doc_id (then by the whole row)."""
    from deltalake import DeltaTable

    data = DeltaTable(str(lake / table)).to_pyarrow_table()
    keep = [c for c in data.column_names if c not in VOLATILE_COLUMNS.get(table, set())]
    rows = [_plain(row, lake) for row in data.select(keep).to_pylist()]
    return sorted(rows, key=lambda r: (str(r.get("doc_id", "")),
                                       json.dumps(r, sort_keys=True, default=str)))


@pytest.mark.timeout(RUN_TIMEOUT + 600)  # + the clusters' start-up and the comparison
def test_pipeline_on_spark_standalone_and_ray_head_writes_the_local_tables(
        local_run, mirror, spark_cluster, ray_cluster, tmp_path):
    cluster = start_run(tmp_path / "cluster", mirror,
                        {"SPARK_MASTER": spark_cluster.master_url, **ray_cluster.client_env})
    cluster_log = finish(cluster, tmp_path / "cluster")
    local, local_root = local_run
    finish(local, local_root)

    # The cluster run really ran on the clusters: Spark's master ran its application on the
    # worker, and the run's Ray driver joined the head node.
    assert f"spark: started session {spark_cluster.master_url}" in cluster_log
    apps = spark_cluster.status()["completedapps"] + spark_cluster.status()["activeapps"]
    assert [app["name"] for app in apps] == ["cc-refinery"], apps
    assert f"ray: connected to {ray_cluster.address}" in cluster_log

    local_lake, cluster_lake = local_root / "lake", tmp_path / "cluster" / "lake"
    tables = delta_tables(local_lake)
    assert {"manifest", "bronze/documents", "silver/documents", "dedup/documents",
            "shards/manifest"} <= set(tables), tables
    assert delta_tables(cluster_lake) == tables
    for table in tables:
        local_rows = table_rows(local_lake, table)
        assert table_rows(cluster_lake, table) == local_rows, table
    report = Path("reports", CRAWL, "report.md")  # the crawl's report, gathered from the tables
    assert (cluster_lake / report).read_text() == (local_lake / report).read_text()
    assert table_rows(local_lake, "dedup/documents"), "the crawl must keep some documents"
    assert table_rows(local_lake, "shards/manifest"), "the Ray stage must write shards"


def test_executors_run_the_python_pyspark_python_names(monkeypatch):
    """A cluster's workers need not have the driver's venv: PYSPARK_PYTHON names their Python."""
    from spark_jobs.session import build_conf

    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/workers/bin/python3")
    conf = build_conf("spark://spark-master:7077")
    assert conf["spark.pyspark.python"] == "/opt/workers/bin/python3"
    assert conf["spark.pyspark.driver.python"] == sys.executable
    monkeypatch.delenv("PYSPARK_PYTHON")
    assert build_conf("spark://spark-master:7077")["spark.pyspark.python"] == sys.executable
