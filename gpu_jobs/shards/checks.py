"""What the training-shard asset checks, read back from the lake (never from the run's memory):

- tokens: every manifest row's n_tokens and n_documents equal the sums of its `.idx` (parsed and
  validated by core.shards.megatron.read_index_summary), and the `.bin` has the size they imply;
- files: every `.bin` and `.idx` of the manifest exists with the recorded size and sha256;
- documents: the copies in the manifest (sum of n_documents) equal the copies in shards/documents
  (sum of repetitions, and the positions listed), and shards/documents has one row per document of
  dedup/documents for the crawl;
- packed files (when the manifest lists them): each exists with the recorded size and sha256 (part
  of "files"), and its tokens plus the tokens it dropped equal the shard's tokens (part of "tokens");
- schema: shards/documents and shards/manifest have exactly the contract's columns and types;
- unique doc_id: no document twice in the crawl's shards/documents partition.

The per-shard reads run as Ray tasks, one per shard, in parallel.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow.compute as pc

from contract.schema_compare import contract_differences
from contract.tables import (DEDUP_DOCUMENTS, SHARDS_DOCUMENTS, SHARDS_DOCUMENTS_SCHEMA, SHARDS_MANIFEST,
                             SHARDS_MANIFEST_SCHEMA, table_uri)
from core.shards import lake_files
from core.shards.megatron import read_index_summary
from gpu_jobs import delta_io
from gpu_jobs.cluster import s3_task_options


def inspect_shard(row: dict) -> dict:
    """Read one shard back: its index sums and whether both files match the manifest."""
    out = {"shard": row["shard"], "idx_tokens": None, "idx_documents": None, "error": None,
           "bin_ok": False, "idx_ok": False}
    prefix = row["path"]
    try:
        summary = read_index_summary(lake_files.read_bytes(prefix + ".idx"), prefix + ".idx")
        out["idx_tokens"], out["idx_documents"] = summary.n_tokens, summary.n_sequences
        out["bin_size_ok"] = lake_files.file_size(prefix + ".bin") == summary.bin_bytes
        for suffix in ("bin", "idx"):
            sha, size = lake_files.sha256_of(f"{prefix}.{suffix}")
            out[f"{suffix}_ok"] = (sha, size) == (row[f"{suffix}_sha256"], row[f"{suffix}_bytes"])
        if row.get("packed_path") is not None:
            out["packed_ok"] = lake_files.exists(row["packed_path"]) and \
                lake_files.sha256_of(row["packed_path"]) == (row["packed_sha256"], row["packed_bytes"])
    except (FileNotFoundError, ValueError) as exc:
        out["error"] = str(exc)
    return out


def packed_tokens_ok(row: dict) -> bool:
    """A manifest row's packed file accounts for every token of its shard (true without one)."""
    if row.get("packed_path") is None:
        return True
    return row["packed_tokens"] + row["packed_dropped_tokens"] == row["n_tokens"]


@dataclass(frozen=True)
class ShardVerification:
    shards: int
    manifest_tokens: int
    idx_tokens: int
    tokens_ok: bool  # every shard: manifest tokens and documents == its .idx, .bin size consistent
    files_ok: bool  # every shard: both files exist with the manifest's size and sha256
    bad_shards: tuple[str, ...]  # "shard N: what is wrong"
    manifest_copies: int
    documents_copies: int
    documents_positions: int
    documents_rows: int
    crawl_documents: int

    @property
    def documents_ok(self) -> bool:
        return (self.manifest_copies == self.documents_copies == self.documents_positions
                and self.documents_rows == self.crawl_documents)


