"""Bronze extraction on Spark over the real Common Crawl fixtures."""
from __future__ import annotations

from pyspark.sql import functions as F

from contract.tables import BRONZE_DOCUMENTS, BRONZE_ERRORS, table_uri
from spark_jobs.bronze import run_bronze
from tests.conftest import WARC_2020, WET_LF_ONLY, WET_REPAIRED


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
