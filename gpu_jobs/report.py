"""Gather a crawl's report from the lake's Delta tables with delta-rs and write it under the lake root.

Reads only what the report shows: row counts come from the Parquet footers of the crawl's partition
files; characters (n_chars, an integer column: tokens before the shards are estimated from them),
the shards' exact tokens, reasons and scores are streamed one column at a time in record batches, so a crawl of any
size is reported in bounded memory. No Ray runtime is needed (the same delta-rs reading as the Ray
stages). The page and charts are written to `<lake>/reports/<crawl>/` (local paths and any URI
pyarrow's filesystems know), charts first and the page last.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from contract.tables import (
    BRONZE_DOCUMENTS, BRONZE_ERRORS, DEDUP_DOCUMENTS, DEDUP_REMOVED, MANIFEST, REFINED_DOCUMENTS,
    SCORES_PRESELECT, SHARDS_DOCUMENTS, SHARDS_MANIFEST, SILVER_DOCUMENTS, SILVER_REJECTS, table_uri,
)
from core.report.crawl_report import (
    CrawlReport, StageCount, estimated_tokens, render_charts, render_markdown, score_histogram,
)
from gpu_jobs.delta_io import _filesystem, partition_files

REPORTS_DIR = "reports"
CHART_NAMES = {"funnel", "tokens", "rejects", "scores"}  # what core.report.crawl_report.render_charts can draw
STAGES = (  # (asset, table) in pipeline order
    ("bronze_documents", BRONZE_DOCUMENTS),
    ("silver_documents", SILVER_DOCUMENTS),
    ("dedup_documents", DEDUP_DOCUMENTS),
    ("quality_scores", SCORES_PRESELECT),
    ("refined_documents", REFINED_DOCUMENTS),
    ("training_shards", SHARDS_DOCUMENTS),
)


def _dataset(lake_uri: str, table: str, crawl: str):
    """The crawl's partition of `table` as a pyarrow dataset, or None when it has no files."""
    import pyarrow.dataset as ds

    files = partition_files(table_uri(lake_uri, table), crawl)
    if not files:
        return None
    filesystem, _ = _filesystem(files[0])
    return ds.dataset([_filesystem(f)[1] for f in files], filesystem=filesystem, format="parquet")


def _column_batches(dataset, column: str):
    for batch in dataset.to_batches(columns=[column], batch_size=65_536):
        yield batch.column(0)


def _value_counts(dataset, column: str) -> dict[str, int]:
    counts: Counter = Counter()
    for array in _column_batches(dataset, column):
        for item in array.value_counts().to_pylist():
            counts[item["values"] if item["values"] is not None else "(null)"] += item["counts"]
    return dict(counts)


def _sum(dataset, column: str) -> int:
    import pyarrow.compute as pc

    return sum(int(pc.sum(array).as_py() or 0) for array in _column_batches(dataset, column))


def _stage_count(lake_uri: str, stage: str, table: str, crawl: str) -> StageCount:
    """Rows and characters (n_chars) of a document table's partition, tokens estimated from them."""
    dataset = _dataset(lake_uri, table, crawl)
    if dataset is None:
        return StageCount(stage, table, None)
    characters = _sum(dataset, "n_chars") if "n_chars" in dataset.schema.names else None
    return StageCount(stage, table, dataset.count_rows(), characters, estimated_tokens(characters))


def _shards_count(lake_uri: str, crawl: str) -> StageCount:
    """Documents with at least one copy in the shards, and the exact tokens of every copy."""
    import pyarrow.compute as pc

    dataset = _dataset(lake_uri, SHARDS_DOCUMENTS, crawl)
    if dataset is None:
        return StageCount("training_shards", SHARDS_DOCUMENTS, None)
    documents = tokens = 0
    for batch in dataset.to_batches(columns=["repetitions", "n_tokens"], batch_size=65_536):
        repetitions = pc.fill_null(batch.column(0), 0).cast("int64")
        documents += int(pc.sum(pc.greater(repetitions, 0)).as_py() or 0)
        tokens += int(pc.sum(pc.multiply(repetitions, pc.fill_null(batch.column(1), 0))).as_py() or 0)
    return StageCount("training_shards", SHARDS_DOCUMENTS, documents, None, tokens, tokens_exact=True)


def collect_report(lake_uri: str, crawl: str) -> CrawlReport:
    import numpy as np
    import pyarrow.compute as pc

    report = CrawlReport(crawl=crawl)
    manifest = _dataset(lake_uri, MANIFEST, crawl)
    if manifest is not None:
        report.files_by_status = _value_counts(manifest, "status")
        report.files_selected = sum(report.files_by_status.values())
    for stage, table in STAGES:
        report.stages.append(_shards_count(lake_uri, crawl) if table == SHARDS_DOCUMENTS
                             else _stage_count(lake_uri, stage, table, crawl))
    for table, target in ((BRONZE_ERRORS, report.bronze_errors_by_reason),
                          (SILVER_REJECTS, report.silver_rejects_by_reason),
                          (DEDUP_REMOVED, report.dedup_removed_by_reason)):
        dataset = _dataset(lake_uri, table, crawl)
        if dataset is not None:
            target.update(_value_counts(dataset, "reason"))
    scores = _dataset(lake_uri, SCORES_PRESELECT, crawl)
    if scores is not None:
        histogram = np.zeros(10, dtype=np.int64)
        for array in _column_batches(scores, "score"):
            histogram += score_histogram(array.to_numpy(zero_copy_only=False))
        report.score_histogram = histogram.tolist()
        report.selected = sum(int(pc.sum(pc.cast(a, "int64")).as_py() or 0)
                              for a in _column_batches(scores, "selected"))
    refined = _dataset(lake_uri, REFINED_DOCUMENTS, crawl)
    if refined is not None:
        report.refined_by_action = _value_counts(refined, "action")
    shards = _dataset(lake_uri, SHARDS_MANIFEST, crawl)
    if shards is not None:
        rows = shards.to_table(columns=["n_documents", "n_tokens"])
        report.shards = rows.num_rows
        report.shard_documents = int(pc.sum(rows.column("n_documents")).as_py() or 0)
        report.shard_tokens = int(pc.sum(rows.column("n_tokens")).as_py() or 0)
    return report


@dataclass(frozen=True)
class WrittenReport:
    directory: str  # URI or path of reports/<crawl>
    markdown: str  # the page
    files: tuple[str, ...]  # every file written, the page last
    charts: dict  # chart name -> PNG bytes


def write_report(lake_uri: str, report: CrawlReport) -> WrittenReport:
    """Write `<lake>/reports/<crawl>/{funnel,rejects,scores}.png` and `report.md` (linking them)."""
    directory = f"{lake_uri.rstrip('/')}/{REPORTS_DIR}/{report.crawl}"
    from pyarrow.fs import FileType

    filesystem, base = _filesystem(directory)
    filesystem.create_dir(base, recursive=True)
    charts = render_charts(report)
    written = []
    for name, png in charts.items():
        with filesystem.open_output_stream(f"{base}/{name}.png") as out:
            out.write(png)
        written.append(f"{directory}/{name}.png")
    for stale in CHART_NAMES - set(charts):  # a chart of an earlier run whose data is gone now
        path = f"{base}/{stale}.png"
        if filesystem.get_file_info(path).type != FileType.NotFound:
            filesystem.delete_file(path)
    markdown = render_markdown(report, {name: f"{name}.png" for name in charts})
    with filesystem.open_output_stream(f"{base}/report.md") as out:
        out.write(markdown.encode("utf-8"))
    written.append(f"{directory}/report.md")
    return WrittenReport(directory, markdown, tuple(written), charts)
