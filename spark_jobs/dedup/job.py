"""Deduplication of one crawl on Spark: exact, then near (MinHash LSH), within the crawl and against
every earlier crawl of the lake. `silver/documents` in; `dedup/signatures`, `dedup/documents`,
`dedup/removed`, `dedup/clusters` and `dedup/pairs` out, each only for this crawl's partition.

Five steps, one module each (no collect of documents, pairs or clusters to the driver; only counts
come back):
1. signatures.py: MinHash signatures and shingle sets of the crawl, written to dedup/signatures and
   read back, with those of every earlier crawl (checked before anything is written);
2. candidates.py: each document's exact representative, over this crawl and the earlier ones;
3. candidates.py, verification.py: LSH candidate edges between exact representatives (pairwise in
   small buckets when verifying exactly, else stars), each scored and verified against the threshold;
4. decisions.py, components.py: clusters = connected components of the verified edges;
5. decisions.py, outputs.py: each document kept iff it is its cluster's smallest member; the tables
   written and the counts summarized, concurrently.
Documents are named by node strings that sort like the representative rule (nodes.py): earliest
crawl, then earliest fetch, then doc_id.

Cross-crawl semantics, precisely ("earlier crawls": signatures.py):
- A document of S is removed if its exact hash equals that of an earlier document, or its near-dup
  cluster (computed over S's documents and the earlier documents that share a bucket with them)
  contains an earlier document; `duplicate_of` is then the smallest earlier member (by the key).
  Earlier documents linked to each other only through buckets without any document of S are not
  followed; this can only change which earlier document `duplicate_of` names, never whether a
  document of S is removed by a direct or S-internal link.
- Later crawls are never read, so rerunning S after later crawls gives the same result, and only S's
  partitions are written. Of earlier crawls only dedup/signatures is read (light columns for the
  LSH buckets and exact hashes; shingle sets only of the crawls that have an edge end), never their
  silver texts.
- Earlier signatures are checked before anything is written: other MinHash parameters, or (exact
  verification) no stored shingle sets, fail the run and leave every table as it was.

Public names of the package are re-exported here: `run_dedup`, `DedupConfig`, `DedupResult`,
`REASON_EXACT`, `REASON_NEAR`, `dedup_balance`, `balance_ok`.
"""
from __future__ import annotations

import time

from spark_jobs.dedup.candidates import candidate_edges, exact_representatives, near_candidates
from spark_jobs.dedup.config import REASON_EXACT, REASON_NEAR, DedupConfig, DedupResult
from spark_jobs.dedup.decisions import decide, with_cluster_representatives
from spark_jobs.dedup.outputs import (
    balance_ok, concurrently, dedup_balance, edge_counts, output_writes, summarize, write_pairs,
)
from spark_jobs.dedup.signatures import (
    as_nodes, check_earlier_signatures, crawl_signatures, crawls_in_silver_before, earlier_signature_rows,
    write_signatures,
)
from spark_jobs.dedup.verification import verify_edges

__all__ = ["run_dedup", "DedupConfig", "DedupResult", "REASON_EXACT", "REASON_NEAR", "dedup_balance",
           "balance_ok"]


def _earlier_crawls(spark, lake_root: str, snapshot: str, config: DedupConfig) -> tuple[list[str], list[str]]:
    """(earlier crawls with comparable signatures, earlier silver crawls without signatures), checked
    before anything is written; ([], []) when cross-crawl dedup is off."""
    if not config.cross_crawl:
        return [], []
    crawls = check_earlier_signatures(spark, lake_root, snapshot, config)
    missing = sorted(set(crawls_in_silver_before(spark, lake_root, snapshot)) - set(crawls))
    return crawls, missing


def run_dedup(spark, lake_root: str, snapshot: str, config: DedupConfig = DedupConfig()) -> DedupResult:
    """Deduplicate one crawl (see the module docstring) and replace its partitions of the dedup tables."""
    started = time.monotonic()
    earlier_crawls, missing = _earlier_crawls(spark, lake_root, snapshot, config)  # raises before any write
    # 1. signatures
    write_signatures(spark, lake_root, snapshot, config)
    current = crawl_signatures(spark, lake_root, snapshot, config)
    earlier = as_nodes(earlier_signature_rows(spark, lake_root, snapshot), config) if earlier_crawls else None
    # 2. exact representatives (checkpointed: the near step and the decisions both read them)
    exact_docs = exact_representatives(current, earlier, config).localCheckpoint(eager=True)
    # 3. near: LSH candidate edges, verified
    edges = None
    if config.near:
        near_nodes = near_candidates(exact_docs)
        edges = verify_edges(candidate_edges(near_nodes, earlier, config), near_nodes, earlier, config,
                             lake_root).localCheckpoint(eager=True)
    # 4. clusters of the verified edges
    docs = with_cluster_representatives(exact_docs, edges)
    # 5. decisions; then the four tables and the counts, concurrently (all read checkpointed frames)
    decisions = decide(docs, exact_docs, earlier, snapshot)
    *_, (candidates, verified), result = concurrently(
        lambda: write_pairs(spark, lake_root, snapshot, edges),
        *output_writes(spark, lake_root, snapshot, decisions),
        lambda: edge_counts(edges),
        lambda: summarize(snapshot, decisions, started))
    result.candidate_edges, result.verified_edges = candidates, verified
    result.earlier_crawls, result.earlier_without_signatures = earlier_crawls, missing
    result.seconds = time.monotonic() - started
    return result
