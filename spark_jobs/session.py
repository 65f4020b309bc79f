"""SparkSessions for cc-refinery: configured for Delta Lake and Arrow, opened and closed by their owner.

`open_session(settings)` reuses the session already running in the process when its settings agree
with the ones asked for (a setting left at None agrees with anything), creates one otherwise, and
says which it did; `close_session` stops a session only when the caller created it. So a test's
session-scoped session, or a notebook's, is reused by every Dagster run and never stopped by one,
and an incompatible running session is a clear error instead of a silently ignored configuration.

Object storage: when `refinery setup` has cached hadoop-aws and the AWS SDK, every classic session
loads them (jars are fixed when the JVM starts), maps `s3://` to S3A, and takes endpoint, region and
path style from the standard AWS variables (`spark.hadoop.fs.s3a.*`); credentials stay out of the
Spark conf (S3A reads the AWS_* variables or the instance role). `open_session` also copies the
current AWS settings, credentials included, into the running session's Hadoop configuration, so a
session started earlier (a test's, a notebook's) reaches the store the caller's environment names.
The Dagster resource `resources.spark.SparkResource` owns the session of a run this way.

`SPARK_MASTER` (or `master=`) points at a cluster; `SPARK_REMOTE` (or `remote=`) at a Spark Connect
endpoint, in which case the server must have Delta configured. Locally, shuffle partitions are sized
for a small machine (Spark's 200 default makes every small stage slow) and AQE coalesces them further.
"""
from __future__ import annotations

import atexit
import os
import sys
import threading
from dataclasses import dataclass

from core.io.object_store import S3Settings, hadoop_s3a_conf
from spark_jobs.jars import cached_s3a_jars, ensure_delta_jars

DEFAULT_DRIVER_MEMORY = "4g"  # enough for the dedup job on 80k documents (BENCHMARKS.md)
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"

_create_lock = threading.Lock()


@dataclass(frozen=True)
class SparkSettings:
    """What a caller asks of a session; None: any running session's value, or the default."""

    master: str | None = None  # None: SPARK_MASTER, else local[*]
    remote: str | None = None  # Spark Connect URL (sc://host:15002); None: SPARK_REMOTE, else classic
    shuffle_partitions: int | None = None  # None: 2 x cores, at least 4
    driver_memory: str | None = None  # None: DEFAULT_DRIVER_MEMORY

    def __post_init__(self) -> None:
        if self.master and self.remote:
            raise ValueError(f"set master ({self.master}) or remote ({self.remote}), not both")
        if self.shuffle_partitions is not None and self.shuffle_partitions < 1:
            raise ValueError(f"shuffle_partitions must be >= 1, got {self.shuffle_partitions}")


@dataclass(frozen=True)
class RunningSession:
    """The settings of a running session that decide whether a caller may share it."""

    remote: bool  # a Spark Connect session
    master: str | None  # classic sessions only
    shuffle_partitions: int | None
    driver_memory: str | None  # classic sessions only; None when Spark's own default is in use
    delta: bool  # Delta's SQL extension is loaded (unknown for Connect: the server decides)


def default_shuffle_partitions() -> int:
    return max(4, 2 * (os.cpu_count() or 2))


def _memory_bytes(value: str) -> int | None:
    """'2g', '2048m', '2G' as bytes (Spark's JVM memory strings); None if unreadable."""
    units = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    text = value.strip().lower().removesuffix("b")
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        return None


