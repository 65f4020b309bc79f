"""Crawl partitions: one dynamic partition per Common Crawl snapshot (`CC-MAIN-2024-33`)."""
from __future__ import annotations

from dagster import DynamicPartitionsDefinition

from contract.tables import validate_crawl_id

crawl_partitions = DynamicPartitionsDefinition(name="crawls")


def add_crawls(instance, crawl_ids: list[str]) -> list[str]:
    """Validate and register crawl ids; returns the ones that were new."""
    for crawl_id in crawl_ids:
        validate_crawl_id(crawl_id)
    existing = set(instance.get_dynamic_partitions(crawl_partitions.name))
    new = [c for c in dict.fromkeys(crawl_ids) if c not in existing]
    if new:
        instance.add_dynamic_partitions(crawl_partitions.name, new)
    return new
