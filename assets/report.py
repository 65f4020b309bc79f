"""`crawl_report`: the crawl's report, markdown with PNG charts under `<lake>/reports/<crawl>/`.

Downstream of every stage, so it runs last in the crawl job; it reads the tables (not the other
assets' metadata), so it also reports a crawl whose stages ran in other jobs or by hand.
"""

import base64

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.crawl_range import CRAWL_BACKFILL_POLICY, for_each_crawl
from core.report.crawl_report import render_markdown
from gpu_jobs.report import collect_report, write_report
from resources import LakeResource
from resources.partitions import crawl_partitions


@asset(
    partitions_def=crawl_partitions,
    deps=["bronze_documents", "silver_documents", "dedup_documents", "training_shards"],
    group_name="reports",
    kinds={"delta"},
    backfill_policy=CRAWL_BACKFILL_POLICY,
    description="Documents at every stage, why documents left (bronze errors, silver rejects, duplicates), "
                "PreSelect's score histogram, ProX's actions and the shard totals of one crawl, as "
                "reports/<crawl>/report.md with PNG charts under the lake root.",
)
def crawl_report(context: AssetExecutionContext, lake: LakeResource):
    yield from for_each_crawl(context, lambda crawl: _report_of_crawl(context, lake, crawl))


def _report_of_crawl(context, lake: LakeResource, crawl: str):
    report = collect_report(lake.uri, crawl)
    written = write_report(lake.uri, report)
    context.log.info(f"{crawl}: report written to {written.directory}/report.md")
    inline = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
              for name, png in written.charts.items()}  # the UI cannot read files under the lake
    stage_counts = {s.stage: s.documents for s in report.stages if s.documents is not None}
    stage_tokens = {s.stage: s.tokens for s in report.stages if s.tokens is not None}
    yield MaterializeResult(metadata={
        "report": MetadataValue.md(render_markdown(report, inline)),
        "report_path": MetadataValue.path(f"{written.directory}/report.md"),
        "documents_by_stage": MetadataValue.json(stage_counts),
        # estimated (characters / 4) before training_shards, exact (the shards tokenizer's) there
        "tokens_by_stage": MetadataValue.json(stage_tokens),
        "shard_tokens": report.shard_tokens if report.shard_tokens is not None else 0,
    })
