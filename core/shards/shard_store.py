"""One Megatron shard at a location under the lake (a local path prefix or a URI prefix), with a
completion marker, and the test that finds a complete shard again.

A shard is three files: `<prefix>.bin`, `<prefix>.idx` (core.shards.megatron) and `<prefix>.json`,
the marker, written last: what the shard should contain (`fingerprint`, given by the caller: the
hash of the documents' tokens and lengths in order), its counts, and the sha256 and size of both
data files. Optionally a fourth, the packed-sequence file of the shard's tokens
(core.shards.packed_files), written after the `.idx` and before the marker, which then also
records its settings, counts, sha256 and size (`packed`). Local prefixes are written by
MegatronWriter in place (temporary names, renamed); URI prefixes are written to a local temporary
directory by the same writers and uploaded in the order .bin, .idx, packed file, .json (lake_files).

A shard is complete when its marker exists, names the expected fingerprint, and both data files
have the marker's sizes and sha256 (read back in full); when a packed file is asked for, the
marker must also describe one of the same settings whose file has the recorded size and sha256.
Anything else (no marker, another fingerprint, other packing settings, a truncated or altered file)
is incomplete and gets rewritten; an old marker is removed before the data files are replaced, so
a crash during the rewrite never leaves a marker that vouches for other bytes. A marker's packed
file is ignored when none is asked for (the shard itself is complete).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, replace

import numpy as np

from core.shards import lake_files
from core.shards.megatron import MegatronWriter
from core.shards.packed_files import PackedFile, PackedOutput, write_packed_file

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
    packed: PackedFile | None = None  # the packed-sequence file beside it, when one was asked for
    packed_settings: dict | None = None  # PackedOutput.describe() of that file

    def marker(self) -> dict:
        fields = asdict(self)
        del fields["prefix"], fields["reused"], fields["packed"], fields["packed_settings"]
        if self.packed is not None:
            packed = asdict(self.packed)
            packed["name"] = packed.pop("location").rsplit("/", 1)[-1]
            fields["packed"] = {**packed, "settings": self.packed_settings}
        return {"format": MARKER_FORMAT, **fields}


def write_shard(prefix: str, ids: np.ndarray, lengths: np.ndarray, vocab_size: int, fingerprint: str,
                packed: PackedOutput | None = None) -> StoredShard:
    """Write the documents (flat ids, per-document lengths) as the shard at `prefix`, with the
    packed-sequence file of their tokens when `packed` is given."""
    marker_path = prefix + ".json"
    if lake_files.exists(marker_path):
        lake_files.delete_file(marker_path)
    packed_file = None
    if lake_files.is_uri(prefix):
        with tempfile.TemporaryDirectory(prefix="shard-") as scratch:
            local = os.path.join(scratch, "shard")
            info = _write_local(local, ids, lengths, vocab_size)
            lake_files.upload_file(info.bin_path, prefix + ".bin")
            lake_files.upload_file(info.idx_path, prefix + ".idx")
            if packed is not None:
                packed_file = write_packed_file(packed.location(local), ids, packed, vocab_size)
                lake_files.upload_file(packed_file.location, packed.location(prefix))
                packed_file = replace(packed_file, location=packed.location(prefix))
    else:
        info = _write_local(prefix, ids, lengths, vocab_size)
        if packed is not None:
            packed_file = write_packed_file(packed.location(prefix), ids, packed, vocab_size)
    shard = StoredShard(prefix, fingerprint, info.n_documents, info.n_tokens, info.dtype, info.bin_sha256,
                        info.idx_sha256, info.bin_bytes, info.idx_bytes, packed=packed_file,
                        packed_settings=packed.describe() if packed is not None else None)
    lake_files.write_bytes(marker_path, json.dumps(shard.marker(), sort_keys=True).encode("utf-8"))
    return shard


def _write_local(prefix: str, ids: np.ndarray, lengths: np.ndarray, vocab_size: int):
    with MegatronWriter(prefix, vocab_size) as writer:
        writer.add_documents(ids, lengths)
        return writer.close()


def complete_shard(prefix: str, fingerprint: str, packed: PackedOutput | None = None) -> StoredShard | None:
    """The shard at `prefix` when its marker names `fingerprint` and both files match the marker
    (and, with `packed`, the marker's packed file has these settings and matches it too)."""
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
    packed_file = None
    if packed is not None:
        packed_file = _complete_packed_file(prefix, marker.get("packed"), packed)
        if packed_file is None:
            return None
    return StoredShard(prefix=prefix, fingerprint=fingerprint, reused=True, packed=packed_file,
                       packed_settings=packed.describe() if packed is not None else None, **fields)


def _complete_packed_file(prefix: str, recorded: dict | None, packed: PackedOutput) -> PackedFile | None:
    """The marker's packed file when it has the wanted settings and its bytes match the marker."""
    location = packed.location(prefix)
    if not isinstance(recorded, dict) or recorded.get("settings") != packed.describe():
        return None
    if recorded.get("name") != location.rsplit("/", 1)[-1]:
        return None
    if lake_files.file_size(location) != recorded.get("bytes"):
        return None
    if lake_files.sha256_of(location)[0] != recorded.get("sha256"):
        return None
    try:
        return PackedFile(location=location, **{key: recorded[key] for key in (
            "format", "row_len", "sequences", "tokens", "dropped_tokens", "padded_tokens", "sha256", "bytes")})
    except KeyError:
        return None
