"""The embedded sample crawl (`CC-MAIN-SAMPLE`, built by `make run`) and the helpers the benchmark
corpus builder shares with it."""
from sample_crawl.build import build_sample_mirror

__all__ = ["build_sample_mirror"]
