"""The asset checks every document stage shares: schema equals the contract, unique doc_id, and
the keep rate (documents out / documents in) inside configured bounds.

A keep rate far outside what a stage does on a real crawl means a broken stage (a filter that lets
everything through or drops everything, a dedup key that collapses distinct texts), and the stages
after it would train on the result; the bounds are configured on each asset, and a bound of 0 (low)
or 1 (high) turns that side off. A crawl with fewer than `keep_rate_min_documents` documents in is
not judged (a test fixture or a sample of a few pages says little about a rate); the check then
passes and says so in its metadata.
"""
from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetCheckResult, MetadataValue

# Below this many documents in, a keep rate is not judged: a crawl sample of a single Common Crawl
# file has tens of thousands; the test fixtures and the embedded sample crawl have hundreds or fewer.
KEEP_RATE_MIN_DOCUMENTS = 1000


@dataclass(frozen=True)
class KeepRate:
    kept: int
    entered: int
    low: float  # 0: no lower bound
    high: float  # 1: no upper bound
    min_documents: int = KEEP_RATE_MIN_DOCUMENTS

    def __post_init__(self):
        if not 0.0 <= self.low <= self.high <= 1.0:
            raise ValueError(f"keep-rate bounds must satisfy 0 <= min <= max <= 1, got "
                             f"min {self.low}, max {self.high}")

    @property
    def rate(self) -> float | None:
        return self.kept / self.entered if self.entered else None

    @property
    def judged(self) -> bool:
        return self.entered > 0 and self.entered >= self.min_documents

    @property
    def passed(self) -> bool:
        return not self.judged or self.low <= self.rate <= self.high


def keep_rate_result(check_name: str, keep: KeepRate, rule: str) -> AssetCheckResult:
    rate = keep.rate
    metadata = {"keep_rate": round(rate, 6) if rate is not None else float("nan"),
                "kept": keep.kept, "entered": keep.entered, "min_keep_rate": keep.low,
                "max_keep_rate": keep.high, "judged": keep.judged, "rule": rule}
    if not keep.judged:
        metadata["not_judged_because"] = (f"{keep.entered} documents in, fewer than "
                                          f"keep_rate_min_documents ({keep.min_documents})")
    return AssetCheckResult(check_name=check_name, passed=keep.passed, metadata=metadata)


def schema_result(check_name: str, differences: dict[str, list[str]]) -> AssetCheckResult:
    return AssetCheckResult(check_name=check_name, passed=not any(differences.values()),
                            metadata={"differences": MetadataValue.json(differences)})


def unique_result(check_name: str, rows: int, distinct: int, tables: str) -> AssetCheckResult:
    return AssetCheckResult(check_name=check_name, passed=rows == distinct, metadata={
        "rows": rows, "distinct_doc_ids": distinct, "repeated": rows - distinct,
        "rule": f"every doc_id of the crawl appears once in {tables}"})


def kept_removed_checks(stage: str, tables, config, kept: str, removed: str):
    """A stage's schema, unique-doc_id and keep-rate results from its `stage_tables` (kept table +
    removed table); `config` carries min_keep_rate, max_keep_rate and keep_rate_min_documents."""
    yield schema_result(f"{stage}_schema", tables.schema_differences)
    yield unique_result(f"{stage}_unique_doc_id", tables.rows, tables.distinct_doc_ids,
                        f"{kept} and {removed} together")
    keep = KeepRate(tables.kept_rows, tables.rows, config.min_keep_rate, config.max_keep_rate,
                    config.keep_rate_min_documents)
    yield keep_rate_result(f"{stage}_keep_rate", keep, f"{kept} / ({kept} + {removed})")
