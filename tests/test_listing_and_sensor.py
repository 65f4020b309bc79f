"""Crawl listings, file selection, crawl ids, and the new-crawl sensor's pure parts."""
from __future__ import annotations

import gzip
import json

import pytest

from contract.tables import validate_crawl_id
from orchestration.sensors import list_crawls, new_crawls, parse_collinfo
from core.io.listing import Selection, listing_uri, parse_listing, read_listing, select_paths
from tests.conftest import COMMONCRAWL

REAL_LISTING = COMMONCRAWL / "CC-MAIN-2025-33.warc.paths.gz"


def test_real_listing_parses_100k_paths():
    paths = parse_listing(REAL_LISTING.read_bytes())
    assert len(paths) == 100_000
    assert all(p.startswith("crawl-data/CC-MAIN-2025-33/segments/") for p in paths[:100])
    assert paths[0].endswith(".warc.gz")


def test_selection_first_sample_all_are_deterministic():
    paths = parse_listing(REAL_LISTING.read_bytes())
    assert select_paths(paths, Selection("first", 3)) == paths[:3]
    sample = select_paths(paths, Selection("sample", 25, seed=7))
    assert sample == select_paths(paths, Selection("sample", 25, seed=7))
    assert sample != select_paths(paths, Selection("sample", 25, seed=8))
    assert len(sample) == 25 and sample == sorted(sample, key=paths.index)
    assert len(select_paths(paths, Selection("all"))) == 100_000
    with pytest.raises(ValueError):
        Selection("newest", 3)


def test_read_listing_from_a_local_mirror_and_a_clear_error_when_absent(tmp_path):
    crawl_dir = tmp_path / "crawl-data" / "CC-MAIN-2025-33"
    crawl_dir.mkdir(parents=True)
    (crawl_dir / "wet.paths.gz").write_bytes((COMMONCRAWL / "CC-MAIN-2025-33.wet.paths.gz").read_bytes())
    assert len(read_listing(str(tmp_path), "CC-MAIN-2025-33", "wet")) == 100_000
    with pytest.raises(FileNotFoundError, match="no warc listing for CC-MAIN-2025-33"):
        read_listing(str(tmp_path), "CC-MAIN-2025-33", "warc")
    assert listing_uri("s3://commoncrawl/", "CC-MAIN-2025-33", "wet") == \
        "s3://commoncrawl/crawl-data/CC-MAIN-2025-33/wet.paths.gz"


def test_crawl_ids_are_validated():
    assert validate_crawl_id("CC-MAIN-2024-33") == "CC-MAIN-2024-33"
    assert validate_crawl_id("CC-MAIN-SAMPLE") == "CC-MAIN-SAMPLE"
    for bad in ["CC-MAIN-24-33", "cc-main-2024-33", "2024-33", ""]:
        with pytest.raises(ValueError, match="not a crawl id"):
            validate_crawl_id(bad)


def test_sensor_finds_new_crawls_in_collinfo_and_in_a_mirror(tmp_path):
    collinfo = json.dumps([{"id": "CC-MAIN-2024-33", "name": "August 2024"},
                           {"id": "CC-MAIN-2023-50"}, {"id": "CC-MAIN-2025-33"}, {"id": "other"}])
    assert parse_collinfo(collinfo.encode()) == ["CC-MAIN-2024-33", "CC-MAIN-2023-50",
                                                 "CC-MAIN-2025-33"]
    for crawl in ["CC-MAIN-2024-33", "CC-MAIN-2025-33", "CC-MAIN-2019-04"]:
        (tmp_path / "crawl-data" / crawl).mkdir(parents=True)
    available = list_crawls(str(tmp_path))
    assert available == ["CC-MAIN-2019-04", "CC-MAIN-2024-33", "CC-MAIN-2025-33"]
    assert new_crawls(available, {"CC-MAIN-2024-33"}, "CC-MAIN-2024-01") == ["CC-MAIN-2025-33"]


def test_sensor_adds_new_crawls_as_partitions_and_requests_their_runs(tmp_path):
    from dagster import DagsterInstance, build_sensor_context

    from resources.partitions import crawl_partitions
    from resources import CrawlSourceResource
    from orchestration.sensors import new_crawl_sensor

    for crawl in ["CC-MAIN-2023-50", "CC-MAIN-2024-33", "CC-MAIN-2025-33"]:
        (tmp_path / "crawl-data" / crawl).mkdir(parents=True)
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, ["CC-MAIN-2024-33"])
        with build_sensor_context(instance=instance, resources={
                "crawl_source": CrawlSourceResource(base_uri=str(tmp_path))}) as context:
            result = new_crawl_sensor(context)
        assert [r.partition_key for r in result.run_requests] == ["CC-MAIN-2025-33"]
        assert result.dynamic_partitions_requests[0].partition_keys == ["CC-MAIN-2025-33"]
        with build_sensor_context(instance=instance, resources={
                "crawl_source": CrawlSourceResource(base_uri=str(tmp_path / "nowhere"))}) as context:
            skipped = new_crawl_sensor(context)
        assert "cannot list crawls" in skipped.skip_reason.skip_message
