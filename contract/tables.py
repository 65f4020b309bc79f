"""The table contract between stages: Delta table paths under the lake root, and their schemas.

Plain Python and pyarrow only, so that Spark jobs, Ray jobs, Dagster assets and tests import it
without pulling in an engine. A Spark job turns a schema here into a Spark schema with
`spark_jobs.arrow_schema.to_spark_schema`.
"""
from __future__ import annotations

import re

import pyarrow as pa

# Crawl ids look like Common Crawl's (`CC-MAIN-2024-33`); the embedded sample crawl has its own id.
CRAWL_ID_PATTERN = re.compile(r"^CC-MAIN-(\d{4})-(\d{2})$")
SAMPLE_CRAWL_ID = "CC-MAIN-SAMPLE"


def validate_crawl_id(crawl_id: str) -> str:
    """Return the crawl id if it is a Common Crawl id or the sample id, else raise ValueError."""
    if crawl_id == SAMPLE_CRAWL_ID or CRAWL_ID_PATTERN.match(crawl_id):
        return crawl_id
    raise ValueError(
        f"{crawl_id!r} is not a crawl id: expected CC-MAIN-YYYY-WW (e.g. CC-MAIN-2024-33) "
        f"or {SAMPLE_CRAWL_ID}"
    )


# Table paths, relative to the lake root.
MANIFEST = "manifest"
BRONZE_DOCUMENTS = "bronze/documents"
BRONZE_ERRORS = "bronze/errors"
SILVER_DOCUMENTS = "silver/documents"
SILVER_REJECTS = "silver/rejects"
DEDUP_DOCUMENTS = "dedup/documents"
DEDUP_SIGNATURES = "dedup/signatures"
DEDUP_CLUSTERS = "dedup/clusters"
DEDUP_REMOVED = "dedup/removed"


def table_uri(lake_root: str, table: str) -> str:
    """The URI of a table under the lake root (a local path or any URI Spark and delta-rs read)."""
    return lake_root.rstrip("/") + "/" + table


UTC_TS = pa.timestamp("us", tz="UTC")

# manifest: one row per selected WARC/WET file of a crawl.
MANIFEST_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),
        ("path", pa.string()),  # full URI of the file
        ("kind", pa.string()),  # warc | wet
        ("status", pa.string()),  # pending | done | failed
        ("n_documents", pa.int64()),
        ("n_errors", pa.int64()),
        ("error", pa.string()),  # why the file failed, when it did
        ("updated_at", UTC_TS),
    ]
)

MANIFEST_STATUSES = ("pending", "done", "failed")

# bronze/documents: one row per extracted document.
BRONZE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),  # WARC-Record-ID of the response/conversion record
        ("snapshot", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("fetch_time", UTC_TS),
        ("warc_path", pa.string()),
        ("offset", pa.int64()),  # byte offset of the record in the (compressed) file
        ("content_type", pa.string()),
        ("charset", pa.string()),  # the charset the payload was decoded with
        ("text", pa.string()),
        ("n_chars", pa.int64()),
        ("extractor", pa.string()),  # resiliparse | trafilatura | wet
    ]
)

# bronze/errors: one row per failure, with where it happened.
BRONZE_ERRORS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),
        ("warc_path", pa.string()),
        ("offset", pa.int64()),  # -1 when the failure is not at a record (missing file, ...)
        ("record_id", pa.string()),
        ("reason", pa.string()),  # stable name, e.g. warc.parse_error, file.missing
        ("detail", pa.string()),
    ]
)

# silver/documents: bronze columns (text after C4 line removal and PII scrubbing) + language,
# language_score and every filter statistic as `<filter>__<feature>` columns; silver/rejects: the same
# + reason (first failing rule, e.g. gopher_quality.word_count) and error. The statistics columns are
# defined by the filter chain (spark_jobs.silver.SILVER_SCHEMA builds the full schema).
SILVER_KEY_COLUMNS = ("doc_id", "snapshot", "url", "domain", "fetch_time", "text", "n_chars",
                      "language", "language_score")

