"""Bronze extraction on Spark over the real Common Crawl fixtures."""
from __future__ import annotations

from pyspark.sql import functions as F

from contract.tables import BRONZE_DOCUMENTS, BRONZE_ERRORS, BRONZE_SKIPS, MANIFEST, table_uri
from core.warc.extract import ExtractionConfig
from spark_jobs import manifest
from spark_jobs.bronze import bronze_balance, run_bronze, trace_url, unlisted_paths
from tests.bronze_fixtures import CONFIG, EXPECTED, write_every_outcome_warc
from tests.conftest import WARC_2020, WET_LF_ONLY, WET_REPAIRED, WHIRLWIND_WARC, WHIRLWIND_WET
from tests.test_bronze_batches import fastwarc_record_types


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
    assert {r.content_type_source for r in rows} == {"http"}
    assert result.records_by_type == {"metadata": 16, "request": 17, "response": 16, "warcinfo": 1}
    assert result.skip_rows == 0 and result.record_errors == 0


def test_bronze_on_repaired_wet_gives_68_documents(spark, lake_root):
    result = run_bronze(spark, lake_root, "CC-MAIN-2016-50", [str(WET_REPAIRED)])
    assert result.documents == 68
    assert result.outcomes[0].status == "done"
    assert result.outcomes[0].n_conversions == 68 and result.outcomes[0].n_records == 69
    rows = _docs(spark, lake_root, "CC-MAIN-2016-50").collect()
    assert {(r.extractor, r.content_type_source) for r in rows} == {("wet", "warc_record")}


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
    assert _paths_in(spark, lake_root, BRONZE_SKIPS, crawl) == set()
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


def _register_run_record(spark, lake_root, snapshot, paths, config=ExtractionConfig()):
    manifest.register_files(spark, lake_root, snapshot, [str(p) for p in paths], "warc")
    result = run_bronze(spark, lake_root, snapshot, [str(p) for p in paths], config)
    manifest.record_outcomes(spark, lake_root, snapshot, result.outcomes)
    return result


def _manifest_rows(spark, lake_root, snapshot):
    frame = spark.read.format("delta").load(table_uri(lake_root, MANIFEST))
    return {r.path: r for r in frame.where(F.col("snapshot") == snapshot).collect()}


def test_every_response_of_the_real_fixtures_is_accounted_for_file_by_file(spark, lake_root):
    files = [WARC_2020, WET_REPAIRED, WET_LF_ONLY, WHIRLWIND_WARC, WHIRLWIND_WET]
    _register_run_record(spark, lake_root, "CC-MAIN-2020-34", files)
    balance = bronze_balance(spark, lake_root, "CC-MAIN-2020-34")
    assert balance.passed and balance.unbalanced == [] and balance.files == len(files)
    assert balance.rows_in_bronze == balance.documents_in_manifest == 16 + 68 + 68 + 1 + 1
    rows = _manifest_rows(spark, lake_root, "CC-MAIN-2020-34")
    for path in files:
        row, read = rows[str(path)], fastwarc_record_types(path if path != WET_LF_ONLY else WET_REPAIRED)
        assert (row.n_records, row.n_responses, row.n_conversions) == (
            sum(read.values()), read["response"], read["conversion"]), path
        assert row.n_responses + row.n_conversions == row.n_documents + row.n_skipped + row.n_record_errors


def test_a_file_with_every_outcome_balances_and_says_where_each_url_went(spark, lake_root, tmp_path):
    path = str(write_every_outcome_warc(tmp_path / "every.warc.gz"))
    result = _register_run_record(spark, lake_root, "CC-MAIN-2024-33", [path], CONFIG)
    assert (result.documents, result.skip_rows, result.record_errors) == (2, 5, 1)
    assert result.skipped["record_type.request"] == 8
    (outcome,) = result.outcomes
    assert (outcome.n_responses, outcome.n_skipped, outcome.n_record_errors) == (8, 5, 1)
    balance = bronze_balance(spark, lake_root, "CC-MAIN-2024-33")
    assert balance.passed and (balance.skip_rows, balance.record_error_rows) == (5, 1)

    for url, (table, reason, status) in EXPECTED.items():
        (where,) = trace_url(spark, lake_root, "CC-MAIN-2024-33", url)
        assert (where["table"], where["reason"], where["warc_path"]) == (table, reason, path), url
        assert where["offset"] > 0 and where["record_id"].startswith("<urn:uuid:")
    skips = {r.url: r for r in spark.read.format("delta").load(table_uri(lake_root, BRONZE_SKIPS))
             .collect()}
    assert {u: (r.reason, r.http_status) for u, r in skips.items()} == {
        u: (reason, status) for u, (table, reason, status) in EXPECTED.items() if table == "skips"}
    assert (skips["https://every.example/report.pdf"].content_type,
            skips["https://every.example/report.pdf"].content_type_source) == ("application/pdf", "http")
    docs = {r.url: r.content_type_source for r in _docs(spark, lake_root, "CC-MAIN-2024-33").collect()}
    assert docs == {"https://every.example/article": "http", "https://every.example/sniffed": "sniffed"}
    assert trace_url(spark, lake_root, "CC-MAIN-2024-33", "https://every.example/never-fetched") == []


