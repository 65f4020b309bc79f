"""Run every benchmark in bench/ on the benchmark corpus, appending JSON lines to bench/out/results.jsonl.

Builds the corpus first if it is missing (needs Debian's documentation packages; the builder prints
the apt-get command when they are absent).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CORPUS = BENCH / "out" / "corpus"
RESULTS = BENCH / "out" / "results.jsonl"


def run(*args: str) -> None:
    print(f"\n$ {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, *args], check=True)


def main() -> int:
    if not (CORPUS / "crawl-data" / "CC-MAIN-BENCH" / "warc.paths.gz").exists():
        run(str(BENCH / "build_corpus.py"), "--out", str(CORPUS), "--pages", "20000", "--files", "20")
    run(str(BENCH / "bench_bronze.py"), "--corpus", str(CORPUS), "--json", str(RESULTS))
    run(str(BENCH / "bench_silver.py"), "--corpus", str(CORPUS), "--json", str(RESULTS))
    run(str(BENCH / "bench_minhash.py"), "--docs", "1000")
    run(str(BENCH / "bench_url_blocklist.py"), "--json", str(RESULTS))
    run(str(BENCH / "bench_dedup.py"))
    run(str(BENCH / "bench_shards.py"))
    run(str(BENCH / "bench_preselect_bpc.py"))
    run(str(BENCH / "bench_fineweb2.py"), "--limit", "200", "--json", str(RESULTS))
    print(f"\nresults appended to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
