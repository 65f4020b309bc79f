"""Silver stage throughput on Spark against datatrove's same filter chain, same documents, one run.

Bronze is extracted first (not timed here; see bench_bronze.py). Then:
- cc-refinery: `run_silver` on Spark over every bronze document: URL filter, fastText LID, Gopher
  repetition, Gopher quality, C4, FineWeb quality, PII, with Delta reads and writes;
- datatrove: GopherRepetition → GopherQuality → C4Quality(filter_no_terminal_punct=False) →
  FineWebQuality on a seeded random sample of the same documents (`--peer-docs`, since it runs at
  about 13 documents/s per core), one process. It does less work than our stage (no URL filter, no
  LID, no PII, no I/O), so the per-core ratio is conservative.
Prints documents/s, the per-core ratio and our keep rate per filter.

    .venv/bin/python bench/bench_silver.py --corpus bench/out/corpus --crawl CC-MAIN-BENCH
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_silver_filters import time_datatrove  # noqa: E402
from common import emit_result  # noqa: E402
from contract.tables import BRONZE_DOCUMENTS, table_uri  # noqa: E402
from core.io.listing import join_uri, read_listing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="bench/out/corpus")
    parser.add_argument("--crawl", default="CC-MAIN-BENCH")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--peer-docs", type=int, default=600, help="documents for datatrove")
    parser.add_argument("--json", help="append the result as one JSON line to this file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from spark_jobs.bronze import run_bronze
    from spark_jobs.session import get_spark
    from spark_jobs.silver import run_silver

    base = str(Path(args.corpus).resolve())
    paths = [join_uri(base, p) for p in read_listing(base, args.crawl, "warc")]
    work = Path(tempfile.mkdtemp(prefix="bench-silver-"))
    try:
        spark = get_spark(master=f"local[{args.cores}]")
        lake = str(work / "lake")
        run_bronze(spark, lake, args.crawl, paths)
        result = run_silver(spark, lake, args.crawl)
        texts = [r.text for r in spark.read.format("delta").load(table_uri(lake, BRONZE_DOCUMENTS))
                 .select("text").collect()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sample = random.Random(0).sample(texts, min(args.peer_docs, len(texts)))
    peer_s, _ = time_datatrove(sample)
    ours_rate = result.documents_in / result.seconds
    peer_rate = len(sample) / peer_s
    funnel = {step: {"dropped": dropped, "remaining": remaining,
                     "keep_rate_of_input": round(remaining / result.documents_in, 4)}
              for step, dropped, remaining in result.funnel()}
    out = {
        "bench": "silver", "documents": result.documents_in, "cores": args.cores,
        "chars_per_doc": round(sum(map(len, texts)) / max(len(texts), 1)),
        "spark_silver_docs_per_s": round(ours_rate, 1),
        "spark_silver_docs_per_s_per_core": round(ours_rate / args.cores, 1),
        "datatrove_docs_per_s_one_core": round(peer_rate, 1),
        "datatrove_sample_docs": len(sample),
        "per_core_ratio_vs_datatrove": round(ours_rate / args.cores / peer_rate, 2),
        "kept": result.kept, "funnel": funnel, "rejects_by_reason": result.by_reason,
    }
    emit_result(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
