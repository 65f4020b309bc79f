"""The embedded default end to end: every asset of the pipeline on the sample crawl, in Dagster, checked
against the sample's own ground truth (docs/sample_crawl.md).

What the ground truth fixes exactly is asserted exactly: the documents bronze extracts, the pages
silver must reject (built to fail), the exact copies dedup removes (copies of a page silver kept) and
the near duplicates it removes (the clusters of documents silver kept whose dedup Jaccard reaches the
verification threshold). Which of the clean articles silver's quality filters reject is not fixed by
construction, so the test reads it from silver's output instead of hard-coding a number.
"""
from __future__ import annotations

import json
from pathlib import Path

from dagster import DagsterInstance, materialize

from contract.tables import DEDUP_REMOVED, SAMPLE_CRAWL_ID, SILVER_DOCUMENTS, SILVER_REJECTS, table_uri
from orchestration.definitions import ASSET_MODULES
from resources import CrawlSourceResource, LakeResource, RayResource, SparkResource
from resources.partitions import crawl_partitions
from sample_crawl.ground_truth import GROUND_TRUTH_FILE
from sample_crawl.mirror import N_FILES
from spark_jobs.dedup.job import DedupConfig


def _all_assets_and_checks():
    from dagster import load_asset_checks_from_modules, load_assets_from_modules

    return [*load_assets_from_modules(ASSET_MODULES), *load_asset_checks_from_modules(ASSET_MODULES)]


class _Clusters:
    """Union-find over URLs: which pages the ground truth says belong together."""

    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, url: str) -> str:
        self.parent.setdefault(url, url)
        while self.parent[url] != url:
            self.parent[url] = self.parent[self.parent[url]]
            url = self.parent[url]
        return url

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def removals(self, members: set[str]) -> int:
        """Documents a deduplicator removes among `members`: all but one of each cluster."""
        return len(members) - len({self.find(url) for url in members})


def expected_dedup(truth: dict, kept: set[str], threshold: float) -> tuple[_Clusters, int, int]:
    """(clusters, exact removals, near removals) among the documents silver kept."""
    clusters = _Clusters()
    for pair in truth["exact_duplicates"]:
        clusters.union(pair["url"], pair["duplicate_of"])
    exact = clusters.removals(kept)
    for pair in truth["similar_document_pairs"]:
        if pair["jaccard_5gram"] >= threshold and {pair["url_a"], pair["url_b"]} <= kept:
            clusters.union(pair["url_a"], pair["url_b"])
    return clusters, exact, clusters.removals(kept) - exact


def _rows(spark, lake_root: str, table: str, *columns: str) -> list:
    return spark.read.format("delta").load(table_uri(lake_root, table)).select(*columns).collect()


def test_sample_crawl_through_the_whole_pipeline(spark, tmp_path, lake_root):
    sample_dir = tmp_path / "sample"
    resources = {"spark": SparkResource(), "ray": RayResource(), "lake": LakeResource(root=lake_root),
                 "crawl_source": CrawlSourceResource(sample_dir=str(sample_dir))}
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [SAMPLE_CRAWL_ID])
        result = materialize(_all_assets_and_checks(), partition_key=SAMPLE_CRAWL_ID,
                             instance=instance, resources=resources,
                             run_config={"ops": {"warc_manifest": {"config": {"selection": "all"}},
                                                 # a smaller PreSelect sample than make run's: the
                                                 # model stages have their own tests
                                                 "preselect_model": {"config": {"sample_size": 48,
                                                                                "max_chars": 400}}}})
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    meta = {e.event_specific_data.materialization.asset_key.to_user_string():
            e.event_specific_data.materialization.metadata
            for e in result.get_asset_materialization_events()}
    truth = json.loads((sample_dir / "crawl-data" / SAMPLE_CRAWL_ID / GROUND_TRUTH_FILE)
                       .read_text(encoding="utf-8"))

    assert meta["warc_manifest"]["selected"].value == N_FILES
    n_documents = truth["n_documents_expected"]
    assert meta["bronze_documents"]["documents"].value == n_documents

    silver = meta["silver_documents"]
    kept = {row.url for row in _rows(spark, lake_root, SILVER_DOCUMENTS, "url")}
    rejected = {row.url: row.reason for row in _rows(spark, lake_root, SILVER_REJECTS, "url", "reason")}
    assert silver["documents_in"].value == n_documents == len(kept) + len(rejected)
    assert (silver["kept"].value, silver["rejected"].value) == (len(kept), len(rejected))
    must_fail = {p["url"]: p["expected_reject"] for p in truth["pages"] if p["expected_reject"]}
    assert set(must_fail) <= set(rejected)
    assert all(rejected[url].startswith("language.")
               for url, cause in must_fail.items() if cause == "not_english")
    # The near-duplicate families (bases and copies) are clean prose: silver keeps them all, or the
    # dedup assertions below would test little.
    family = {url for p in truth["near_duplicates"] for url in (p["url"], p["near_dup_of"])}
    assert family <= kept

    dedup = meta["dedup_documents"]
    clusters, exact_removed, near_removed = expected_dedup(truth, kept, DedupConfig().verify_threshold)
    assert dedup["documents_in"].value == len(kept)
    assert dedup["exact_removed"].value == exact_removed
    assert dedup["near_removed"].value == near_removed
    assert dedup["kept"].value == len(kept) - exact_removed - near_removed
    url_of = {row.doc_id: row.url for row in _rows(spark, lake_root, SILVER_DOCUMENTS, "doc_id", "url")}
    for row in _rows(spark, lake_root, DEDUP_REMOVED, "url", "duplicate_of"):
        assert clusters.find(row.url) == clusters.find(url_of[row.duplicate_of]), row.url

    # The crawl report, last in the job: the same numbers as the stages, written under the lake.
    report_meta = meta["crawl_report"]
    stages = report_meta["documents_by_stage"].value
    assert stages == {
        "bronze_documents": n_documents, "silver_documents": len(kept),
        "dedup_documents": dedup["kept"].value, "quality_scores": dedup["kept"].value,
        "refined_documents": stages["refined_documents"],
        "training_shards": meta["training_shards"]["kept"].value}
    assert 0 < stages["refined_documents"] <= dedup["kept"].value
    assert report_meta["shard_tokens"].value == meta["training_shards"]["total_tokens"].value
    report_dir = Path(lake_root) / "reports" / SAMPLE_CRAWL_ID
    page = (report_dir / "report.md").read_text(encoding="utf-8")
    assert page.startswith(f"# {SAMPLE_CRAWL_ID}") and "![documents at every stage](funnel.png)" in page
    reasons = {}
    for reason in rejected.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    top = max(reasons, key=lambda r: (reasons[r], r))
    assert f"| `{top}` | {reasons[top]:,} |" in page
    for chart in ("funnel", "rejects"):
        assert (report_dir / f"{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "data:image/png;base64," in report_meta["report"].value
