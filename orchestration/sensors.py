"""A sensor that adds new crawls as partitions and asks for their runs.

It reads the list of crawls from the crawl source: Common Crawl's `collinfo.json` for its HTTPS host
(or any base that has one), else the `crawl-data/CC-MAIN-*` directories of a local mirror. Off by
default: turn it on in the UI once the source is set. Crawls before `min_crawl` are ignored so that
turning it on does not start a backfill of a decade of crawls.
"""

import json
import os
from pathlib import Path

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from contract.tables import CRAWL_ID_PATTERN
from orchestration.jobs import crawl_pipeline_job
from resources.partitions import crawl_partitions
from resources import CrawlSourceResource
from core.io.listing import join_uri
from core.io.remote import open_uri

MIN_CRAWL = os.environ.get("REFINERY_MIN_CRAWL", "CC-MAIN-2024-01")


def parse_collinfo(data: bytes) -> list[str]:
    """Crawl ids from Common Crawl's collinfo.json (a list of {"id": "CC-MAIN-...", ...})."""
    return [item["id"] for item in json.loads(data) if CRAWL_ID_PATTERN.match(item.get("id", ""))]


def list_crawls(base: str) -> list[str]:
    """Crawl ids available at a crawl source, oldest first."""
    local = None if "://" in base else Path(base)
    if local is not None and (local / "crawl-data").is_dir():
        found = [p.name for p in (local / "crawl-data").iterdir() if CRAWL_ID_PATTERN.match(p.name)]
    else:
        with open_uri(join_uri(base, "collinfo.json")) as stream:
            found = parse_collinfo(stream.read())
    return sorted(set(found))


def new_crawls(available: list[str], known: set[str], min_crawl: str = MIN_CRAWL) -> list[str]:
    return [c for c in available if c not in known and c >= min_crawl]


@sensor(job=crawl_pipeline_job, minimum_interval_seconds=6 * 3600,
        default_status=DefaultSensorStatus.STOPPED,
        description="Adds crawls newer than REFINERY_MIN_CRAWL as partitions and runs them.")
def new_crawl_sensor(context: SensorEvaluationContext, crawl_source: CrawlSourceResource):
    known = set(context.instance.get_dynamic_partitions(crawl_partitions.name))
    try:
        available = list_crawls(crawl_source.base_uri)
    except Exception as exc:  # an unreachable source is a skip, retried at the next tick
        return SensorResult(skip_reason=f"cannot list crawls at {crawl_source.base_uri}: {exc}")
    fresh = new_crawls(available, known)
    if not fresh:
        return SensorResult(skip_reason=f"no new crawl among {len(available)} listed")
    return SensorResult(
        dynamic_partitions_requests=[crawl_partitions.build_add_request(fresh)],
        run_requests=[RunRequest(partition_key=c, run_key=c) for c in fresh],
    )
