"""The one SparkSession of a process, configured for Delta Lake and Arrow.

`SPARK_MASTER` (or `master=`) points at a cluster; `SPARK_REMOTE` (or `remote=`) at a Spark Connect
endpoint, in which case the server must have Delta configured. Locally, shuffle partitions are sized
for a small machine (Spark's 200 default makes every small stage slow) and AQE coalesces them further.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading

from spark_jobs.jars import ensure_delta_jars

_lock = threading.Lock()
_session = None


def default_shuffle_partitions() -> int:
    return max(4, 2 * (os.cpu_count() or 2))


def build_conf(
    master: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str = "4g",
    extra: dict | None = None,
) -> dict:
    """The Spark configuration cc-refinery uses (a plain dict, easy to inspect and test)."""
    jars = ensure_delta_jars()
    conf = {
        "spark.master": master or os.environ.get("SPARK_MASTER", "local[*]"),
        "spark.app.name": "cc-refinery",
        "spark.jars": ",".join(str(p) for p in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(shuffle_partitions or default_shuffle_partitions()),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Delta reads its log with this many partitions; 50 (the default) is slow on small tables.
        "spark.databricks.delta.snapshotPartitions": "4",
        "spark.databricks.delta.properties.defaults.enableChangeDataFeed": "false",
        "spark.driver.memory": driver_memory,
        "spark.python.worker.reuse": "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
    }
    if conf["spark.master"].startswith("local"):
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.ui.enabled"] = os.environ.get("REFINERY_SPARK_UI", "false")
    conf.update(extra or {})
    return conf


def get_spark(
    master: str | None = None,
    remote: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str = "4g",
    extra: dict | None = None,
):
    """Create the process's SparkSession once; later calls return the same one."""
    global _session
    from pyspark.sql import SparkSession

    with _lock:
        if _session is not None:
            return _session
        remote = remote or os.environ.get("SPARK_REMOTE")
        if remote:
            _session = SparkSession.builder.remote(remote).getOrCreate()
        else:
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            builder = SparkSession.builder
            for key, value in build_conf(master, shuffle_partitions, driver_memory, extra).items():
                builder = builder.config(key, value)
            _session = builder.getOrCreate()
            _session.sparkContext.setLogLevel("WARN")
        atexit.register(stop_spark)
        return _session


def stop_spark() -> None:
    """Stop the session if one was started (idempotent)."""
    global _session
    with _lock:
        if _session is not None:
            try:
                _session.stop()
            finally:
                _session = None
