"""Read a crawl's `warc.paths.gz` / `wet.paths.gz` listing and select files from it (pure)."""
from __future__ import annotations

import gzip
import io
import random
from dataclasses import dataclass

from core.io.remote import open_uri

KINDS = ("warc", "wet")
SELECTION_MODES = ("first", "sample", "all")

# Common Crawl's HTTPS host; `s3://commoncrawl/` or a local mirror directory work the same way.
COMMON_CRAWL_HTTPS = "https://data.commoncrawl.org/"


@dataclass(frozen=True)
class Selection:
    mode: str = "first"  # first N | seeded random sample of N | all
    n: int = 1
    seed: int = 42

    def __post_init__(self) -> None:
        if self.mode not in SELECTION_MODES:
            raise ValueError(f"selection mode must be one of {SELECTION_MODES}, got {self.mode!r}")
        if self.mode != "all" and self.n < 1:
            raise ValueError(f"selection needs n >= 1, got {self.n}")


def join_uri(base: str, relative: str) -> str:
    return base.rstrip("/") + "/" + relative.lstrip("/")


def listing_uri(base: str, crawl_id: str, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return join_uri(base, f"crawl-data/{crawl_id}/{kind}.paths.gz")


def parse_listing(data: bytes) -> list[str]:
    """Relative paths of a listing (gzip or plain text), blank lines dropped."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return [line.strip() for line in io.StringIO(data.decode("utf-8")) if line.strip()]


def read_listing(base: str, crawl_id: str, kind: str) -> list[str]:
    uri = listing_uri(base, crawl_id, kind)
    try:
        with open_uri(uri) as stream:
            return parse_listing(stream.read())
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"no {kind} listing for {crawl_id} at {uri}: is the crawl id right and the base "
            f"({base}) a Common Crawl host, bucket or mirror?"
        ) from exc


def select_paths(paths: list[str], selection: Selection) -> list[str]:
    """The files to process, in listing order (so the same selection gives the same files)."""
    if selection.mode == "all" or selection.n >= len(paths):
        return list(paths)
    if selection.mode == "first":
        return paths[: selection.n]
    chosen = set(random.Random(selection.seed).sample(range(len(paths)), selection.n))
    return [p for i, p in enumerate(paths) if i in chosen]
