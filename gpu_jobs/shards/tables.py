"""The stage's Delta tables: `shards/documents` (one row per document of the crawl) and
`shards/manifest` (one row per shard), each replacing the crawl's partition in one commit.
The manifest is committed last, after every shard file and the documents table: a manifest row
always points at a complete shard."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from contract.tables import (SHARDS_DOCUMENTS, SHARDS_DOCUMENTS_SCHEMA, SHARDS_MANIFEST, SHARDS_MANIFEST_SCHEMA,
                             table_uri)
from core.shards.plan import TrainingPlan
from core.shards.shard_store import StoredShard
from gpu_jobs import delta_io

ROWS_PER_FILE = 1_000_000


def documents_table(crawl: str, tokenized: pa.Table, kept_rows: np.ndarray, plan: TrainingPlan) -> pa.Table:
    """shards/documents rows from the tokenized narrow table (one row per document) and the plan
    (whose `rows` index `kept_rows`, the tokenized rows that went in)."""
    n = tokenized.num_rows
    counts = np.zeros(n, np.int64)
    np.add.at(counts, kept_rows[plan.rows], 1)
    by_document = np.lexsort((np.arange(plan.n_copies), kept_rows[plan.rows]))  # positions grouped by row
    offsets = np.concatenate(([0], np.cumsum(counts)))
    positions = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(by_document.astype(np.int64)))
    return pa.table({
        "doc_id": tokenized.column("doc_id"),
        "snapshot": pa.array([crawl] * n, pa.string()),
        "repetitions": tokenized.column("repetitions"),
        "reason": tokenized.column("reason"),
        "refined_action": tokenized.column("refined_action"),
        "n_tokens": tokenized.column("n_tokens"),
        "token_hash": tokenized.column("token_hash"),
        "positions": positions.cast(pa.list_(pa.int64())),
    })


def manifest_table(crawl: str, shards: list[StoredShard], plan: TrainingPlan, fields: dict) -> pa.Table:
    """shards/manifest rows in shard order; `fields` are the columns equal on every row (seed,
    order, tokenizer_sha256, tokenizer_uri, eos_id, plan_sha256, config)."""
    n = len(shards)
    columns = {
        "snapshot": [crawl] * n,
        "shard": list(range(n)),
        "path": [s.prefix for s in shards],
        "n_documents": [s.n_documents for s in shards],
        "n_tokens": [s.n_tokens for s in shards],
        "first_position": plan.shard_starts.tolist(),
        "dtype": [s.dtype for s in shards],
        "bin_sha256": [s.bin_sha256 for s in shards],
        "idx_sha256": [s.idx_sha256 for s in shards],
        "bin_bytes": [s.bin_bytes for s in shards],
        "idx_bytes": [s.idx_bytes for s in shards],
        **{name: [value] * n for name, value in fields.items()},
        **packed_columns(shards),
    }
    return pa.table(columns, schema=SHARDS_MANIFEST_SCHEMA)


def packed_columns(shards: list[StoredShard]) -> dict[str, list]:
    """The manifest's packed_* columns (nulls for a shard without a packed file)."""
    files = [s.packed for s in shards]
    fields = {"packed_path": "location", "packed_format": "format", "packed_row_len": "row_len",
              "packed_sequences": "sequences", "packed_tokens": "tokens",
              "packed_dropped_tokens": "dropped_tokens", "packed_padded_tokens": "padded_tokens",
              "packed_sha256": "sha256", "packed_bytes": "bytes"}
    return {column: [getattr(f, name) if f is not None else None for f in files] for column, name in fields.items()}


def replace_partition(lake_uri: str, table: str, schema: pa.Schema, crawl: str, rows: pa.Table,
                      description: str) -> str:
    """Write `rows` as the crawl's partition of `table` (files of at most ROWS_PER_FILE rows, one commit)."""
    uri = table_uri(lake_uri, table)
    conformed = delta_io.conform(rows, schema)
    files = [delta_io.write_part_file(uri, crawl, conformed.slice(lo, ROWS_PER_FILE))
             for lo in range(0, conformed.num_rows, ROWS_PER_FILE)]
    delta_io.commit_partition(uri, crawl, schema, files, description=description)
    return uri


def commit_documents(lake_uri: str, crawl: str, rows: pa.Table) -> str:
    return replace_partition(lake_uri, SHARDS_DOCUMENTS, SHARDS_DOCUMENTS_SCHEMA, crawl, rows,
                             "training_shards documents")


def commit_manifest(lake_uri: str, crawl: str, rows: pa.Table) -> str:
    return replace_partition(lake_uri, SHARDS_MANIFEST, SHARDS_MANIFEST_SCHEMA, crawl, rows,
                             "training_shards manifest")
