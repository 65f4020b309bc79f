"""The new-crawl sensor: registers crawls Common Crawl has published and asks for their runs.

It reads the crawl list of the `crawl_catalog` resource (Common Crawl's collinfo.json by default,
REFINERY_COLLINFO_URI to point it elsewhere) every 6 hours, registers the crawls `crawls_to_add`
picks as partitions, and requests one run per crawl, oldest first (a crawl is deduplicated against
the crawls before it, so those should run first). The run key is the crawl id: a crawl is
requested once, however often it is listed. Off by default: turn it on in the UI.

A list that cannot be read fails the tick with the reason (shown on the sensor's page in the UI)
and is tried again at the next one; nothing is registered or run meanwhile.
"""
from __future__ import annotations

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from orchestration.jobs import crawl_pipeline_job
from resources.crawl_catalog import CrawlCatalogResource, crawls_to_add
from resources.partitions import crawl_partitions

SENSOR_TAG = {"refinery/trigger": "new_crawl_sensor"}


@sensor(job=crawl_pipeline_job, minimum_interval_seconds=6 * 3600,
        default_status=DefaultSensorStatus.STOPPED,
        description="Registers crawls newly listed in Common Crawl's collinfo.json as partitions "
                    "and runs the pipeline for each (resource crawl_catalog).")
def new_crawl_sensor(context: SensorEvaluationContext, crawl_catalog: CrawlCatalogResource):
    registered = set(context.instance.get_dynamic_partitions(crawl_partitions.name))
    available, ignored = crawl_catalog.available_crawls()
    if ignored:
        context.log.warning(f"{crawl_catalog.collinfo_uri}: {ignored} entries are not crawl ids "
                            "and were ignored")
    fresh = crawls_to_add(available, registered, crawl_catalog.checked_min_crawl())
    if not fresh:
        return SensorResult(skip_reason=f"no new crawl among the {len(available)} listed at "
                                        f"{crawl_catalog.collinfo_uri}")
    context.log.info(f"new crawls: {', '.join(fresh)}")
    return SensorResult(
        dynamic_partitions_requests=[crawl_partitions.build_add_request(fresh)],
        run_requests=[RunRequest(partition_key=c, run_key=c, tags=SENSOR_TAG) for c in fresh],
    )
