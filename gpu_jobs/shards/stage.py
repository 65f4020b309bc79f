"""`run_training_shards`: a crawl's documents to Megatron shards, a documents table and a manifest.

1. Tokenize (a plain Ray actor pool, one Parquet row group of the wide input table per task, read
   by the actor itself in Arrow batches): join the narrow inputs by doc_id, mix, tokenize each
   document that goes in once (tokenize.py). The result stays in Ray's object store as one block
   per row group (spilled to disk by Ray when it outgrows memory).
2. Plan (driver, narrow columns only: doc_id, repetitions, token count and hash): the copies'
   order (seeded shuffle, or In-Context Pretraining order over dedup/signatures), shard boundaries
   and fingerprints (core.shards.plan). The plan's sha256 names the shard directory,
   `shards/files/<crawl>/<plan sha256[:16]>/`.
3. Write (one Ray task per shard, write.py): a complete shard already in the directory is kept,
   any other is written from the blocks; the bytes depend on the plan only. With
   `packed_sequences`, the same task writes the shard's fixed-length rows beside it
   (core.shards.packed_files) before its completion marker.
4. Commit: `shards/documents`, then `shards/manifest` (tables.py), each one Delta transaction
   replacing the crawl's partition; then leftovers of interrupted writes (`*.tmp-*`) are removed
   from the shard directory. Shard directories of earlier plans are listed, not deleted: an older
   manifest version (Delta time travel), or a training job, may still read them.

An interruption anywhere before the manifest commit leaves the previous manifest in force; a rerun
recomputes the same plan, keeps the shards that were finished and writes the rest.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract.tables import SHARDS_FILES
from core.shards import lake_files
from core.shards.doc_index import DocIndex
from core.shards.mixing import NOT_REFINED
from core.shards.ordering import icp_order_in_groups, relatedness
from core.shards.packed_files import PackedOutput
from core.shards.plan import TrainingPlan, build_plan, copies_in_passes, shuffled_copy_order
from core.shards.shard_store import StoredShard
from core.shards.stats import token_length_histogram
from core.shards.token_dtype import token_dtype
from core.shards.tokenizer import ShardTokenizer, TokenizerParams
from core.shards.tokenizer_files import read_source, resolve_tokenizer_location
from gpu_jobs import delta_io
from gpu_jobs.actor_pool import map_on_actor_pool
from gpu_jobs.cluster import ActorPlan, leave_cpus_for_reads, plan_actors, s3_task_options
from gpu_jobs.shards.config import ShardStageConfig
from gpu_jobs.shards.inputs import StageInputs, read_signatures, resolve_inputs
from gpu_jobs.shards.tables import commit_documents, commit_manifest, documents_table, manifest_table
from gpu_jobs.shards.tokenize import TOKENIZED_SCHEMA, TokenizeDocuments
from gpu_jobs.shards.write import BlockSelection, ShardSpec, shard_writer_task



@dataclass(frozen=True)
class ShardStageResult:
    crawl: str
    documents: int  # rows of shards/documents: every document of the crawl
    kept: int  # documents with at least one copy
    copies: int
    tokens: int
    shards: tuple[StoredShard, ...]
    dropped: dict[str, int]  # reason -> documents
    token_histogram: dict[str, int]  # tokens per document (one copy), kept documents
    plan_sha256: str
    directory: str
    tokenizer_uri: str
    tokenizer_sha256: str
    vocab_size: int
    eos_id: int | None
    wide_table: str
    stale_directories: tuple[str, ...]
    relatedness: dict[str, float] | None = None  # order=related: adjacent vs random mean Jaccard
    documents_without_signature: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def reused_shards(self) -> int:
        return sum(1 for shard in self.shards if shard.reused)

    @property
    def packed_files(self) -> tuple:
        """The packed-sequence file of each shard (empty when packing was off)."""
        return tuple(shard.packed for shard in self.shards if shard.packed is not None)


@dataclass(frozen=True)
class Tokenized:
    narrow: pa.Table  # TOKENIZED_SCHEMA without tokens, one row per wide-table document
    blocks: list  # ObjectRefs of the tokenized blocks (tokens included)
    block_of_row: np.ndarray
    row_in_block: np.ndarray


def load_stage_tokenizer(lake_uri: str, config: ShardStageConfig) -> tuple[str, str, ShardTokenizer]:
    """(location, json text, tokenizer); a clear error when it is missing or the eos is unknown."""
    location = resolve_tokenizer_location(lake_uri, config.tokenizer)
    try:
        text = read_source(location)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"tokenizer {config.tokenizer!r}: no tokenizer.json at {location}; materialize the `tokenizer` "
            f"asset (config name={config.tokenizer!r}) or set `tokenizer` to a path or URI") from exc
    return location, text, ShardTokenizer(text, TokenizerParams(eos=config.eos), source=location)


def _narrow_block(block: pa.Table) -> pa.Table:
    return block.drop_columns(["tokens"])


def tokenizer_actor_plan(max_actors: int | None) -> ActorPlan:
    """One tokenizer actor per CPU, leaving CPUs for the reads that feed them (`leave_cpus_for_reads`)."""
    return leave_cpus_for_reads(plan_actors("never", max_actors=max_actors))


def tokenize_documents(inputs: StageInputs, crawl: str, location: str, tokenizer_json: str,
                       config: ShardStageConfig) -> Tokenized:
    """Tokenize the wide table's partition on a plain actor pool, one row group per task (the
    actors read their row groups themselves; Ray Data's reader and streaming executor cost a
    one-core machine about half its tokenizer time, BENCHMARKS.md); the blocks stay in the object
    store, in row-group order, for the shard writers."""
    import ray

    filesystem, groups = delta_io.partition_row_groups(inputs.wide_uri, crawl)
    side_ref = ray.put(inputs.side) if inputs.side is not None else None
    args = (tokenizer_json, location, config.eos, config.mixing_params(), side_ref, inputs.refined,
            filesystem, inputs.wide_columns, config.batch_size)
    blocks = map_on_actor_pool(TokenizeDocuments, args, "tokenize", groups, tokenizer_actor_plan(config.max_actors))
    narrow_task = ray.remote(num_cpus=0.25)(_narrow_block)
    parts = ray.get([narrow_task.remote(block) for block in blocks])
    schema = pa.schema([f for f in TOKENIZED_SCHEMA if f.name != "tokens"])
    narrow = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
    sizes = [p.num_rows for p in parts]
    block_of_row = np.repeat(np.arange(len(parts), dtype=np.int64), sizes)
    row_in_block = np.concatenate([np.arange(size, dtype=np.int64) for size in sizes]) if parts else \
        np.zeros(0, np.int64)
    return Tokenized(narrow, blocks, block_of_row, row_in_block)


def with_unrefined(narrow: pa.Table, index: DocIndex, documents: pa.Table) -> pa.Table:
    """The narrow table (indexed by `index`) plus a `mixing.not_refined` row for each crawl document
    it lacks."""
    rows = index.rows(documents.column("doc_id"))
    missing = documents.column("doc_id").filter(pa.array(rows < 0))
    n = len(missing)
    extra = pa.table({
        "doc_id": missing.cast(pa.string()), "repetitions": pa.array([0] * n, pa.int32()),
        "reason": pa.array([NOT_REFINED] * n, pa.string()), "refined_action": pa.nulls(n, pa.string()),
        "n_tokens": pa.nulls(n, pa.int64()), "token_hash": pa.nulls(n, pa.int64())}, schema=narrow.schema)
    return pa.concat_tables([narrow, extra])


def order_copies(lake_uri: str, crawl: str, kept_ids: pa.Array, repetitions: np.ndarray,
                 config: ShardStageConfig) -> tuple[np.ndarray, np.ndarray, dict | None, int]:
    """(rows, copies) in training order, the relatedness measure and the documents without a
    signature (order=related only)."""
    if config.order == "shuffle":
        rows, copies = shuffled_copy_order(kept_ids, repetitions, config.seed)
        return rows, copies, None, 0
    signatures, without = read_signatures(lake_uri, crawl, kept_ids)
    icp = icp_order_in_groups(kept_ids, signatures, config.related_group_size, config.seed)
    rows, copies = copies_in_passes(icp.order, repetitions)
    return rows, copies, relatedness(signatures, icp.order, config.seed), without


def shard_specs(plan: TrainingPlan, directory: str, vocab_size: int, dtype: str,
                packed: PackedOutput | None = None) -> list[ShardSpec]:
    tokens = plan.shard_tokens()
    specs = []
    for shard in range(plan.n_shards):
        lo, hi = plan.shard_bounds(shard)
        specs.append(ShardSpec(shard, lake_files.join(directory, f"shard_{shard:05d}"), plan.fingerprints[shard],
                               hi - lo, int(tokens[shard]), vocab_size, dtype, packed))
    return specs


def block_selections(plan: TrainingPlan, block: np.ndarray, row: np.ndarray) -> list[dict[int, BlockSelection]]:
    """Per shard, {block index: the rows of that block and their positions in the shard}; `block`
    and `row` give each planned document's place among the tokenized blocks."""
    shard_of = plan.shard_of_positions()
    in_shard = np.arange(plan.n_copies) - plan.shard_starts[shard_of] if plan.n_copies else shard_of
    copy_block, copy_row = block[plan.rows], row[plan.rows]
    order = np.lexsort((copy_block, shard_of))
    out: list[dict[int, BlockSelection]] = [dict() for _ in range(plan.n_shards)]
    keys = shard_of[order] * (int(block.max(initial=0)) + 1) + copy_block[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    for part in np.split(order, cuts) if order.size else []:
        shard, blk = int(shard_of[part[0]]), int(copy_block[part[0]])
        out[shard][blk] = BlockSelection(copy_row[part], in_shard[part])
    return out


def write_shards(specs: list[ShardSpec], selections: list[dict[int, BlockSelection]], blocks: list
                 ) -> list[StoredShard]:
    import ray

    task = shard_writer_task().options(**s3_task_options(*(spec.prefix for spec in specs)))
    futures = [task.remote(spec, [blocks[b] for b in chosen], list(chosen.values()))
               for spec, chosen in zip(specs, selections)]
    stored = ray.get(futures)
    for spec, shard in zip(specs, stored):
        if (shard.n_documents, shard.n_tokens, shard.fingerprint) != (spec.n_documents, spec.n_tokens, spec.fingerprint):
            raise RuntimeError(f"shard {spec.shard} at {spec.prefix} holds {shard.n_documents} documents and "
                               f"{shard.n_tokens} tokens; the plan has {spec.n_documents} and {spec.n_tokens}")
        if (shard.packed is None) != (spec.packed is None):
            raise RuntimeError(f"shard {spec.shard} at {spec.prefix}: packed sequences "
                               f"{'missing' if shard.packed is None else 'not asked for'}")
    return stored


def remove_leftovers(directory: str) -> int:
    """Delete `*.tmp-*` files of interrupted writes in the shard directory; returns how many."""
    leftovers = [name for name in lake_files.list_names(directory) if ".tmp-" in name]
    for name in leftovers:
        lake_files.delete_file(lake_files.join(directory, name))
    return len(leftovers)


def _counts(narrow: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(narrow.column("reason").drop_null()).to_pylist()
    return {item["values"]: int(item["counts"]) for item in sorted(counts, key=lambda item: item["values"])}


def _filled(column, default: int = 0) -> np.ndarray:
    """An int64 column as numpy with nulls replaced (no float round trip)."""
    return pc.fill_null(column, default).to_numpy(zero_copy_only=False).astype(np.int64)


def run_training_shards(lake_uri: str, crawl: str, config: ShardStageConfig,
                        log: Callable[[str], None] = lambda message: None) -> ShardStageResult:
    started = time.monotonic()
    seconds: dict[str, float] = {}
    location, tokenizer_json, tokenizer = load_stage_tokenizer(lake_uri, config)
    dtype = token_dtype(tokenizer.vocab_size).name
    inputs = resolve_inputs(lake_uri, crawl, config)
    log(f"{crawl}: tokenizing {inputs.wide_table} with {location} (sha256 {tokenizer.sha256[:12]})")
    tokenized = tokenize_documents(inputs, crawl, location, tokenizer_json, config)
    seconds["tokenize"] = time.monotonic() - started

    narrow = tokenized.narrow
    index = DocIndex(narrow.column("doc_id"), name=inputs.wide_table)  # one row per document, or an error
    repetitions = _filled(narrow.column("repetitions"))
    kept = np.flatnonzero(repetitions > 0)
    kept_ids = narrow.column("doc_id").take(pa.array(kept))
    n_tokens = _filled(narrow.column("n_tokens"))
    hashes = _filled(narrow.column("token_hash"))
    rows, copies, related, without_signature = order_copies(lake_uri, crawl, kept_ids, repetitions[kept], config)
    plan = build_plan(rows, copies, n_tokens[kept], hashes[kept],
                      config.max_tokens_per_shard, dtype)
    directory = lake_files.join(lake_uri, SHARDS_FILES, crawl, plan.sha256[:16])
    seconds["plan"] = time.monotonic() - started - seconds["tokenize"]
    log(f"{crawl}: {kept.size} of {narrow.num_rows} documents, {plan.n_copies} copies, "
        f"{int(plan.lengths.sum())} tokens in {plan.n_shards} shards under {directory}")

    specs = shard_specs(plan, directory, tokenizer.vocab_size, dtype, config.packed_sequences)
    selections = block_selections(plan, tokenized.block_of_row[kept], tokenized.row_in_block[kept])
    stored = write_shards(specs, selections, tokenized.blocks)
    seconds["write"] = time.monotonic() - started - seconds["tokenize"] - seconds["plan"]

    everything = with_unrefined(narrow, index, inputs.documents) if inputs.refined else narrow
    commit_documents(lake_uri, crawl, documents_table(crawl, everything, kept, plan))
    fields = {"seed": config.seed, "order": config.order, "tokenizer_sha256": tokenizer.sha256,
              "tokenizer_uri": location, "eos_id": tokenizer.eos_id, "plan_sha256": plan.sha256,
              "config": config.to_json()}
    commit_manifest(lake_uri, crawl, manifest_table(crawl, stored, plan, fields))
    removed = remove_leftovers(directory)
    if removed:
        log(f"{crawl}: removed {removed} leftover temporary files of an interrupted run")
    crawl_directory = lake_files.join(lake_uri, SHARDS_FILES, crawl)
    stale = tuple(name for name in lake_files.list_directories(crawl_directory) if name != plan.sha256[:16])
    seconds["total"] = time.monotonic() - started
    return ShardStageResult(
        crawl=crawl, documents=everything.num_rows, kept=int(kept.size), copies=plan.n_copies,
        tokens=int(plan.lengths.sum()), shards=tuple(stored), dropped=_counts(everything),
        token_histogram=token_length_histogram(n_tokens[kept]), plan_sha256=plan.sha256, directory=directory,
        tokenizer_uri=location, tokenizer_sha256=tokenizer.sha256, vocab_size=tokenizer.vocab_size,
        eos_id=tokenizer.eos_id, wide_table=inputs.wide_table, stale_directories=stale, relatedness=related,
        documents_without_signature=without_signature, seconds=seconds)