def _problems(row: dict, seen: dict) -> list[str]:
    if seen["error"]:
        return [seen["error"]]
    problems = []
    if (seen["idx_tokens"], seen["idx_documents"]) != (row["n_tokens"], row["n_documents"]):
        problems.append(f"manifest says {row['n_tokens']} tokens / {row['n_documents']} documents, "
                        f".idx says {seen['idx_tokens']} / {seen['idx_documents']}")
    if not seen.get("bin_size_ok", False):
        problems.append(".bin size does not match its .idx")
    for suffix in ("bin", "idx"):
        if not seen[f"{suffix}_ok"]:
            problems.append(f".{suffix} does not match the manifest's sha256 and size")
    if not seen.get("packed_ok", True):
        problems.append(f"{row['packed_path']} is missing or does not match the manifest's sha256 and size")
    if not packed_tokens_ok(row):
        problems.append(f"packed file holds {row['packed_tokens']} tokens and dropped {row['packed_dropped_tokens']}; "
                        f"the shard has {row['n_tokens']}")
    return problems


def verify_crawl_shards(lake_uri: str, crawl: str) -> ShardVerification:
    import ray

    manifest = delta_io.read_partition_table(table_uri(lake_uri, SHARDS_MANIFEST), crawl).to_pylist()
    task = ray.remote(num_cpus=1)(inspect_shard).options(**s3_task_options(lake_uri))
    seen = ray.get([task.remote(row) for row in manifest])
    bad, tokens_ok, files_ok = [], True, True
    for row, result in zip(manifest, seen):
        problems = _problems(row, result)
        tokens_ok &= result["error"] is None and result["idx_tokens"] == row["n_tokens"] \
            and result["idx_documents"] == row["n_documents"] and result.get("bin_size_ok", False) \
            and packed_tokens_ok(row)
        files_ok &= result["bin_ok"] and result["idx_ok"] and result.get("packed_ok", True)
        bad += [f"shard {row['shard']}: {problem}" for problem in problems]
    documents = delta_io.read_partition_table(table_uri(lake_uri, SHARDS_DOCUMENTS), crawl,
                                              ["repetitions", "positions"])
    crawl_documents = delta_io.read_partition_table(table_uri(lake_uri, DEDUP_DOCUMENTS), crawl, ["doc_id"])
    copies = int(pc.sum(documents.column("repetitions")).as_py() or 0) if documents.num_rows else 0
    positions = int(pc.sum(pc.list_value_length(documents.column("positions"))).as_py() or 0) \
        if documents.num_rows else 0
    return ShardVerification(
        shards=len(manifest), manifest_tokens=sum(r["n_tokens"] for r in manifest),
        idx_tokens=sum(s["idx_tokens"] or 0 for s in seen), tokens_ok=bool(tokens_ok), files_ok=bool(files_ok),
        bad_shards=tuple(bad), manifest_copies=sum(r["n_documents"] for r in manifest), documents_copies=copies,
        documents_positions=positions, documents_rows=documents.num_rows, crawl_documents=crawl_documents.num_rows)


# ----------------------------------------------------------------------------- schema and doc_id

@dataclass(frozen=True)
class ShardTablesCheck:
    schema_differences: dict[str, list[str]]  # table -> differences from the contract ([]: equal)
    rows: int  # rows of the crawl's shards/documents partition
    distinct_doc_ids: int


def check_shard_tables(lake_uri: str, crawl: str) -> ShardTablesCheck:
    """The committed tables' schemas against the contract, and the doc_ids of shards/documents."""
    differences = {}
    for table, contract in ((SHARDS_DOCUMENTS, SHARDS_DOCUMENTS_SCHEMA), (SHARDS_MANIFEST, SHARDS_MANIFEST_SCHEMA)):
        uri = table_uri(lake_uri, table)
        differences[table] = contract_differences(delta_io.table_schema(uri) if delta_io.table_exists(uri) else None,
                                                  contract)
    ids = delta_io.read_partition_table(table_uri(lake_uri, SHARDS_DOCUMENTS), crawl, ["doc_id"]).column("doc_id")
    distinct = pc.count_distinct(ids, mode="all").as_py() if len(ids) else 0
    return ShardTablesCheck(differences, len(ids), int(distinct))
