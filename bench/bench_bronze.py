"""Bronze throughput: Spark (`run_bronze`) against a bare single-process loop, same files, one run.

Both use the same extraction (`core.warc.extract.extract_file`: fastwarc + resiliparse main content)
and both write their documents (the loop to a Parquet file with pyarrow, columns built directly;
Spark to the Delta tables, with errors, skips and manifest counts). Rounds alternate the order
(loop first, then Spark first, ...) so that a shared machine's changing load hits both alike.

Per round it reports wall-clock documents/s and the per-core ratio (Spark's documents/s divided by
the cores it used, over the loop's on one core), and CPU seconds per document of each side (the
Spark side counts the driver, the JVM and every Python worker): on a loaded machine the wall-clock
ratio is noisy, the CPU ratio much less so. `--profile` adds one Spark run with cProfile inside each
Python worker and the JVM's stage metrics (task time, JVM CPU, GC) from the Spark UI's REST API.

    python bench/bench_bronze.py --corpus /work/bench-data/bronze-35k --rounds 3 --profile
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit_result  # noqa: E402
from contract.tables import BRONZE_SCHEMA  # noqa: E402
from core.io.listing import join_uri, read_listing  # noqa: E402
from core.warc.extract import extract_file  # noqa: E402
from core.warc.writer import Page, write_warc  # noqa: E402

LOOP_BATCH_ROWS = 1024


def _cpu(process: psutil.Process) -> float:
    """User + system CPU of the process itself (children are sampled on their own: adding a
    parent's reaped-children times would count them twice)."""
    t = process.cpu_times()
    return t.user + t.system


def _part_of(process: psutil.Process, me: psutil.Process) -> str:
    if process.pid == me.pid:
        return "driver"
    return "jvm" if process.name() == "java" else "python_workers"


class CpuMeter:
    """CPU seconds of this process, the JVM and the Python workers over an interval.

    A sampler thread reads every process of the tree every `interval` s and keeps its last value,
    so a worker that ends during the interval (Spark stops idle workers) keeps what it used (up to
    the last sample); once gone, its CPU is not visible anywhere else.
    """

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.me = psutil.Process()
        self.first: dict[tuple, float] = {}
        self.last: dict[tuple, float] = {}
        self.part: dict[tuple, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, baseline: bool) -> None:
        for process in [self.me, *self.me.children(recursive=True)]:
            try:
                key = (process.pid, process.create_time())
                value = _cpu(process)
                self.part.setdefault(key, _part_of(process, self.me))
            except psutil.Error:  # ended while being read
                continue
            if baseline:
                self.first[key] = value
            # CPU time only grows; a process that has just ended (a zombie) reads as 0
            self.last[key] = max(value, self.last.get(key, value))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample(baseline=False)

    def __enter__(self) -> "CpuMeter":
        self._sample(baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(baseline=False)

    def by_part(self) -> dict[str, float]:
        parts = {"driver": 0.0, "jvm": 0.0, "python_workers": 0.0}
        for key, value in self.last.items():
            parts[self.part[key]] += value - self.first.get(key, 0.0)
        return {part: round(value, 2) for part, value in parts.items()}


def _columns_batch(rows: list[dict]) -> pa.RecordBatch:
    arrays = [pa.array([row.get(f.name) for row in rows], f.type) for f in BRONZE_SCHEMA]
    return pa.RecordBatch.from_arrays(arrays, schema=BRONZE_SCHEMA)


def plain_loop(paths: list[str], snapshot: str, out: Path) -> int:
    """The bare loop: extract every file in this process, write the documents to one Parquet file."""
    writer = pq.ParquetWriter(out, BRONZE_SCHEMA)
    n = 0
    rows: list[dict] = []
    for path in paths:
        for event in extract_file(path, snapshot):
            if isinstance(event, dict):
                rows.append(event)
                if len(rows) >= LOOP_BATCH_ROWS:
                    writer.write_batch(_columns_batch(rows))
                    n += len(rows)
                    rows = []
    if rows:
        writer.write_batch(_columns_batch(rows))
        n += len(rows)
    writer.close()
    return n


def warmup_file(directory: Path) -> str:
    """A small WARC (20 pages) for the warm-up job: JVM class loading, Delta's write path, workers."""
    moment = dt.datetime(2024, 8, 3, tzinfo=dt.timezone.utc)
    pages = [Page(url=f"https://warmup.example/{i}", fetch_time=moment,
                  body=(f"<html><body><article><h1>Page {i}</h1>"
                        + "<p>Some words of a warm-up paragraph for the bench.</p>" * 20
                        + "</article></body></html>").encode()) for i in range(20)]
    path = directory / "warmup.warc.gz"
    write_warc(path, "CC-MAIN-BENCH", pages, moment)
    return str(path)


def measured(fn) -> dict:
    """Run `fn()` (returns documents), with wall time, CPU per process group and load average."""
    load = os.getloadavg()[0]
    with CpuMeter() as meter:
        started = time.perf_counter()
        docs = fn()
        seconds = time.perf_counter() - started
    cpu = meter.by_part()
    return {"documents": docs, "seconds": round(seconds, 2), "cpu_s": cpu,
            "cpu_total_s": round(sum(cpu.values()), 2), "load_1min": round(load, 1)}


def stage_metrics(spark, since_stage: int) -> list[dict]:
    """Completed stages with id >= `since_stage` from the Spark UI's REST API (local, no network)."""
    url = spark.sparkContext.uiWebUrl
    if not url:
        return []
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete") as r:
        stages = json.load(r)
    keys = ("executorRunTime", "executorCpuTime", "jvmGcTime", "executorDeserializeTime",
            "resultSerializationTime", "numTasks", "outputBytes", "shuffleWriteBytes")
    out = []
    for s in sorted(stages, key=lambda s: s["stageId"]):
        if s["stageId"] < since_stage:
            continue
        row = {"stage": s["stageId"], "name": s["name"][:60]}
        for key in keys:
            value = s.get(key, 0)
            row[key] = round(value / 1e9, 2) if key == "executorCpuTime" else value
        out.append(row)
    return out


def max_stage_id(spark) -> int:
    url = spark.sparkContext.uiWebUrl
    if not url:
        return 0
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages") as r:
        return max((s["stageId"] for s in json.load(r)), default=-1) + 1


def profiled_factory(factory, out_dir: str):
    """Wrap `make_extract_batches` so that each task's worker runs under cProfile (stats to files)."""

    def make(*args, **kwargs):
        inner = factory(*args, **kwargs)

        def run(batches):
            import cProfile
            import os as _os
            import time as _time

            profile = cProfile.Profile()
            profile.enable()
            try:
                yield from inner(batches)
            finally:
                profile.disable()
                profile.dump_stats(_os.path.join(out_dir, f"task-{_os.getpid()}-{_time.time_ns()}.prof"))

        return run

    return make


def print_profile(out_dir: str, top: int = 30) -> None:
    files = glob.glob(os.path.join(out_dir, "*.prof"))
    if not files:
        print("no worker profiles written")
        return
    stats = pstats.Stats(*files)
    print(f"\n=== cProfile of {len(files)} Spark task(s), by own time ===")
    stats.sort_stats("tottime").print_stats(top)
    print("=== by cumulative time ===")
    stats.sort_stats("cumulative").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="bench/out/corpus", help="mirror built by build_corpus.py")
    parser.add_argument("--crawl", default="CC-MAIN-BENCH")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, help="only the first N files of the listing")
    parser.add_argument("--profile", action="store_true",
                        help="one more Spark run with cProfile in the workers and stage metrics")
    parser.add_argument("--json", help="append the result as one JSON line to this file")
    args = parser.parse_args()
    if args.profile:
        os.environ["REFINERY_SPARK_UI"] = "true"  # the REST API of stage metrics
    base = str(Path(args.corpus).resolve())
    paths = [join_uri(base, p) for p in read_listing(base, args.crawl, "warc")][: args.files]
    work = Path(tempfile.mkdtemp(prefix="bench-bronze-"))

    from spark_jobs import bronze
    from spark_jobs.session import get_spark

    started = time.perf_counter()
    spark = get_spark(master=f"local[{args.cores}]")
    startup = time.perf_counter() - started
    rounds = []
    try:
        bronze.run_bronze(spark, str(work / "lake-warmup"), args.crawl, [warmup_file(work)])

        def loop():
            return plain_loop(paths, args.crawl, work / "loop.parquet")

        def on_spark(lake: str):
            return lambda: bronze.run_bronze(spark, lake, args.crawl, paths).documents

        for i in range(args.rounds):
            lake = str(work / f"lake-{i}")
            order = [("loop", loop), ("spark", on_spark(lake))]
            if i % 2:
                order.reverse()
            result = {name: measured(fn) for name, fn in order}
            shutil.rmtree(lake, ignore_errors=True)
            rounds.append(result | {"first": order[0][0]})
            print(json.dumps(rounds[-1]), flush=True)
        profile = None
        if args.profile:
            prof_dir = work / "profiles"
            prof_dir.mkdir()
            first_stage = max_stage_id(spark)
            bronze.make_extract_batches = profiled_factory(bronze.make_extract_batches, str(prof_dir))
            profile = measured(on_spark(str(work / "lake-profile")))
            profile["stages"] = stage_metrics(spark, first_stage)
            print(json.dumps(profile, indent=1))
            print_profile(str(prof_dir))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for r in rounds:
        assert r["loop"]["documents"] == r["spark"]["documents"], r
    docs = rounds[0]["spark"]["documents"]
    wall_ratio = [docs / r["spark"]["seconds"] / args.cores / (docs / r["loop"]["seconds"])
                  for r in rounds]
    cpu_ratio = [r["loop"]["cpu_s"]["driver"] / r["spark"]["cpu_total_s"] for r in rounds]
    result = {
        "bench": "bronze", "files": len(paths), "documents": docs, "cores": args.cores,
        "rounds": len(rounds), "spark_session_startup_s": round(startup, 1),
        "loop_docs_per_s": [round(docs / r["loop"]["seconds"], 1) for r in rounds],
        "spark_docs_per_s": [round(docs / r["spark"]["seconds"], 1) for r in rounds],
        "per_core_ratio_vs_loop": [round(x, 2) for x in wall_ratio],
        "per_core_ratio_median": round(statistics.median(wall_ratio), 2),
        "cpu_ratio_loop_over_spark": [round(x, 2) for x in cpu_ratio],
        "cpu_ratio_median": round(statistics.median(cpu_ratio), 2),
        "spark_cpu_by_part": [r["spark"]["cpu_s"] for r in rounds],
        "load_1min": [(r["loop"]["load_1min"], r["spark"]["load_1min"]) for r in rounds],
        "profile": profile and {k: profile[k] for k in ("seconds", "cpu_s", "stages")},
    }
    emit_result(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