def incompatibilities(running: RunningSession, wanted: SparkSettings) -> list[str]:
    """Why a running session cannot serve `wanted` (empty: it can). Pure, so it is tested alone."""
    problems = []
    if wanted.remote and not running.remote:
        problems.append(f"remote {wanted.remote} wanted, a classic session (master "
                        f"{running.master}) is running")
    if wanted.master and running.remote:
        problems.append(f"master {wanted.master} wanted, a Spark Connect session is running")
    if wanted.master and not running.remote and wanted.master != running.master:
        problems.append(f"master {wanted.master} wanted, {running.master} is running")
    if wanted.shuffle_partitions is not None and wanted.shuffle_partitions != running.shuffle_partitions:
        problems.append(f"spark.sql.shuffle.partitions {wanted.shuffle_partitions} wanted, "
                        f"{running.shuffle_partitions} is set")
    if wanted.driver_memory and not running.remote:
        have = running.driver_memory
        if have is None or _memory_bytes(have) != _memory_bytes(wanted.driver_memory):
            problems.append(f"spark.driver.memory {wanted.driver_memory} wanted, "
                            f"{have or 'Spark default'} is set")
    if not running.remote and not running.delta:
        problems.append(f"the running session has no Delta ({DELTA_EXTENSION} not in "
                        "spark.sql.extensions)")
    return problems


def is_local_master(master: str) -> bool:
    """`local`, `local[4]`, `local[*]`, `local[2,3]`: driver and executors share one JVM."""
    return master == "local" or master.startswith("local[")


def jar_conf(master: str, delta_jars: list, s3a_jars: list) -> dict:
    """Where the session's jars go. Delta's always on `spark.jars` (added to the running JVM, shipped
    to a cluster's executors). The S3A jars too on a cluster, but in local mode on the driver's class
    path: the executors live in the driver's JVM, and `spark.jars` would copy the 690 MB AWS SDK
    into every session's temporary userFiles directory."""
    if not is_local_master(master):
        return {"spark.jars": ",".join(str(p) for p in [*delta_jars, *s3a_jars])}
    conf = {"spark.jars": ",".join(str(p) for p in delta_jars)}
    if s3a_jars:
        conf["spark.driver.extraClassPath"] = os.pathsep.join(str(p) for p in s3a_jars)
    return conf


def build_conf(
    master: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    extra: dict | None = None,
) -> dict:
    """The Spark configuration cc-refinery uses (a plain dict, easy to inspect and test)."""
    master = master or os.environ.get("SPARK_MASTER", "local[*]")
    conf = {
        "spark.master": master,
        "spark.app.name": "cc-refinery",
        **jar_conf(master, ensure_delta_jars(), cached_s3a_jars()),
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(shuffle_partitions or default_shuffle_partitions()),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Delta reads its log with this many partitions; 50 (the default) is slow on small tables.
        "spark.databricks.delta.snapshotPartitions": "4",
        "spark.databricks.delta.properties.defaults.enableChangeDataFeed": "false",
        "spark.driver.memory": driver_memory or DEFAULT_DRIVER_MEMORY,
        "spark.python.worker.reuse": "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        # Executors' Python: this one, unless PYSPARK_PYTHON names the workers' (a cluster's nodes
        # need not have the driver's venv path).
        "spark.pyspark.python": os.environ.get("PYSPARK_PYTHON") or sys.executable,
        "spark.pyspark.driver.python": sys.executable,
    }
    if master.startswith("local"):
        conf["spark.driver.host"] = "127.0.0.1"
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.ui.enabled"] = os.environ.get("REFINERY_SPARK_UI", "false")
    if cached_s3a_jars():
        s3a = hadoop_s3a_conf(S3Settings.from_env(), credentials=False)
        conf.update({f"spark.hadoop.{key}": value for key, value in s3a.items()})
    conf.update(extra or {})
    return conf


S3A_CREDENTIAL_KEYS = ("fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.session.token",
                       "fs.s3a.aws.credentials.provider")


def apply_s3_settings(session, settings: S3Settings | None = None) -> None:
    """Copy the AWS settings (default: the current AWS_* variables) into a classic session's Hadoop
    configuration; credentials the settings lack are unset, so an earlier caller's never linger.
    Filesystems S3A has already opened keep their settings (Hadoop caches one per bucket)."""
    if type(session).__module__.startswith("pyspark.sql.connect") or not cached_s3a_jars():
        return
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    conf = hadoop_s3a_conf(settings or S3Settings.from_env(), credentials=True)
    for key in S3A_CREDENTIAL_KEYS:
        if key not in conf:
            hadoop.unset(key)
    for key, value in conf.items():
        hadoop.set(key, value)


