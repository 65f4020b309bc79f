"""Crawl listings, file selection, crawl ids, Common Crawl's crawl list and the new-crawl sensor."""
from __future__ import annotations

import gzip
import json

import pytest

from contract.tables import validate_crawl_id
from core.io.listing import Selection, listing_uri, parse_listing, read_listing, select_paths
from resources.crawl_catalog import (
    CrawlCatalogResource, CrawlListError, crawls_to_add, list_crawls, parse_collinfo,
)
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


COLLINFO = [{"id": "CC-MAIN-2025-33", "name": "August 2025 Index"},
            {"id": "CC-MAIN-2024-33", "name": "August 2024 Index"},
            {"id": "CC-MAIN-2023-50"}, {"id": "CC-MAIN-2019-04"}, {"id": "other"}, {"name": "no id"}]


def write_collinfo(path, entries=COLLINFO):
    path.write_text(json.dumps(entries))
    return str(path)


def test_collinfo_and_mirror_listings_give_crawl_ids_oldest_first(tmp_path):
    crawls, ignored = parse_collinfo(json.dumps(COLLINFO).encode(), "collinfo.json")
    assert crawls == ["CC-MAIN-2025-33", "CC-MAIN-2024-33", "CC-MAIN-2023-50", "CC-MAIN-2019-04"]
    assert ignored == 2
    assert list_crawls(write_collinfo(tmp_path / "collinfo.json")) == (
        ["CC-MAIN-2019-04", "CC-MAIN-2023-50", "CC-MAIN-2024-33", "CC-MAIN-2025-33"], 2)
    mirror = tmp_path / "mirror"
    for crawl in ["CC-MAIN-2024-33", "CC-MAIN-2025-33", "CC-MAIN-2019-04"]:
        (mirror / "crawl-data" / crawl).mkdir(parents=True)
    (mirror / "crawl-data" / "not-a-crawl").mkdir()
    assert list_crawls(str(mirror)) == (["CC-MAIN-2019-04", "CC-MAIN-2024-33", "CC-MAIN-2025-33"], 0)


def test_an_unreadable_crawl_list_is_a_clear_error(tmp_path):
    missing = tmp_path / "collinfo.json"
    with pytest.raises(CrawlListError, match=f"cannot read the crawl list at {missing}: .*No such"):
        list_crawls(str(missing))
    (tmp_path / "bad.json").write_text("<html>rate limited</html>")
    with pytest.raises(CrawlListError, match="bad.json is not JSON"):
        list_crawls(str(tmp_path / "bad.json"))
    (tmp_path / "dict.json").write_text('{"id": "CC-MAIN-2024-33"}')
    with pytest.raises(CrawlListError, match="dict.json is not a crawl list"):
        list_crawls(str(tmp_path / "dict.json"))
    with pytest.raises(CrawlListError, match="without crawl-data/: not a crawl mirror"):
        list_crawls(str(tmp_path))


def test_which_crawls_the_sensor_adds():
    listed = ["CC-MAIN-2019-04", "CC-MAIN-2023-50", "CC-MAIN-2024-33", "CC-MAIN-2025-33"]
    # An empty instance: the newest alone, not a backfill of every crawl ever published.
    assert crawls_to_add(listed, set()) == ["CC-MAIN-2025-33"]
    assert crawls_to_add(listed, {"CC-MAIN-SAMPLE"}) == ["CC-MAIN-2025-33"]  # the sample is no crawl
    # Otherwise crawls newer than every registered one.
    assert crawls_to_add(listed, {"CC-MAIN-2023-50"}) == ["CC-MAIN-2024-33", "CC-MAIN-2025-33"]
    assert crawls_to_add(listed, {"CC-MAIN-2025-33"}) == []
    # With a minimum: every crawl from it on that is not registered, older gaps included.
    assert crawls_to_add(listed, {"CC-MAIN-2024-33"}, "CC-MAIN-2020-01") == [
        "CC-MAIN-2023-50", "CC-MAIN-2025-33"]


def _sensor_context(instance, **catalog):
    from dagster import build_sensor_context

    return build_sensor_context(instance=instance,
                                resources={"crawl_catalog": CrawlCatalogResource(**catalog)})


def test_sensor_registers_new_crawls_and_requests_their_runs_oldest_first(tmp_path):
    from dagster import DagsterInstance

    from orchestration.sensors import new_crawl_sensor
    from resources.partitions import crawl_partitions

    uri = write_collinfo(tmp_path / "collinfo.json")
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, ["CC-MAIN-2023-50"])
        with _sensor_context(instance, collinfo_uri=uri) as context:
            result = new_crawl_sensor(context)
        assert result.dynamic_partitions_requests[0].partitions_def_name == crawl_partitions.name
        assert result.dynamic_partitions_requests[0].partition_keys == [
            "CC-MAIN-2024-33", "CC-MAIN-2025-33"]
        assert [(r.partition_key, r.run_key) for r in result.run_requests] == [
            ("CC-MAIN-2024-33", "CC-MAIN-2024-33"), ("CC-MAIN-2025-33", "CC-MAIN-2025-33")]
        assert all(r.tags["refinery/trigger"] == "new_crawl_sensor" for r in result.run_requests)

        instance.add_dynamic_partitions(crawl_partitions.name, ["CC-MAIN-2024-33", "CC-MAIN-2025-33"])
        with _sensor_context(instance, collinfo_uri=uri) as context:
            skipped = new_crawl_sensor(context)
        assert skipped.skip_reason.skip_message == f"no new crawl among the 4 listed at {uri}"

        with _sensor_context(instance, collinfo_uri=uri, min_crawl="CC-MAIN-2019-01") as context:
            older = new_crawl_sensor(context)
        assert [r.partition_key for r in older.run_requests] == ["CC-MAIN-2019-04"]


def test_sensor_fails_its_tick_with_the_reason_when_the_list_is_unreadable(tmp_path):
    from dagster import DagsterInstance

    from orchestration.sensors import new_crawl_sensor

    missing = str(tmp_path / "nowhere" / "collinfo.json")
    with DagsterInstance.ephemeral() as instance:
        with _sensor_context(instance, collinfo_uri=missing) as context:
            with pytest.raises(CrawlListError, match=f"cannot read the crawl list at {missing}"):
                new_crawl_sensor(context)
        with _sensor_context(instance, collinfo_uri=write_collinfo(tmp_path / "c.json"),
                             min_crawl="2024-33") as context:
            with pytest.raises(ValueError, match="'2024-33' is not a crawl id"):
                new_crawl_sensor(context)
        assert instance.get_dynamic_partitions("crawls") == []


def test_the_catalog_reads_common_crawls_list_unless_told_otherwise():
    from dagster import EnvVar

    from orchestration.definitions import build_definitions

    catalog = build_definitions({}).resources["crawl_catalog"]
    assert catalog.collinfo_uri == "https://index.commoncrawl.org/collinfo.json"
    assert (catalog.min_crawl, catalog.scheduled_crawls) == ("", "newest")
    catalog = build_definitions({"REFINERY_COLLINFO_URI": "/srv/collinfo.json"}).resources[
        "crawl_catalog"]
    assert isinstance(catalog.collinfo_uri, EnvVar)
    assert catalog.collinfo_uri.env_var_name == "REFINERY_COLLINFO_URI"