def test_the_balance_names_a_file_whose_skip_rows_went_missing(spark, lake_root, tmp_path):
    from delta.tables import DeltaTable

    path = str(write_every_outcome_warc(tmp_path / "every.warc.gz"))
    _register_run_record(spark, lake_root, "CC-MAIN-2024-33", [path, str(WARC_2020)], CONFIG)
    DeltaTable.forPath(spark, table_uri(lake_root, BRONZE_SKIPS)).delete(
        F.col("url") == "https://every.example/blank")
    balance = bronze_balance(spark, lake_root, "CC-MAIN-2024-33")
    assert not balance.passed
    assert balance.rows_in_bronze == balance.documents_in_manifest  # the documents still agree
    (bad,) = balance.unbalanced
    assert (bad["warc_path"], bad["skip_rows"], bad["n_skipped"]) == (path, 4, 5)


def test_a_lake_written_before_the_new_columns_takes_them(spark, lake_root):
    crawl = "CC-MAIN-2020-34"
    _register_run_record(spark, lake_root, crawl, [WHIRLWIND_WARC])
    old = {MANIFEST: ["n_records", "n_responses", "n_conversions", "n_skipped", "n_record_errors"],
           BRONZE_DOCUMENTS: ["content_type_source"], BRONZE_ERRORS: ["record_type", "url"]}
    for table, dropped in old.items():  # rewrite each table as the previous version had it
        uri = table_uri(lake_root, table)
        frame = spark.read.format("delta").load(uri).drop(*dropped)
        frame.localCheckpoint().write.format("delta").mode("overwrite").partitionBy("snapshot") \
            .option("overwriteSchema", "true").save(uri)
    assert "content_type_source" not in spark.read.format("delta").load(
        table_uri(lake_root, BRONZE_DOCUMENTS)).columns

    _register_run_record(spark, lake_root, crawl, [WHIRLWIND_WARC, WARC_2020])
    assert bronze_balance(spark, lake_root, crawl).passed
    docs = _docs(spark, lake_root, crawl).collect()
    assert len(docs) == 17 and {r.content_type_source for r in docs} == {"http"}


def test_the_staging_directory_of_side_rows_is_gone_after_a_run(spark, lake_root):
    from pathlib import Path

    from spark_jobs.bronze_side_rows import STAGING_DIR

    result = run_bronze(spark, lake_root, "CC-MAIN-2016-50", [str(WET_LF_ONLY), str(WARC_2020)])
    assert result.documents == 68 + 16
    staging = Path(lake_root) / STAGING_DIR / "CC-MAIN-2016-50"
    assert not staging.exists() or not any(staging.iterdir())


def test_a_task_whose_side_rows_are_lost_fails_the_run_by_name(spark, lake_root, monkeypatch):
    import pytest

    from spark_jobs import bronze

    original = bronze.make_extract_batches

    def lose_side_rows(paths, snapshot, config, staging, s3_settings=None):  # written elsewhere
        return original(paths, snapshot, config, staging + "-elsewhere", s3_settings)

    monkeypatch.setattr(bronze, "make_extract_batches", lose_side_rows)
    with pytest.raises(RuntimeError, match="no side rows"):
        run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020)])


def test_a_killed_runs_staging_directory_is_removed_by_the_next_run(spark, lake_root):
    from pathlib import Path

    from spark_jobs.bronze_side_rows import STAGING_DIR, new_staging_dir, write_side_rows

    left = new_staging_dir(lake_root, "CC-MAIN-2020-34")  # what a killed run leaves
    write_side_rows(left, 0, [])
    other = new_staging_dir(lake_root, "CC-MAIN-2016-50")  # another crawl's: not touched
    write_side_rows(other, 0, [])
    result = run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020)])
    assert result.documents == 16 and result.stale_staging_removed == 1
    assert not any((Path(lake_root) / STAGING_DIR / "CC-MAIN-2020-34").iterdir())
    assert Path(other).is_dir()
