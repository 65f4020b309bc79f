"""Writing a planned benchmark corpus: WARC files (in parallel), the paths listing, the ground truth.

    <out>/crawl-data/<crawl id>/warc.paths.gz
    <out>/crawl-data/<crawl id>/segments/<seg>/warc/CC-MAIN-...-000NN.warc.gz
    <out>/crawl-data/<crawl id>/ground_truth.jsonl     one injected duplicate a line
"""
from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from core.warc.writer import Page, write_warc
from sample_crawl.bench_corpus.plan import Plan, PageSpec, page_bytes
from sample_crawl.crawl_layout import assign_to_files, warc_relative_paths, write_paths_file

CRAWL_ID = "CC-MAIN-BENCH"
CRAWL_START = dt.datetime(2024, 9, 7, 12, 0, 0, tzinfo=dt.timezone.utc)
SEGMENTS = ("1725901234567.11", "1725901235012.21", "1725901235590.35", "1725901236104.48")
TRUTH_FILE = "ground_truth.jsonl"


def write_corpus(out: Path, crawl_id: str, plan: Plan, n_files: int, workers: int) -> list[str]:
    """Every WARC file and the paths listing; returns the WARC paths relative to `out`."""
    relative = warc_relative_paths(crawl_id, n_files, SEGMENTS, CRAWL_START)
    groups = assign_to_files(plan.specs, n_files, seed=crawl_id)
    tasks, start = [], 0
    for rel, group in zip(relative, groups):
        tasks.append((str(out / rel), crawl_id, group, start))
        start += len(group)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(write_one_file, tasks))
    else:
        for task in tasks:
            write_one_file(task)
    write_paths_file(out / "crawl-data" / crawl_id / "warc.paths.gz", relative)
    return relative


def write_one_file(task: tuple[str, str, list[PageSpec], int]) -> tuple[str, int]:
    """Worker: write one WARC file of the corpus, fetch times one second apart from the file's
    first index. Returns (path, bytes written)."""
    path, crawl_id, specs, start_index = task
    pages = (Page(url=s.url, body=page_bytes(s),
                  fetch_time=CRAWL_START + dt.timedelta(seconds=start_index + i))
             for i, s in enumerate(specs))
    write_warc(Path(path), crawl_id, pages, CRAWL_START + dt.timedelta(seconds=start_index))
    return path, Path(path).stat().st_size


def write_truth(crawl_dir: Path, truth: list[dict]) -> None:
    """ground_truth.jsonl, sorted by kind and URL."""
    lines = (json.dumps(row, sort_keys=True, ensure_ascii=False) for row in
             sorted(truth, key=lambda r: (r["kind"], r["url"])))
    (crawl_dir / TRUTH_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def near_summary(truth: list[dict]) -> dict[str, dict[str, float]]:
    """Per target: number of pairs and min/mean/max of the actual Jaccard."""
    out = {}
    near = [r for r in truth if r["kind"] == "near"]
    for target in sorted({r["target_jaccard"] for r in near}):
        values = [r["actual_jaccard"] for r in near if r["target_jaccard"] == target]
        out[str(target)] = {"pairs": len(values), "min": min(values), "max": max(values),
                            "mean": round(sum(values) / len(values), 4)}
    return out
