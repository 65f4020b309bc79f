"""Crawl partitions: one dynamic partition per Common Crawl snapshot (`CC-MAIN-2024-33`)."""
from __future__ import annotations

from dagster import DynamicPartitionsDefinition

from contract.tables import validate_crawl_id

crawl_partitions = DynamicPartitionsDefinition(name="crawls")


def add_crawls(instance, crawl_ids: list[str]) -> list[str]:
    """Validate and register crawl ids; returns the ones that were new, oldest first.

    Dynamic partitions keep the order they were added in, and the UI lists and backfills them in
    that order; new ones are added oldest first so that order is the crawls' as far as it can be.
    """
    for crawl_id in crawl_ids:
        validate_crawl_id(crawl_id)
    existing = set(instance.get_dynamic_partitions(crawl_partitions.name))
    new = sorted(c for c in set(crawl_ids) if c not in existing)
    if new:
        instance.add_dynamic_partitions(crawl_partitions.name, new)
    return new


def remove_crawl(instance, crawl_id: str) -> None:
    """Unregister a crawl (the CLI's undo of a registration whose first run found no crawl)."""
    instance.delete_dynamic_partition(crawl_partitions.name, crawl_id)
