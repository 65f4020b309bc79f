"""Build a benchmark crawl mirror (Common Crawl layout) from real HTML pages of Debian documentation.

    python bench/build_corpus.py --out bench/out/corpus --pages 20000 --files 20

Needs `apt-get install -y debian-handbook python3.11-doc postgresql-doc-15`. Real pages are written as
200 responses; exact, near (Jaccard 0.5 ... 0.95) and cycle duplicates are injected with known
similarity. Output in `<out>/crawl-data/<crawl id>/`: `warc.paths.gz`, the WARC files under
`segments/`, `ground_truth.jsonl` (one duplicate pair a line) and `corpus_summary.json` (counts and
timings). The logic lives in `sample_crawl.bench_corpus`; Jaccard is dedup's `exact_jaccard` on the
extracted main texts (`sample_crawl.similarity`).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sample_crawl.bench_corpus import (  # noqa: E402
    CRAWL_ID, DOC_SOURCES, NEAR_TARGETS, apt_command, discover_pages, missing_sources, near_summary,
    plan_corpus, write_corpus, write_truth,
)
from sample_crawl.similarity import JACCARD_DEFINITION  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/corpus"))
    parser.add_argument("--pages", type=int, default=20000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--crawl-id", default=CRAWL_ID)
    parser.add_argument("--exact-dups", type=int, default=None, help="default: 1%% of pages")
    parser.add_argument("--near-per-target", type=int, default=None,
                        help=f"near duplicates per target {NEAR_TARGETS}; default: 0.25%% of pages")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_sources()
    if len(missing) == len(DOC_SOURCES):
        print("No documentation HTML found. Install it with:\n  " + apt_command(), file=sys.stderr)
        return 2
    if missing:
        print(f"warning: missing {[m.name for m in missing]}; for all sources run: {apt_command()}",
              file=sys.stderr)
    started = time.perf_counter()
    real = discover_pages()
    discovered = time.perf_counter()
    exact = args.exact_dups if args.exact_dups is not None else args.pages // 100
    near = args.near_per_target if args.near_per_target is not None else max(1, args.pages // 400)
    plan = plan_corpus(real, args.pages, exact, near, seed=args.seed)
    planned = time.perf_counter()
    crawl_dir = args.out / "crawl-data" / args.crawl_id
    crawl_dir.mkdir(parents=True, exist_ok=True)
    relative = write_corpus(args.out, args.crawl_id, plan, args.files, args.workers)
    write_truth(crawl_dir, plan.truth)
    finished = time.perf_counter()
    summary = {
        "crawl_id": args.crawl_id, "pages": len(plan.specs), "files": len(relative),
        "distinct_real_pages_available": len(real),
        "distinct_by_source": dict(Counter(page.source for page in real)),
        "counts_by_kind": plan.counts, "near_duplicates": near_summary(plan.truth),
        "jaccard_definition": JACCARD_DEFINITION,
        "bytes": sum((args.out / rel).stat().st_size for rel in relative),
        "seconds": {"discover": round(discovered - started, 2), "plan": round(planned - discovered, 2),
                    "write": round(finished - planned, 2), "total": round(finished - started, 2)},
    }
    (crawl_dir / "corpus_summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(json.dumps(summary, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
