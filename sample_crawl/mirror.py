"""Writing the CC-MAIN-SAMPLE mirror: WARC files through `core.warc.writer`, the paths listing,
the ground truth and the build marker, built once per builder version and moved into place whole.

    dest/crawl-data/CC-MAIN-SAMPLE/warc.paths.gz          gzip text, one relative WARC path a line
    dest/crawl-data/CC-MAIN-SAMPLE/segments/<seg>/warc/CC-MAIN-...-0000N.warc.gz   (4 files)
    dest/crawl-data/CC-MAIN-SAMPLE/ground_truth.json      what every URL is, and which are duplicates
    dest/crawl-data/CC-MAIN-SAMPLE/_BUILT                 marker with the builder version
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from contract.tables import SAMPLE_CRAWL_ID
from core.warc.writer import Page, write_warc
from sample_crawl.crawl_layout import assign_to_files, warc_relative_paths, write_paths_file
from sample_crawl.ground_truth import (
    GROUND_TRUTH_FILE, document_shingles, ground_truth, measure_near_duplicates, similar_document_pairs,
    truth_row,
)
from sample_crawl.pages import SamplePage, sample_pages

# Bump when the content or layout changes: a mirror with another version is rebuilt.
# 3: dedup's Jaccard, similar_document_pairs, expected_reject (the WARC files are those of 2).
BUILDER_VERSION = "3"
MARKER = "_BUILT"
SEED = 20240803
CRAWL_START = dt.datetime(2024, 8, 3, 0, 31, 22, tzinfo=dt.timezone.utc)
N_FILES = 4
SEGMENTS = ("1722640350571.10", "1722640351012.42")
SECONDS_BETWEEN_FETCHES = 7


def build_sample_mirror(dest: Path) -> Path:
    """Build the CC-MAIN-SAMPLE mirror under `dest` (once per builder version); return `dest`.

    The crawl directory is written next to its final place and renamed into it, so a reader never
    sees half a mirror and a crashed build leaves nothing that looks finished.
    """
    dest = Path(dest)
    crawl_dir = dest / "crawl-data" / SAMPLE_CRAWL_ID
    if is_built(crawl_dir):
        return dest
    staging = crawl_dir.with_name(f".{SAMPLE_CRAWL_ID}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        write_crawl(staging, SAMPLE_CRAWL_ID)
        if crawl_dir.exists() and not is_built(crawl_dir):
            shutil.rmtree(crawl_dir)  # an older version or a foreign partial directory
        try:
            os.rename(staging, crawl_dir)
        except OSError:
            if not is_built(crawl_dir):  # lost a race to a concurrent builder: fine if it finished
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def is_built(crawl_dir: Path) -> bool:
    """Whether `crawl_dir` holds a finished build of the current builder version."""
    try:
        return json.loads((crawl_dir / MARKER).read_text())["builder_version"] == BUILDER_VERSION
    except (OSError, ValueError, KeyError, TypeError):
        return False


def write_crawl(crawl_dir: Path, crawl_id: str) -> None:
    """Every file of the crawl into `crawl_dir`, the marker last."""
    pages = sample_pages()
    shingle_sets = document_shingles(pages)
    measure_near_duplicates(pages, shingle_sets)
    relative = warc_relative_paths(crawl_id, N_FILES, SEGMENTS, CRAWL_START)
    rows, moment = [], CRAWL_START
    for rel_path, group in zip(relative, assign_to_files(pages, N_FILES, SEED)):
        records = []
        for page in group:
            moment += dt.timedelta(seconds=SECONDS_BETWEEN_FETCHES)
            records.append(_warc_page(page, moment))
            rows.append(truth_row(page, rel_path, moment))
        write_warc(crawl_dir / Path(rel_path).relative_to(f"crawl-data/{crawl_id}"), crawl_id,
                   records, records[0].fetch_time)
    write_paths_file(crawl_dir / "warc.paths.gz", relative)
    truth = ground_truth(rows, similar_document_pairs(shingle_sets), crawl_id, BUILDER_VERSION)
    text = json.dumps(truth, indent=1, sort_keys=True, ensure_ascii=False)
    (crawl_dir / GROUND_TRUTH_FILE).write_text(text + "\n", encoding="utf-8")
    (crawl_dir / MARKER).write_text(json.dumps({"builder_version": BUILDER_VERSION}) + "\n")


def _warc_page(page: SamplePage, fetch_time: dt.datetime) -> Page:
    return Page(url=page.url, body=page.body, fetch_time=fetch_time, status=page.status,
                content_type=page.content_type, extra_headers=page.extra_headers)
