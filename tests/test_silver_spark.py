"""Silver on Spark: the filter chain over bronze, kept and rejected rows, balance and reruns."""
from __future__ import annotations

from pyspark.sql import functions as F

from contract.tables import SILVER_DOCUMENTS, SILVER_REJECTS, table_uri
from spark_jobs.bronze import run_bronze
from core.filters.chain import ChainConfig, run_chain
from core.filters.language_id import LanguageIdParams
from spark_jobs.silver import run_silver, silver_balance
from core.warc.extract import extract_file
from tests.conftest import WARC_2020, WET_REPAIRED

CRAWL = "CC-MAIN-2016-50"


def _table(spark, lake_root, name):
    return spark.read.format("delta").load(table_uri(lake_root, name)).where(F.col("snapshot") == CRAWL)


def test_silver_matches_the_pure_chain_and_balances(spark, lake_root):
    run_bronze(spark, lake_root, CRAWL, [str(WET_REPAIRED), str(WARC_2020)])
    result = run_silver(spark, lake_root, CRAWL)
    assert result.documents_in == 68 + 16
    assert result.kept + result.rejected == result.documents_in
    assert silver_balance(spark, lake_root, CRAWL) == {"bronze": 84, "silver": result.kept,
                                                      "rejects": result.rejected}
    # Same decisions as the pure chain on the same documents, one by one.
    expected = {}
    for path in (WET_REPAIRED, WARC_2020):
        for doc in extract_file(str(path), CRAWL):
            if isinstance(doc, dict):
                expected[doc["doc_id"]] = run_chain(doc["text"], doc["url"]).reason
    rejects = {r.doc_id: r.reason for r in _table(spark, lake_root, SILVER_REJECTS).collect()}
    kept = _table(spark, lake_root, SILVER_DOCUMENTS).collect()
    assert {d: r for d, r in expected.items() if r is not None} == rejects
    assert {r.doc_id for r in kept} == {d for d, r in expected.items() if r is None}
    assert all(r.language == "en" and r.language_score >= 0.65 for r in kept)
    assert all(r.gopher_quality__n_words >= 50 for r in kept)
    assert result.by_reason.get("language.not_kept", 0) + result.by_reason.get(
        "language.low_score", 0) > 0
    funnel = result.funnel()
    assert [s for s, _, _ in funnel][:2] == ["url", "language"]
    assert funnel[-1][2] == result.kept


def test_silver_rerun_and_config_change_rewrite_only_this_crawl(spark, lake_root):
    run_bronze(spark, lake_root, CRAWL, [str(WET_REPAIRED)])
    run_bronze(spark, lake_root, "CC-MAIN-2020-34", [str(WARC_2020)])
    run_silver(spark, lake_root, "CC-MAIN-2020-34")
    other = _rows(spark, lake_root, "CC-MAIN-2020-34")
    first = run_silver(spark, lake_root, CRAWL)
    again = run_silver(spark, lake_root, CRAWL)
    assert (first.kept, first.rejected) == (again.kept, again.rejected)
    # Keeping every language keeps at least as many documents, and the other crawl is untouched.
    wider = run_silver(spark, lake_root, CRAWL, ChainConfig(params={"language": LanguageIdParams(languages=None)}))
    assert wider.kept >= first.kept and wider.by_language.keys() >= {"en"}
    assert _rows(spark, lake_root, "CC-MAIN-2020-34") == other


def _rows(spark, lake_root, crawl):
    return sorted(r.doc_id for r in spark.read.format("delta")
                  .load(table_uri(lake_root, SILVER_DOCUMENTS)).where(F.col("snapshot") == crawl)
                  .union(spark.read.format("delta").load(table_uri(lake_root, SILVER_REJECTS))
                         .where(F.col("snapshot") == crawl).select(*spark.read.format("delta")
                         .load(table_uri(lake_root, SILVER_DOCUMENTS)).columns)).collect())


def test_silver_fineweb2_preset_carries_language_script_and_derives_missing_thresholds(spark, lake_root):
    """The fineweb2 preset on Spark: language and script columns, labels above 0.01 as a map, the
    word tokenizer; English (no FineWeb2 config) listed gets a threshold derived from the crawl."""
    from core.filters.fineweb2.preset import fineweb2_chain_config

    run_bronze(spark, lake_root, CRAWL, [str(WET_REPAIRED), str(WARC_2020)])
    config = fineweb2_chain_config(languages=["eng_Latn", "fra_Latn", "rus_Cyrl"])
    result = run_silver(spark, lake_root, CRAWL, config)
    assert result.kept + result.rejected == result.documents_in == 84
    assert set(result.derived_thresholds) == {"eng_Latn"}  # French and Russian have FineWeb2's
    eng = result.derived_thresholds["eng_Latn"]
    assert eng["n_docs"] > 0 and 0.3 <= eng["threshold"] <= 0.9
    assert [s for s, _, _ in result.funnel()][:5] == ["url", "language", "gopher_repetition",
                                                      "fineweb_quality", "gopher_quality"]
    assert "c4" not in {r.split(".")[0] for r in result.by_reason}
    rows = _table(spark, lake_root, SILVER_DOCUMENTS).union(
        _table(spark, lake_root, SILVER_REJECTS).select(*_table(spark, lake_root, SILVER_DOCUMENTS).columns)
    ).where(F.col("language").isNotNull()).collect()
    assert rows and all(r.script for r in rows)  # lid.176 labels mapped to FineWeb2's names
    english = [r for r in rows if r.language == "eng"]
    assert english and all(r.script == "Latn" and r.word_tokenizer == "english" for r in english)
    assert all(r.language_top[f"{r.language}_{r.script}"] == r.language_score for r in rows)
    assert result.by_word_tokenizer.get("english", 0) >= len(english)
    kept = _table(spark, lake_root, SILVER_DOCUMENTS).collect()
    assert all(f"{r.language}_{r.script}" in {"eng_Latn", "fra_Latn", "rus_Cyrl"} for r in kept)
    assert set(result.by_language) <= {"eng_Latn", "fra_Latn", "rus_Cyrl"}
