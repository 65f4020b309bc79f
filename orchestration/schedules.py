"""The weekly schedule: the pipeline for the configured crawls, Mondays 06:00 UTC.

What it runs is the `crawl_catalog` resource's `scheduled_crawls` (REFINERY_SCHEDULED_CRAWLS):
`newest`, the newest registered crawl (default), or a comma-separated list of crawl ids, which must
be registered (a schedule cannot register partitions; the tick fails naming the missing ones). One
run per crawl, oldest first, with the assets' default config; the run key holds the tick's time, so
each tick runs each crawl once. Off by default: turn it on in the UI.
"""
from __future__ import annotations

from dagster import (
    DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule,
)

from orchestration.jobs import crawl_pipeline_job
from resources.crawl_catalog import CrawlCatalogResource, scheduled_crawls
from resources.partitions import crawl_partitions

WEEKLY = "0 6 * * 1"  # Mondays 06:00 UTC: Common Crawl publishes about monthly, any weekday
SCHEDULE_TAG = {"refinery/trigger": "weekly_crawl_schedule"}


@schedule(job=crawl_pipeline_job, cron_schedule=WEEKLY, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED,
          description="Runs the pipeline weekly for crawl_catalog.scheduled_crawls (default: the "
                      "newest registered crawl).")
def weekly_crawl_schedule(context: ScheduleEvaluationContext, crawl_catalog: CrawlCatalogResource):
    registered = set(context.instance.get_dynamic_partitions(crawl_partitions.name))
    crawls = scheduled_crawls(crawl_catalog.scheduled_crawls, registered)
    if not crawls:
        return SkipReason("no crawl registered yet: `refinery add-crawl CRAWL` or the "
                          "new_crawl_sensor registers one")
    tick = context.scheduled_execution_time.isoformat()
    return [RunRequest(partition_key=c, run_key=f"{c}@{tick}", tags=SCHEDULE_TAG) for c in crawls]
