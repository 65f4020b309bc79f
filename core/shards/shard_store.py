"""One Megatron shard at a location under the lake (a local path prefix or a URI prefix), with a
completion marker, and the test that finds a complete shard again.

A shard is three files: `<prefix>.bin`, `<prefix>.idx` (core.shards.megatron) and `<prefix>.json`,
the marker, written last: what the shard should contain (`fingerprint`, given by the caller: the
hash of the documents' tokens and lengths in order), its counts, and the sha256 and size of both
data files. Local prefixes are written by MegatronWriter in place (temporary names, renamed); URI
prefixes are written to a local temporary directory by the same writer and uploaded in the order
.bin, .idx, .json (lake_files).

A shard is complete when its marker exists, names the expected fingerprint, and both data files
have the marker's sizes and sha256 (read back in full). Anything else (no marker, another
fingerprint, a truncated or altered file) is incomplete and gets rewritten; an old marker is removed
before the data files are replaced, so a crash during the rewrite never leaves a marker that
vouches for other bytes.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass

import numpy as np

from core.shards import lake_files
from core.shards.megatron import MegatronWriter

MARKER_FORMAT = "cc-refinery/megatron-shard/1"


@dataclass(frozen=True)
class StoredShard:
    prefix: str
    fingerprint: str
    n_documents: int
    n_tokens: int
    dtype: str
    bin_sha256: str
    idx_sha256: str
    bin_bytes: int
    idx_bytes: int
    reused: bool = False  # found complete, not written by this call

    def marker(self) -> dict:
        fields = asdict(self)
        del fields["prefix"], fields["reused"]
        return {"format": MARKER_FORMAT, **fields}


def write_shard(prefix: str, ids: np.ndarray, lengths: np.ndarray, vocab_size: int, fingerprint: str) -> StoredShard:
    """Write the documents (flat ids, per-document lengths) as the shard at `prefix`."""
    marker_path = prefix + ".json"
    if lake_files.exists(marker_path):
        lake_files.delete_file(marker_path)
    if lake_files.is_uri(prefix):
        with tempfile.TemporaryDirectory(prefix="shard-") as scratch:
            info = _write_local(os.path.join(scratch, "shard"), ids, lengths, vocab_size)
            lake_files.upload_file(info.bin_path, prefix + ".bin")
            lake_files.upload_file(info.idx_path, prefix + ".idx")
    else:
        info = _write_local(prefix, ids, lengths, vocab_size)
    shard = StoredShard(prefix, fingerprint, info.n_documents, info.n_tokens, info.dtype, info.bin_sha256,
                        info.idx_sha256, info.bin_bytes, info.idx_bytes)
    lake_files.write_bytes(marker_path, json.dumps(shard.marker(), sort_keys=True).encode("utf-8"))
    return shard


def _write_local(prefix: str, ids: np.ndarray, lengths: np.ndarray, vocab_size: int):
    with MegatronWriter(prefix, vocab_size) as writer:
        writer.add_documents(ids, lengths)
        return writer.close()


def complete_shard(prefix: str, fingerprint: str) -> StoredShard | None:
    """The shard at `prefix` when its marker names `fingerprint` and both files match the marker."""
    try:
        marker = json.loads(lake_files.read_bytes(prefix + ".json"))
    except (FileNotFoundError, ValueError):
        return None
    if marker.get("format") != MARKER_FORMAT or marker.get("fingerprint") != fingerprint:
        return None
    for suffix in ("bin", "idx"):
        if lake_files.file_size(f"{prefix}.{suffix}") != marker.get(f"{suffix}_bytes"):
            return None
        if lake_files.sha256_of(f"{prefix}.{suffix}")[0] != marker.get(f"{suffix}_sha256"):
            return None
    fields = {key: marker[key] for key in ("n_documents", "n_tokens", "dtype", "bin_sha256", "idx_sha256",
                                           "bin_bytes", "idx_bytes")}
    return StoredShard(prefix=prefix, fingerprint=fingerprint, reused=True, **fields)
