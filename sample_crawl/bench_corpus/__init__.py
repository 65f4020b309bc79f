"""The benchmark corpus (CC-MAIN-BENCH): real pages of Debian documentation in Common Crawl's layout,
with exact, near and cycle duplicates of known similarity. `bench/build_corpus.py` is its CLI.

`doc_sources` finds the installed pages, `plan` decides every page and its ground truth, `write`
writes the WARC files, the paths listing and the ground truth.
"""
from sample_crawl.bench_corpus.doc_sources import (
    APT_PACKAGES, DOC_SOURCES, DocSource, RealPage, apt_command, discover_pages, missing_sources,
)
from sample_crawl.bench_corpus.plan import NEAR_TARGETS, PageSpec, Plan, plan_corpus
from sample_crawl.bench_corpus.write import (
    CRAWL_ID, near_summary, write_corpus, write_truth,
)

__all__ = ["APT_PACKAGES", "CRAWL_ID", "DOC_SOURCES", "DocSource", "NEAR_TARGETS", "PageSpec", "Plan",
           "RealPage", "apt_command", "discover_pages", "missing_sources", "near_summary",
           "plan_corpus", "write_corpus", "write_truth"]
