"""The embedded sample crawl (`CC-MAIN-SAMPLE`, built by `make run`) and the helpers the benchmark
corpus builder shares with it (see docs/sample_crawl.md).

Modules: `text_sources` (real text read from Python and Babel), `pages/` (one module per kind of
page), `rendering` (themes and page template), `mutation` (word replacement for near duplicates),
`similarity` (dedup's Jaccard on extracted text), `crawl_layout` (Common Crawl paths and listings),
`ground_truth`, `mirror` (writing and the build marker) and `bench_corpus/` (the benchmark corpus
from Debian documentation).
"""
from sample_crawl.mirror import BUILDER_VERSION, build_sample_mirror

__all__ = ["BUILDER_VERSION", "build_sample_mirror"]
