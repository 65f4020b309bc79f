"""Deduplication of one crawl on Spark: exact, then near (MinHash LSH), within the crawl and against
every earlier crawl of the lake. `silver/documents` in; `dedup/signatures`, `dedup/documents`,
`dedup/removed`, `dedup/clusters` and `dedup/pairs` out, each only for this crawl's partition.

Five steps, one module each (no collect of documents, pairs or clusters to the driver; only counts
come back):
1. signatures.py: MinHash signatures of the crawl, written to dedup/signatures and read back, with
   those of every earlier crawl;
2. candidates.py: each document's exact representative, over this crawl and the earlier ones;
3. candidates.py, verification.py: LSH candidate edges between exact representatives (pairwise in
   small buckets when verifying exactly, else stars), each scored and verified against the threshold;
4. decisions.py, components.py: clusters = connected components of the verified edges;
5. decisions.py, outputs.py: each document kept iff it is its cluster's smallest member; the tables
   written and the counts summarized.
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
  partitions are written.

Public names of the package are re-exported here: `run_dedup`, `DedupConfig`, `DedupResult`,
`REASON_EXACT`, `REASON_NEAR`, `dedup_balance`, `balance_ok`.
"""
from __future__ import annotations

import time

from spark_jobs.dedup.candidates import candidate_edges, exact_representatives, near_candidates
from spark_jobs.dedup.config import REASON_EXACT, REASON_NEAR, DedupConfig, DedupResult
from spark_jobs.dedup.decisions import decide, with_cluster_representatives
from spark_jobs.dedup.outputs import (
    balance_ok, dedup_balance, edge_counts, summarize, write_outputs, write_pairs,
)
from spark_jobs.dedup.signatures import (
    as_nodes, crawl_signatures, crawls_in_silver_before, earlier_signatures, write_signatures,
)
from spark_jobs.dedup.verification import verify_edges

__all__ = ["run_dedup", "DedupConfig", "DedupResult", "REASON_EXACT", "REASON_NEAR", "dedup_balance",
           "balance_ok"]


def _earlier(spark, lake_root: str, snapshot: str, config: DedupConfig):
    """(earlier crawls' signatures as nodes or None, their snapshots, earlier silver crawls without
    signatures); (None, [], []) when cross-crawl dedup is off."""
    if not config.cross_crawl:
        return None, [], []
    signatures, crawls = earlier_signatures(spark, lake_root, snapshot, config)
    missing = sorted(set(crawls_in_silver_before(spark, lake_root, snapshot)) - set(crawls))
    return (as_nodes(signatures) if crawls else None), crawls, missing


def run_dedup(spark, lake_root: str, snapshot: str, config: DedupConfig = DedupConfig()) -> DedupResult:
    """Deduplicate one crawl (see the module docstring) and replace its partitions of the dedup tables."""
    started = time.monotonic()
    # 1. signatures
    write_signatures(spark, lake_root, snapshot, config)
    current = crawl_signatures(spark, lake_root, snapshot)
    earlier, earlier_crawls, missing = _earlier(spark, lake_root, snapshot, config)
    # 2. exact representatives
    docs = exact_representatives(current, earlier, config)
    # 3. near: LSH candidate edges, verified
    edges = None
    if config.near:
        near_nodes = near_candidates(docs)
        edges = verify_edges(candidate_edges(near_nodes, earlier, config), near_nodes, earlier, config,
                             lake_root).localCheckpoint(eager=True)
    write_pairs(spark, lake_root, snapshot, edges)
    candidates, verified = edge_counts(edges)
    # 4. clusters of the verified edges
    docs = with_cluster_representatives(docs, edges)
    # 5. decisions, outputs, counts
    decisions = decide(docs, current, earlier, snapshot)
    write_outputs(spark, lake_root, snapshot, decisions)
    result = summarize(snapshot, decisions, started)
    result.candidate_edges, result.verified_edges = candidates, verified
    result.earlier_crawls, result.earlier_without_signatures = earlier_crawls, missing
    return result