# dedup/signatures: one row per silver document of a crawl, kept so later crawls compare against it
# without recomputing (spark_jobs.dedup.job). Only rows with the same minhash_params are comparable.
DEDUP_SIGNATURES_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("fetch_time", UTC_TS),
        ("exact_hash", pa.string()),  # xxh3-128 hex of the normalized text (normalize.exact_key)
        ("n_words", pa.int32()),  # words after normalization
        ("n_shingles", pa.int32()),  # word n-gram positions; 0: no signature, never a candidate
        ("band_hashes", pa.list_(pa.int64())),  # num_bands LSH band hashes; null when n_shingles == 0
        ("minhash", pa.list_(pa.int64())),  # num_bands * rows_per_band values in [0, 2^61 - 1)
        ("minhash_params", pa.string()),  # e.g. b14r8n5s1: bands, rows per band, n-gram, seed
    ]
)

# dedup/documents: the silver columns of the kept documents + these two.
DEDUP_DOCUMENT_COLUMNS = pa.schema(
    [
        ("dup_cluster_id", pa.string()),  # doc_id of the cluster's representative (itself when kept)
        ("dup_count", pa.int64()),  # documents of this crawl in its cluster, itself included (>= 1)
    ]
)

# dedup/removed: one row per removed document (its text stays in silver/documents).
DEDUP_REMOVED_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("snapshot", pa.string()),
        ("url", pa.string()),
        ("domain", pa.string()),
        ("fetch_time", UTC_TS),
        ("n_chars", pa.int64()),
        ("reason", pa.string()),  # dedup.exact | dedup.near
        ("duplicate_of", pa.string()),  # doc_id of the cluster's representative (the kept copy)
        ("duplicate_of_snapshot", pa.string()),  # its crawl: this one, or an earlier one
        ("cross_crawl", pa.bool_()),  # the representative is in an earlier crawl
        ("dup_cluster_id", pa.string()),  # == duplicate_of
        ("similarity", pa.float64()),  # MinHash-estimated Jaccard with duplicate_of (1.0 for exact)
    ]
)

# dedup/clusters: one row per duplicate cluster touching a crawl (>= 2 of its documents, or one or
# more of its documents duplicating an earlier crawl's document).
DEDUP_CLUSTERS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),  # the crawl whose dedup run wrote the row
        ("dup_cluster_id", pa.string()),  # doc_id of the representative
        ("representative_snapshot", pa.string()),
        ("cross_crawl", pa.bool_()),  # representative in an earlier crawl (no member of this one kept)
        ("n_documents", pa.int64()),  # documents of this crawl in the cluster
        ("n_exact", pa.int64()),  # of which removed as exact copies
        ("n_near", pa.int64()),  # of which removed as near duplicates
        ("min_similarity", pa.float64()),  # smallest estimated Jaccard of a removed member with the representative
    ]
)

# dedup/pairs: the LSH star edges of a crawl's dedup run (bucket's smallest member -> other member),
# with its Jaccard (exact from the texts, or MinHash-estimated: see DedupConfig.verify_method) and
# whether the edge passed verification. Clusters are the
# connected components of the verified edges; the table says why each near duplicate was removed.
DEDUP_PAIRS = "dedup/pairs"
DEDUP_PAIRS_SCHEMA = pa.schema(
    [
        ("snapshot", pa.string()),  # the crawl whose dedup run found the edge
        ("src_doc_id", pa.string()),
        ("src_snapshot", pa.string()),  # this crawl or an earlier one
        ("dst_doc_id", pa.string()),
        ("dst_snapshot", pa.string()),
        ("similarity", pa.float64()),  # exact Jaccard of word 5-grams, or the MinHash estimate (verify_method)
        ("verified", pa.bool_()),  # similarity >= verify_threshold (always true when verification is off)
    ]
)
