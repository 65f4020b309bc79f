"""Resources: the lake root, the crawl source, and the lifecycles of the Spark and Ray resources."""
from __future__ import annotations

from pathlib import Path

import pytest
from dagster import MaterializeResult, asset, materialize

from resources import CrawlSourceResource, LakeResource, RayResource, SparkResource
from spark_jobs.session import RunningSession, SparkSettings, incompatibilities
from tests.conftest import TEST_SPARK_SETTINGS


def test_lake_root_resolves_local_paths_and_keeps_uris(tmp_path):
    assert LakeResource(root=str(tmp_path)).table("bronze/documents") == f"{tmp_path}/bronze/documents"
    assert LakeResource(root="s3a://bucket/lake/").table("manifest") == "s3a://bucket/lake/manifest"
    assert Path(LakeResource(root="lake").uri).is_absolute()


def test_crawl_source_builds_the_sample_mirror_and_passes_real_bases_through(tmp_path):
    source = CrawlSourceResource(base_uri="https://data.commoncrawl.org/",
                                 sample_dir=str(tmp_path / "sample"))
    assert source.base_for("CC-MAIN-2024-33") == "https://data.commoncrawl.org/"
    sample = Path(source.base_for("CC-MAIN-SAMPLE"))
    assert (sample / "crawl-data" / "CC-MAIN-SAMPLE" / "warc.paths.gz").exists()


# --- Spark: which running sessions a resource may share (pure) -------------------------------

LOCAL2 = RunningSession(remote=False, master="local[2]", shuffle_partitions=4,
                        driver_memory="2g", delta=True)


def test_unset_settings_share_any_running_session_and_equal_ones_agree():
    assert incompatibilities(LOCAL2, SparkSettings()) == []
    assert incompatibilities(LOCAL2, SparkSettings("local[2]", None, 4, "2048m")) == []


@pytest.mark.parametrize("wanted, message", [
    (SparkSettings(master="local[*]"), "master local[*] wanted, local[2] is running"),
    (SparkSettings(shuffle_partitions=8), "spark.sql.shuffle.partitions 8 wanted, 4 is set"),
    (SparkSettings(driver_memory="4g"), "spark.driver.memory 4g wanted, 2g is set"),
    (SparkSettings(remote="sc://spark:15002"),
     "remote sc://spark:15002 wanted, a classic session (master local[2]) is running"),
])
def test_a_disagreeing_setting_is_named(wanted, message):
    assert incompatibilities(LOCAL2, wanted) == [message]


def test_a_session_without_delta_or_of_the_other_kind_cannot_be_shared():
    no_delta = RunningSession(False, "local[2]", 4, "2g", delta=False)
    assert "has no Delta" in incompatibilities(no_delta, SparkSettings())[0]
    connect = RunningSession(True, None, 200, None, True)
    assert incompatibilities(connect, SparkSettings()) == []
    assert "Spark Connect session is running" in incompatibilities(
        connect, SparkSettings(master="local[2]"))[0]
    with pytest.raises(ValueError, match="not both"):
        SparkSettings(master="local[2]", remote="sc://x")


# --- Spark: the resource inside Dagster runs ---------------------------------------------------

@asset
def count_rows(spark: SparkResource) -> MaterializeResult:
    session = spark.session()
    return MaterializeResult(metadata={"rows": session.range(5).count(),
                                       "application": session.sparkContext.applicationId})


def test_a_run_reuses_the_running_session_and_leaves_it_running(spark):
    for resource in (SparkResource(), SparkResource(**TEST_SPARK_SETTINGS)):
        result = materialize([count_rows], resources={"spark": resource})
        meta = result.asset_materializations_for_node("count_rows")[0].metadata
        assert meta["rows"].value == 5
        assert meta["application"].value == spark.sparkContext.applicationId
    assert spark.range(3).count() == 3  # the fixture's session was not stopped


def test_a_run_asking_for_other_settings_fails_with_a_clear_error(spark):
    result = materialize([count_rows], resources={"spark": SparkResource(master="local[1]")},
                         raise_on_error=False)
    assert not result.success
    errors = [str(e.event_specific_data.error) for e in result.all_events
              if getattr(e.event_specific_data, "error", None) is not None]
    assert any("master local[1] wanted, local[2] is running" in error for error in errors), errors
    assert spark.range(3).count() == 3


def test_one_session_per_in_process_run_opened_and_closed_by_the_resource(monkeypatch):
    """What `refinery run` relies on: Dagster sets the resource up once for all assets of an
    in-process run, and the resource stops at the end only a session it created."""
    import resources.spark as spark_resource

    calls = []

    class FakeSession:
        pass

    def fake_open(settings):
        calls.append(("open", settings))
        return FakeSession(), True

    def fake_close(session, created):
        calls.append(("close", type(session).__name__, created))

    monkeypatch.setattr(spark_resource, "open_session", fake_open)
    monkeypatch.setattr(spark_resource, "close_session", fake_close)
    seen = []

    @asset
    def first(spark: SparkResource):
        seen.append(spark.session())

    @asset(deps=[first])
    def second(spark: SparkResource):
        seen.append(spark.session())

    @asset(deps=[second])
    def third(spark: SparkResource):
        seen.append(spark.session())

    result = materialize([first, second, third], resources={
        "spark": SparkResource(master="spark://cluster:7077", shuffle_partitions=64,
                               driver_memory="8g")})
    assert result.success
    assert calls == [("open", SparkSettings("spark://cluster:7077", None, 64, "8g")),
                     ("close", "FakeSession", True)]
    assert len(seen) == 3 and seen[0] is seen[1] is seen[2]


def test_the_session_exists_only_inside_a_run():
    with pytest.raises(RuntimeError, match="opened when a Dagster run"):
        SparkResource().session()


# --- Ray ---------------------------------------------------------------------------------------

@asset
def ray_squares(ray: RayResource) -> MaterializeResult:
    client = ray.ray

    @client.remote
    def square(x):
        return x * x

    return MaterializeResult(metadata={"squares": str(client.get([square.remote(i) for i in range(4)])),
                                       "cpus": client.cluster_resources().get("CPU", 0)})


def test_ray_resource_starts_a_local_instance_and_shuts_down_only_what_it_started():
    """In a fresh interpreter (the test run's own Ray instance must not be in the way)."""
    import subprocess
    import sys

    script = (
        "import ray\n"
        "from dagster import materialize\n"
        "from resources import RayResource\n"
        "from tests.test_resources import ray_squares\n"
        "assert not ray.is_initialized()\n"
        "result = materialize([ray_squares], resources={'ray': RayResource(num_cpus=1)})\n"
        "meta = result.asset_materializations_for_node('ray_squares')[0].metadata\n"
        "print('squares', meta['squares'].value, 'cpus', meta['cpus'].value,\n"
        "      'after', ray.is_initialized())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-3000:]
    # the local instance has the CPUs it was given (on any host), and it was shut down afterwards
    assert "squares [0, 1, 4, 9] cpus 1.0 after False" in done.stdout


def test_ray_resource_leaves_a_running_instance_running(ray_session):
    result = materialize([ray_squares], resources={"ray": RayResource(num_cpus=1)})
    assert result.success
    assert ray_session.is_initialized()  # not its instance: left running
