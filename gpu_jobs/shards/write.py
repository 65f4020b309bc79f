"""One shard, written by one Ray task from the tokenized blocks.

The driver's plan gives each shard its copies as (block, row in block, position in shard). The task
first looks for the shard complete at its location (core.shards.shard_store: marker with the same
fingerprint, files with the recorded sha256, and the packed-sequence file of the configured settings
when one is asked for) and returns it untouched when found. Otherwise it
fetches the blocks that hold its documents (the tokenized blocks stay in Ray's object store: on
the same node this maps shared memory, no copy), takes its rows, orders them by position, checks
that the positions are exactly 0..n-1 and the token count is the planned one, and writes the shard.
The bytes depend on the plan only: not on the blocks, their number, or which worker runs the task.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from core.shards.packed_files import PackedOutput
from core.shards.shard_store import StoredShard, complete_shard, write_shard
from gpu_jobs.shards.tokenize import binary_offsets


@dataclass(frozen=True)
class ShardSpec:
    shard: int
    prefix: str
    fingerprint: str
    n_documents: int
    n_tokens: int
    vocab_size: int
    dtype: str
    packed: PackedOutput | None = None  # the packed-sequence file to write beside the shard


@dataclass(frozen=True)
class BlockSelection:
    """A shard's copies in one block: rows of the block and their positions in the shard."""

    rows: np.ndarray
    positions: np.ndarray


def assemble_shard(spec: ShardSpec, tables: list[pa.Table], selections: list[BlockSelection]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(ids, lengths) of the shard's documents in position order, checked against the plan."""
    pieces = [table.column("tokens").take(pa.array(sel.rows)).combine_chunks()
              for table, sel in zip(tables, selections)]
    positions = np.concatenate([sel.positions for sel in selections]) if selections else np.zeros(0, np.int64)
    order = np.argsort(positions, kind="stable")
    if not np.array_equal(positions[order], np.arange(spec.n_documents)):
        raise RuntimeError(f"shard {spec.shard}: the plan's positions are not 0..{spec.n_documents - 1}")
    tokens = pa.concat_arrays(pieces).take(pa.array(order)) if pieces else pa.array([], pa.large_binary())
    if tokens.null_count:
        raise RuntimeError(f"shard {spec.shard}: a planned copy has no tokens")
    itemsize = np.dtype(spec.dtype).itemsize
    offsets = binary_offsets(tokens)
    n_bytes = int(offsets[-1] - offsets[0])
    ids = np.frombuffer(tokens.buffers()[2], np.dtype(spec.dtype).newbyteorder("<"), n_bytes // itemsize,
                        int(offsets[0]))
    lengths = np.diff(offsets) // itemsize
    if int(lengths.sum()) != spec.n_tokens:
        raise RuntimeError(f"shard {spec.shard}: {int(lengths.sum())} tokens, the plan has {spec.n_tokens}")
    return ids, lengths


def write_planned_shard(spec: ShardSpec, block_refs: list, selections: list[BlockSelection]) -> StoredShard:
    """The body of the Ray task: reuse a complete shard, else assemble and write it. `block_refs`
    arrive in a list, so Ray does not fetch them before the reuse test."""
    import ray

    existing = complete_shard(spec.prefix, spec.fingerprint, spec.packed)
    if existing is not None:
        return existing
    tables = ray.get(list(block_refs))
    ids, lengths = assemble_shard(spec, tables, selections)
    return write_shard(spec.prefix, ids, lengths, spec.vocab_size, spec.fingerprint, spec.packed)


def shard_writer_task():
    """`write_planned_shard` as a Ray remote function of one CPU."""
    import ray

    return ray.remote(num_cpus=1)(write_planned_shard)
