"""Bronze extraction on Spark over the real Common Crawl fixtures."""
from __future__ import annotations

from pyspark.sql import functions as F

from contract.tables import BRONZE_DOCUMENTS, BRONZE_ERRORS, table_uri
from core.warc.extract import ExtractionConfig
from spark_jobs import manifest
from spark_jobs.bronze import run_bronze, unlisted_paths
from tests.conftest import WARC_2020, WET_LF_ONLY, WET_REPAIRED, WHIRLWIND_WARC


def _docs(spark, lake_root, snapshot):
    return (spark.read.format("delta").load(table_uri(lake_root, BRONZE_DOCUMENTS))
            .where(F.col("snapshot") == snapshot))


def test_bronze_on_real_warc_gives_16_documents_with_urls_and_text(spark, lake_root):
    result = run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020)])
    assert result.documents == 16
    assert result.errors == 0
    assert result.skipped == {"record_type.metadata": 16, "record_type.request": 17,
                              "record_type.warcinfo": 1}
    rows = _docs(spark, lake_root, "CC-MAIN-2020-34").collect()
    assert len(rows) == 16
    assert all(r.text.strip() and r.n_chars == len(r.text) for r in rows)
    assert all(r.doc_id.startswith("<urn:uuid:") for r in rows)
    urls = {r.url for r in rows}
    assert "http://003338.cn/l41/481397.html" in urls
    assert all(r.domain and r.domain in r.url for r in rows)
    assert all(r.fetch_time.year == 2020 for r in rows)
    assert {r.extractor for r in rows} == {"resiliparse"}


def test_bronze_on_repaired_wet_gives_68_documents(spark, lake_root):
    result = run_bronze(spark, lake_root, "CC-MAIN-2016-50", [str(WET_REPAIRED)])
    assert result.documents == 68
    assert result.outcomes[0].status == "done"
    assert {r.extractor for r in _docs(spark, lake_root, "CC-MAIN-2016-50").collect()} == {"wet"}


def test_bronze_on_lf_only_wet_recovers_and_records_errors(spark, lake_root):
    result = run_bronze(spark, lake_root, "CC-MAIN-2016-50", [str(WET_LF_ONLY)])
    assert result.documents == 68  # every record recovered by the lenient reader
    assert result.errors_by_reason["warc.parse_error"] == 1
    assert result.errors_by_reason["warc.content_length_mismatch"] > 0
    errors = (spark.read.format("delta").load(table_uri(lake_root, BRONZE_ERRORS))
              .where(F.col("warc_path") == str(WET_LF_ONLY)).collect())
    assert len(errors) == result.errors
    assert all(e.reason and e.detail for e in errors)


def test_bronze_missing_and_empty_files_fail_alone(spark, lake_root, tmp_path):
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    missing = str(tmp_path / "missing.warc.gz")
    result = run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020), str(empty), missing])
    assert result.documents == 16
    status = {o.path: o for o in result.outcomes}
    assert status[str(WARC_2020)].status == "done"
    assert status[str(empty)].status == "failed" and status[str(empty)].error == "file.empty"
    assert status[missing].status == "failed" and status[missing].error == "file.missing"


def test_bronze_rerun_is_idempotent(spark, lake_root):
    run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020)])
    first = sorted(tuple(r) for r in _docs(spark, lake_root, "CC-MAIN-2020-34").collect())
    run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020)])
    second = sorted(tuple(r) for r in _docs(spark, lake_root, "CC-MAIN-2020-34").collect())
    assert first == second and len(first) == 16


def test_bronze_rewrites_only_its_own_crawl(spark, lake_root):
    run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020)])
    run_bronze(spark, lake_root, "CC-MAIN-2016-50", [str(WET_REPAIRED)])
    counts = {r.snapshot: r["count"] for r in spark.read.format("delta")
              .load(table_uri(lake_root, BRONZE_DOCUMENTS)).groupBy("snapshot").count().collect()}
    assert counts == {"CC-MAIN-2020-34": 16, "CC-MAIN-2016-50": 68}


def test_bronze_with_trafilatura_marks_its_documents(spark, lake_root):
    result = run_bronze(spark, lake_root, "CC-MAIN-2024-22", [str(WHIRLWIND_WARC)],
                        ExtractionConfig(extractor="trafilatura"))
    assert result.documents == 1
    (row,) = _docs(spark, lake_root, "CC-MAIN-2024-22").collect()
    assert row.extractor == "trafilatura" and "Escopete" in row.text


def _paths_in(spark, lake_root, table, snapshot):
    frame = spark.read.format("delta").load(table_uri(lake_root, table))
    return {r.warc_path for r in frame.where(F.col("snapshot") == snapshot).collect()}


def test_rows_of_files_the_manifest_no_longer_lists_are_removed_with_the_next_write(spark, lake_root):
    crawl, other = "CC-MAIN-2020-34", "CC-MAIN-2016-50"
    both = [str(WARC_2020), str(WET_LF_ONLY)]
    for snapshot in (crawl, other):
        manifest.register_files(spark, lake_root, snapshot, both, "warc")
        run_bronze(spark, lake_root, snapshot, both)
    assert unlisted_paths(spark, lake_root, crawl) == []

    counts = manifest.register_files(spark, lake_root, crawl, [str(WARC_2020)], "warc", reset=True)
    assert counts == {"selected": 1, "new": 0, "files_pending": 1}
    assert unlisted_paths(spark, lake_root, crawl) == [str(WET_LF_ONLY)]
    result = run_bronze(spark, lake_root, crawl, [], retire=unlisted_paths(spark, lake_root, crawl))
    assert result.retired_files == [str(WET_LF_ONLY)] and result.files == 0
    assert _paths_in(spark, lake_root, BRONZE_DOCUMENTS, crawl) == {str(WARC_2020)}
    assert _paths_in(spark, lake_root, BRONZE_ERRORS, crawl) == set()  # the LF file's errors went too
    assert _docs(spark, lake_root, crawl).count() == 16
    # The other crawl, and its manifest, are untouched.
    assert _paths_in(spark, lake_root, BRONZE_DOCUMENTS, other) == set(both)
    assert _paths_in(spark, lake_root, BRONZE_ERRORS, other) == {str(WET_LF_ONLY)}
    assert manifest.files_to_process(spark, lake_root, other, reprocess=True) == sorted(both)


def test_manifest_without_reset_adds_files_and_keeps_their_status(spark, lake_root):
    crawl = "CC-MAIN-2020-34"
    manifest.register_files(spark, lake_root, crawl, [str(WARC_2020)], "warc")
    manifest.record_outcomes(spark, lake_root, crawl, [
        manifest.FileOutcome(str(WARC_2020), "done", 16, 0, None)])
    counts = manifest.register_files(spark, lake_root, crawl, [str(WET_REPAIRED)], "warc")
    assert counts == {"selected": 1, "new": 1, "files_done": 1, "files_pending": 1}
    assert manifest.files_to_process(spark, lake_root, crawl) == [str(WET_REPAIRED)]
