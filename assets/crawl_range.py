"""Several crawls in one step: the backfill policy of the crawl-partitioned assets and how a step
over a range of crawls runs and reports them.

With `BackfillPolicy.single_run()` a backfill launched from the UI over N crawls is one run, so one
process and one Spark session (and one Ray instance) for all of them, instead of one run, process and
JVM per crawl. Each asset's step then receives the crawls as a partition key range; it processes
them one at a time in crawl-id order (dedup compares a crawl with the crawls before it, so earlier
crawls must be done first), each exactly as a one-crawl run would, and reports them together: one
materialization whose metadata holds every crawl's numbers under `<crawl>.` (Dagster records one
materialization event per partition of the range, all with this metadata) and one result per asset
check that passes only when it passed for every crawl.

A one-crawl run (`refinery run`, the UI's Materialize of one partition) goes through the same code
and reports exactly what it reported before: the crawl's own metadata and check results.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from dagster import AssetCheckResult, BackfillPolicy, MaterializeResult, MetadataValue

# Every crawl-partitioned asset: a UI backfill over several crawls runs as one run (see above).
CRAWL_BACKFILL_POLICY = BackfillPolicy.single_run()


def crawls_of(context) -> list[str]:
    """The crawls of the step, oldest first (crawl ids sort in crawl order: CC-MAIN-YYYY-WW)."""
    return sorted(context.partition_keys)


def for_each_crawl(context, run_crawl: Callable[[str], Iterable]) -> Iterator:
    """Run `run_crawl(crawl)` (a generator of one MaterializeResult and AssetCheckResults) for every
    crawl of the step in order, and yield the merged results once all crawls are done."""
    crawls = crawls_of(context)
    if len(crawls) == 1:
        yield from run_crawl(crawls[0])
        return
    materializations: dict[str, MaterializeResult] = {}
    checks: dict[str, dict[str, AssetCheckResult]] = {}
    for crawl in crawls:
        context.log.info(f"crawl {crawl} ({crawls.index(crawl) + 1} of {len(crawls)})")
        for event in run_crawl(crawl):
            if isinstance(event, AssetCheckResult):
                checks.setdefault(event.check_name, {})[crawl] = event
            elif isinstance(event, MaterializeResult):
                materializations[crawl] = event
            else:
                raise TypeError(f"unexpected event {type(event).__name__} from crawl {crawl}")
    yield merge_materializations(materializations)
    for results in checks.values():
        yield merge_check_results(results)


def _prefixed(by_crawl: dict[str, dict]) -> dict:
    return {f"{crawl}.{key}": value for crawl, metadata in by_crawl.items()
            for key, value in (metadata or {}).items()}


def merge_materializations(by_crawl: dict[str, MaterializeResult]) -> MaterializeResult:
    """One materialization for the crawls of a range: each crawl's metadata under `<crawl>.`."""
    return MaterializeResult(metadata={
        "crawls": MetadataValue.json(sorted(by_crawl)),
        **_prefixed({crawl: result.metadata for crawl, result in sorted(by_crawl.items())}),
    })


def merge_check_results(by_crawl: dict[str, AssetCheckResult]) -> AssetCheckResult:
    """One check result for the crawls of a range: passed when every crawl passed; the crawls that
    failed are listed, each crawl's metadata is kept under `<crawl>.`."""
    first = next(iter(by_crawl.values()))
    failed = sorted(crawl for crawl, result in by_crawl.items() if not result.passed)
    return AssetCheckResult(
        check_name=first.check_name,
        asset_key=first.asset_key,
        passed=not failed,
        severity=first.severity,
        description=f"failed for {', '.join(failed)}" if failed else None,
        metadata={"crawls": MetadataValue.json(sorted(by_crawl)),
                  "failed_crawls": MetadataValue.json(failed),
                  **_prefixed({crawl: result.metadata for crawl, result in sorted(by_crawl.items())})},
    )
