"""Bronze throughput: Spark (`run_bronze`) against a plain single-process loop, same files, one run.

Both use the same extraction (`warc_extract.extract_file`: fastwarc + resiliparse main content) and
both write their output (the loop to a Parquet file with pyarrow, Spark to the Delta tables), so the
difference is Spark's overhead and parallelism. Prints documents/s and the ratio per core.

    .venv/bin/python bench/bench_bronze.py --corpus bench/out/corpus --crawl CC-MAIN-BENCH
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit_result  # noqa: E402
from contract.tables import BRONZE_SCHEMA  # noqa: E402
from core.io.listing import join_uri, read_listing  # noqa: E402
from core.warc.extract import extract_file  # noqa: E402


def plain_loop(paths: list[str], snapshot: str, out: Path) -> tuple[int, float]:
    started = time.perf_counter()
    writer = pq.ParquetWriter(out, BRONZE_SCHEMA)
    n = 0
    for path in paths:
        rows = [e for e in extract_file(path, snapshot) if isinstance(e, dict)]
        n += len(rows)
        if rows:
            writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=BRONZE_SCHEMA))
    writer.close()
    return n, time.perf_counter() - started


def spark_run(paths: list[str], snapshot: str, lake: str, cores: int
              ) -> tuple[int, float, float, float]:
    """Documents, cold seconds, warm seconds, session startup seconds.

    Cold: the first job of a new JVM, into a new lake. Warm: the same files into another new lake
    after a one-file warm-up job. In the pipeline bronze runs after `warc_manifest` has already
    written a Delta table in the same process, so the warm figure is what a materialization sees;
    the cold one adds the JVM's one-time class loading and JIT of Delta's write path.
    """
    from spark_jobs.bronze import run_bronze
    from spark_jobs.session import get_spark

    started = time.perf_counter()
    spark = get_spark(master=f"local[{cores}]")
    startup = time.perf_counter() - started
    cold = run_bronze(spark, lake + "-cold", snapshot, paths)
    run_bronze(spark, lake + "-warmup", snapshot, paths[:1])
    warm = run_bronze(spark, lake, snapshot, paths)
    assert cold.documents == warm.documents
    return warm.documents, cold.seconds, warm.seconds, startup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="bench/out/corpus", help="mirror built by build_corpus.py")
    parser.add_argument("--crawl", default="CC-MAIN-BENCH")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", help="append the result as one JSON line to this file")
    args = parser.parse_args()
    base = str(Path(args.corpus).resolve())
    paths = [join_uri(base, p) for p in read_listing(base, args.crawl, "warc")]
    work = Path(tempfile.mkdtemp(prefix="bench-bronze-"))
    try:
        loop_docs, loop_s = plain_loop(paths, args.crawl, work / "loop.parquet")
        spark_docs, cold_s, spark_s, startup = spark_run(paths, args.crawl, str(work / "lake"),
                                                          args.cores)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert loop_docs == spark_docs, f"loop found {loop_docs} documents, Spark {spark_docs}"
    loop_rate, spark_rate = loop_docs / loop_s, spark_docs / spark_s
    result = {
        "bench": "bronze", "files": len(paths), "documents": spark_docs, "cores": args.cores,
        "loop_docs_per_s": round(loop_rate, 1), "spark_docs_per_s": round(spark_rate, 1),
        "spark_docs_per_s_per_core": round(spark_rate / args.cores, 1),
        "spark_session_startup_s": round(startup, 1),
        "spark_cold_docs_per_s": round(spark_docs / cold_s, 1),
        "speedup_vs_loop": round(spark_rate / loop_rate, 2),
        "per_core_ratio_vs_loop": round(spark_rate / args.cores / loop_rate, 2),
    }
    emit_result(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
