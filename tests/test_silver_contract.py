"""The silver table contract: the filters' declared statistics are its columns, and the silver
job's batch function writes exactly its schemas (no Spark needed: the function is plain Arrow)."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from contract.tables import (
    BRONZE_SCHEMA, SILVER_REJECTS_SCHEMA, SILVER_SCHEMA, SILVER_STATISTICS_SCHEMA,
)
from core.filters.base import FilterResult, FilterStep, Statistic
from core.filters.chain import ChainConfig, statistics_schema
from core.filters.gopher_quality import GopherQualityParams
from core.filters.recipe import FINEWEB_RECIPE
from spark_jobs.silver import _DECIDED_SCHEMA, check_recipe_fits_contract, filter_batch
from tests.test_filters_chain import GOOD


def test_recipe_statistics_are_the_contract_columns():
    """A filter that adds, renames or retypes a statistic must change the contract too: the contract
    holds exactly the statistics of the two presets' recipes (FineWeb's, FineWeb2's), same types."""
    from core.filters.fineweb2.recipe import FINEWEB2_RECIPE

    declared = {}
    for recipe in (FINEWEB_RECIPE, FINEWEB2_RECIPE):
        for f in statistics_schema(recipe):
            assert declared.setdefault(f.name, f.type) == f.type, f.name
    assert dict(zip(SILVER_STATISTICS_SCHEMA.names, SILVER_STATISTICS_SCHEMA.types)) == declared
    # FineWeb's columns keep their order (FineWeb's recipe order)
    fineweb = statistics_schema(FINEWEB_RECIPE).names
    assert [n for n in SILVER_STATISTICS_SCHEMA.names if n in fineweb] == fineweb
    assert SILVER_SCHEMA.names == BRONZE_SCHEMA.names + SILVER_STATISTICS_SCHEMA.names
    assert SILVER_REJECTS_SCHEMA.names == SILVER_SCHEMA.names + ["reason", "error"]


def test_contract_imports_no_project_code():
    code = ("import sys, contract.tables; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'core', 'spark_jobs', 'gpu_jobs', 'assets', 'resources', 'orchestration', 'pyspark', 'ray', 'dagster'}); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_recipe_whose_statistics_do_not_fit_is_refused():
    check_recipe_fits_contract(ChainConfig())
    check_recipe_fits_contract(ChainConfig(recipe=FINEWEB_RECIPE[:3]))  # fewer steps: nulls
    extra = FilterStep(name="extra", params_type=GopherQualityParams,
                       statistics=(Statistic("extra.x", pa.float64()),),
                       apply=lambda doc, params: FilterResult(True))
    with pytest.raises(ValueError, match=r"extra__x .*no column"):
        check_recipe_fits_contract(ChainConfig(recipe=(*FINEWEB_RECIPE, extra)))


def _bronze(rows: list[dict]) -> pa.RecordBatch:
    when = datetime(2024, 8, 1, tzinfo=timezone.utc)
    full = [{"doc_id": f"<urn:{i}>", "snapshot": "CC-MAIN-2024-33", "domain": "example.com",
             "fetch_time": when, "warc_path": "x.warc.gz", "offset": i, "content_type": "text/html",
             "charset": "utf-8", "n_chars": len(r["text"] or ""), "extractor": "resiliparse", **r}
            for i, r in enumerate(rows)]
    return pa.RecordBatch.from_pylist(full, schema=BRONZE_SCHEMA)


def test_filter_batch_writes_the_contract_columns():
    bronze = _bronze([{"url": "https://library.example.com/", "text": GOOD},
                      {"url": "https://pornhub.com/", "text": GOOD}])
    out = filter_batch(bronze, ChainConfig())
    assert out.schema == _DECIDED_SCHEMA
    assert out.column("keep").to_pylist() == [True, False]
    assert out.column("reason").to_pylist() == [None, "url.banned_domain"]
    kept_text, dropped_text = out.column("text").to_pylist()
    assert "Menu" not in kept_text and dropped_text == GOOD  # rejects keep the bronze text
    assert out.column("n_chars").to_pylist() == [len(kept_text), len(GOOD)]
    assert out.column("language").to_pylist() == ["en", None]
    # switched off: the columns are still there, null
    off = filter_batch(bronze, ChainConfig(params={"gopher_quality": None}))
    assert off.schema == _DECIDED_SCHEMA and off.column("gopher_quality__n_words").null_count == 2
