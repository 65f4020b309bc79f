"""Which crawls exist and which ones the schedule runs: the new-crawl sensor's and the weekly
schedule's settings, and the pure rules both apply.

Common Crawl lists its crawls in `collinfo.json` on its index server (newest first, one
`{"id": "CC-MAIN-2025-33", "name": ...}` per crawl). The catalog reads it from any URI `open_uri`
reads (https://, s3://, a local file); a local directory is read as a mirror in Common Crawl's
layout, whose crawls are its `crawl-data/CC-MAIN-*` directories.
"""
from __future__ import annotations

import json
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from contract.tables import CRAWL_ID_PATTERN, validate_crawl_id
from core.io.remote import open_uri

COLLINFO_URI = "https://index.commoncrawl.org/collinfo.json"  # Common Crawl's list of crawls
NEWEST = "newest"


class CrawlListError(RuntimeError):
    """The crawl list could not be read or is not a crawl list."""


def parse_collinfo(data: bytes, source: str) -> tuple[list[str], int]:
    """(crawl ids, entries ignored) of a collinfo.json; entries whose id is not a crawl id (the
    index server lists nothing else today) are ignored and counted."""
    try:
        entries = json.loads(data)
    except ValueError as exc:
        raise CrawlListError(f"{source} is not JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise CrawlListError(f"{source} is not a crawl list: a JSON list of {{\"id\": ...}} expected")
    ids = [e.get("id") for e in entries if isinstance(e, dict)]
    crawls = [i for i in ids if isinstance(i, str) and CRAWL_ID_PATTERN.match(i)]
    return crawls, len(entries) - len(crawls)


def _mirror_crawls(root: Path) -> list[str]:
    return [p.name for p in (root / "crawl-data").iterdir() if CRAWL_ID_PATTERN.match(p.name)]


def list_crawls(uri: str) -> tuple[list[str], int]:
    """(crawl ids oldest first, entries ignored) listed at `uri`. Raises CrawlListError saying
    where and why when the list cannot be read."""
    local = None if "://" in uri else Path(uri)
    if local is not None and local.is_dir():
        if not (local / "crawl-data").is_dir():
            raise CrawlListError(f"{uri} is a directory without crawl-data/: not a crawl mirror")
        return sorted(set(_mirror_crawls(local))), 0
    try:
        with open_uri(uri) as stream:
            data = stream.read()
    except (OSError, ValueError) as exc:
        raise CrawlListError(f"cannot read the crawl list at {uri}: {exc}") from exc
    crawls, ignored = parse_collinfo(data, uri)
    return sorted(set(crawls)), ignored


def _real_crawls(crawl_ids) -> list[str]:
    """Common Crawl ids only (not the embedded sample), oldest first."""
    return sorted(c for c in crawl_ids if CRAWL_ID_PATTERN.match(c))


def crawls_to_add(available: list[str], registered: set[str], min_crawl: str = "") -> list[str]:
    """The listed crawls the sensor registers and runs, oldest first.

    With `min_crawl`, every unregistered crawl from it on. Without, only crawls newer than every
    registered one, and on an empty instance only the newest: turning the sensor on must not
    start a backfill of every crawl since 2008.
    """
    fresh = [c for c in _real_crawls(available) if c not in registered]
    if min_crawl:
        return [c for c in fresh if c >= min_crawl]
    known = _real_crawls(registered)
    if known:
        return [c for c in fresh if c > known[-1]]
    return fresh[-1:]


def scheduled_crawls(setting: str, registered: set[str]) -> list[str]:
    """The crawls a scheduled tick runs: `newest` (the newest registered crawl) or a comma-
    separated list of crawl ids, each of which must be registered."""
    if setting.strip() == NEWEST:
        return _real_crawls(registered)[-1:]
    wanted = [validate_crawl_id(c.strip()) for c in setting.split(",") if c.strip()]
    missing = [c for c in wanted if c not in registered]
    if missing:
        raise ValueError(f"scheduled crawls not registered as partitions: {', '.join(missing)} "
                         f"(register them with `refinery add-crawl {' '.join(missing)}`)")
    return sorted(dict.fromkeys(wanted))


class CrawlCatalogResource(ConfigurableResource):
    """Where the list of crawls comes from, from which crawl on the sensor adds them, and which
    crawls the weekly schedule runs."""

    collinfo_uri: str = Field(
        default=COLLINFO_URI,
        description="Common Crawl's collinfo.json (REFINERY_COLLINFO_URI through the Definitions): "
                    "any URI or local file, or a mirror directory (its crawl-data/CC-MAIN-*).")
    min_crawl: str = Field(
        default="",
        description="The sensor adds every unregistered crawl from this id on (REFINERY_MIN_CRAWL); "
                    "empty: only crawls newer than every registered one (the newest alone on an "
                    "empty instance).")
    scheduled_crawls: str = Field(
        default=NEWEST,
        description="What the weekly schedule runs (REFINERY_SCHEDULED_CRAWLS): 'newest' (the "
                    "newest registered crawl) or comma-separated crawl ids.")

    def available_crawls(self) -> tuple[list[str], int]:
        return list_crawls(self.collinfo_uri)

    def checked_min_crawl(self) -> str:
        return validate_crawl_id(self.min_crawl) if self.min_crawl else ""