def running_session():
    """The process's active or default SparkSession (classic or Connect), or None."""
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    try:
        session = SparkSession.active()
    except PySparkRuntimeError:  # NO_ACTIVE_OR_DEFAULT_SESSION
        return None
    return None if getattr(session, "is_stopped", False) else session


def describe(session) -> RunningSession:
    """What `incompatibilities` needs to know about a running session."""
    from pyspark.sql.utils import is_remote

    remote = is_remote() or type(session).__module__.startswith("pyspark.sql.connect")
    shuffle = int(session.conf.get("spark.sql.shuffle.partitions"))  # Spark's 200 when unset
    if remote:
        return RunningSession(True, None, shuffle, None, True)
    spark_conf = session.sparkContext.getConf()
    return RunningSession(
        remote=False,
        master=session.sparkContext.master,
        shuffle_partitions=shuffle,
        driver_memory=spark_conf.get("spark.driver.memory", None),
        delta=DELTA_EXTENSION in (session.conf.get("spark.sql.extensions", "") or ""),
    )


def fit_class_path_to_running_jvm(conf: dict, jvm_class_path: str | None) -> dict:
    """`conf` for a JVM already running in this process (a session stopped and created again, or
    started by other code), whose class path is fixed: jars of `spark.driver.extraClassPath` it
    lacks go to `spark.jars` instead. `jvm_class_path` None: no JVM yet, `conf` as it is."""
    extra = conf.get("spark.driver.extraClassPath")
    if jvm_class_path is None or not extra:
        return conf
    present = set(jvm_class_path.split(os.pathsep))
    missing = [jar for jar in extra.split(os.pathsep) if jar not in present]
    fitted = {key: value for key, value in conf.items() if key != "spark.driver.extraClassPath"}
    if missing:
        fitted["spark.jars"] = ",".join(j for j in [conf.get("spark.jars", ""), *missing] if j)
    return fitted


def _running_jvm_class_path() -> str | None:
    """The class path of the JVM pyspark has already launched in this process, or None."""
    from pyspark import SparkContext

    if SparkContext._gateway is None:
        return None
    return SparkContext._gateway.jvm.java.lang.System.getProperty("java.class.path")


def _create(settings: SparkSettings):
    from pyspark.sql import SparkSession

    remote = settings.remote or (None if settings.master else os.environ.get("SPARK_REMOTE"))
    if remote:
        return SparkSession.builder.remote(remote).getOrCreate()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    conf = build_conf(settings.master, settings.shuffle_partitions, settings.driver_memory)
    conf = fit_class_path_to_running_jvm(conf, _running_jvm_class_path())
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def open_session(settings: SparkSettings = SparkSettings()) -> tuple[object, bool]:
    """(session, created): the running session if it suits `settings`, else a new one.

    Raises RuntimeError naming every disagreement when a session that does not suit is running:
    Spark allows one SparkContext per process, so its master and memory cannot change underneath.
    """
    with _create_lock:
        session = running_session()
        if session is None:
            session = _create(settings)
            apply_s3_settings(session)
            return session, True
        problems = incompatibilities(describe(session), settings)
        if problems:
            raise RuntimeError(
                "a SparkSession that does not match the requested settings is running in this "
                "process: " + "; ".join(problems) + ". Leave the setting unset to share the "
                "running session, or stop it first.")
        apply_s3_settings(session)
        return session, False


def close_session(session, created: bool) -> None:
    """Stop `session` if the caller created it; a shared session is left running."""
    if created and session is not None:
        session.stop()


def get_spark(
    master: str | None = None,
    remote: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
):
    """For scripts (bench/): a suitable session, stopped at exit if this call created it."""
    session, created = open_session(SparkSettings(master, remote, shuffle_partitions, driver_memory))
    if created:
        atexit.register(close_session, session, True)
    return session
