"""The crawl report from tables written with delta-rs: counts from the partition only, reasons and
score histogram streamed, stages that did not run said so, charts as PNG, rewritten on rerun."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from contract.tables import (
    DEDUP_DOCUMENTS, DEDUP_REMOVED, SCORES_PRESELECT, SILVER_DOCUMENTS, SILVER_REJECTS, table_uri,
)
from core.report.crawl_report import CrawlReport, StageCount, render_markdown, score_histogram
from gpu_jobs.report import collect_report, write_report

A, B = "CC-MAIN-2024-10", "CC-MAIN-2024-18"


def _write(lake: str, table: str, crawl: str, **columns) -> None:
    n = len(next(iter(columns.values())))
    data = pa.table({"doc_id": [f"{crawl}-{i}" for i in range(n)], "snapshot": [crawl] * n, **columns})
    write_deltalake(table_uri(lake, table), data, mode="append", partition_by=["snapshot"])


def test_score_histogram_bins_edges_and_nan():
    assert score_histogram([0.0, 0.05, 0.1, 0.95, 1.0, float("nan")]) == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_report_of_one_crawl_reads_only_its_partition(tmp_path):
    lake = str(tmp_path / "lake")
    for crawl, n_silver in ((A, 5), (B, 50)):  # B's rows must not leak into A's report
        _write(lake, SILVER_DOCUMENTS, crawl, text=["x"] * n_silver)
        _write(lake, SILVER_REJECTS, crawl, reason=["gopher_quality.word_count"] * 3 + ["url.banned_domain"])
    _write(lake, DEDUP_DOCUMENTS, A, text=["x"] * 4)
    _write(lake, DEDUP_REMOVED, A, reason=["dedup.exact"])
    scores = np.array([0.05, 0.5, 0.55, 0.99])
    _write(lake, SCORES_PRESELECT, A, score=scores, selected=scores > 0.5)

    report = collect_report(lake, A)
    assert {s.stage: s.documents for s in report.stages} == {
        "bronze_documents": None, "silver_documents": 5, "dedup_documents": 4, "quality_scores": 4,
        "refined_documents": None, "training_shards": None}
    assert report.silver_rejects_by_reason == {"gopher_quality.word_count": 3, "url.banned_domain": 1}
    assert report.dedup_removed_by_reason == {"dedup.exact": 1}
    assert report.score_histogram == [1, 0, 0, 0, 0, 2, 0, 0, 0, 1] and report.selected == 2
    assert report.shard_tokens is None and report.files_selected is None

    written = write_report(lake, report)
    directory = Path(lake) / "reports" / A
    assert written.files[-1] == f"{lake}/reports/{A}/report.md"
    page = (directory / "report.md").read_text(encoding="utf-8")
    assert "| bronze_documents | `bronze/documents` | no rows (not run?) |" in page
    assert "1 of 5 silver documents removed as duplicates (20.0%)" in page
    assert "4 documents scored, 2 selected (50.0%)" in page and "![score histogram](scores.png)" in page
    assert {p.name for p in directory.iterdir()} == {"report.md", "funnel.png", "rejects.png", "scores.png"}

    # A rerun without scores drops the stale chart and its link.
    report.score_histogram = None
    write_report(lake, report)
    assert not (directory / "scores.png").exists()
    assert "## PreSelect scores\n\nnot run" in (directory / "report.md").read_text(encoding="utf-8")


def test_reasons_beyond_the_top_are_summed_and_shares_guard_zero():
    report = CrawlReport(crawl=A, stages=[StageCount("bronze_documents", "bronze/documents", 0)],
                         silver_rejects_by_reason={f"r{i:02d}": 100 - i for i in range(20)})
    page = render_markdown(report)
    assert "| `r00` | 100 |" in page and "| `r15` |" not in page
    assert f"| (other) | {sum(100 - i for i in range(15, 20)):,} |" in page
    assert "| bronze_documents | `bronze/documents` | 0 |  |" in page  # no share of an empty bronze


def test_documents_and_tokens_at_every_stage_estimates_labelled_shards_exact(tmp_path):
    from contract.tables import BRONZE_DOCUMENTS, SHARDS_DOCUMENTS, SHARDS_MANIFEST

    from core.report.crawl_report import CHARS_PER_TOKEN

    lake = str(tmp_path / "lake")
    _write(lake, BRONZE_DOCUMENTS, A, n_chars=pa.array([4_000, 2_000, 1_000, 3_000], pa.int64()))
    _write(lake, SILVER_DOCUMENTS, A, n_chars=pa.array([4_000, 2_001], pa.int64()))
    _write(lake, DEDUP_DOCUMENTS, A, n_chars=pa.array([4_000], pa.int64()))
    _write(lake, DEDUP_DOCUMENTS, B, n_chars=pa.array([9_999_999], pa.int64()))  # another crawl
    # Two documents: one left out, one in twice (3 tokens of text + end-of-document, per copy).
    _write(lake, SHARDS_DOCUMENTS, A, repetitions=pa.array([0, 2], pa.int32()),
           n_tokens=pa.array([None, 4], pa.int64()))
    write_deltalake(table_uri(lake, SHARDS_MANIFEST), pa.table({
        "snapshot": [A], "n_documents": pa.array([2], pa.int64()), "n_tokens": pa.array([8], pa.int64())}),
        partition_by=["snapshot"])

    report = collect_report(lake, A)
    stages = {s.stage: s for s in report.stages}
    assert CHARS_PER_TOKEN == 4.0
    assert (stages["bronze_documents"].characters, stages["bronze_documents"].tokens) == (10_000, 2_500)
    assert stages["silver_documents"].tokens == 1_500  # 6,001 / 4 rounded
    assert (stages["dedup_documents"].characters, stages["dedup_documents"].tokens) == (4_000, 1_000)
    assert not any(stages[s].tokens_exact for s in ("bronze_documents", "silver_documents", "dedup_documents"))
    shards = stages["training_shards"]
    assert (shards.documents, shards.tokens, shards.tokens_exact) == (1, 8, True)
    assert shards.tokens == report.shard_tokens  # the manifest's total
    assert stages["refined_documents"].tokens is None

    written = write_report(lake, report)
    page = written.markdown
    assert "| bronze_documents | `bronze/documents` | 4 | 100.0% | 10,000 | ≈2,500 | 100.0% |" in page
    assert "| dedup_documents | `dedup/documents` | 1 | 25.0% | 4,000 | ≈1,000 | 40.0% |" in page
    assert "| training_shards | `shards/documents` | 1 | 25.0% |  | 8 | 0.3% |" in page
    assert "`≈` marks an estimate, characters / 4" in page and "tokens are exact" in page
    assert "![tokens at every stage](tokens.png)" in page and "tokens" in written.charts
