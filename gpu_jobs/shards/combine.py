"""Shards of several crawls combined into one training blend, from their manifests.

Megatron-LM blends datasets by weight (`--data-path w1 prefix1 w2 prefix2 ...`, or the same list in
a file given to `--data-args-path`) and draws its samples from them in proportion to the weights,
so combining crawls needs no rewrite of any shard: `shards/combined/<name>/data_args.txt` lists
every shard of the chosen crawls with the weight n_tokens x the crawl's weight (1 by default: every
token equally likely, each crawl in proportion to its size), and `blend.json` records the same with
the manifest version, each crawl's plan and the shards' sha256.

Refused, with the reason: no manifest table, a requested crawl without shards, a weight for a crawl
not combined or not > 0, crawls tokenized with different tokenizers or end-of-document tokens (their
ids mean different things), a shard file missing or of another size than its manifest row (and of
another sha256, with `verify_sha256`). Output order is by crawl, then shard; nothing in it depends on
the clock, so the same manifests give the same files.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa

from contract.tables import SHARDS_COMBINED, SHARDS_MANIFEST, table_uri
from core.io.object_store import storage_options_for
from core.shards import lake_files
from core.shards.tokenizer_files import check_name
from gpu_jobs import delta_io
from gpu_jobs.shards.inputs import MissingInputError


@dataclass(frozen=True)
class CombinedShards:
    name: str
    data_args_uri: str
    blend_uri: str
    crawls: tuple[str, ...]
    shards: int
    tokens: int
    tokens_by_crawl: dict[str, int]
    tokenizer_sha256: str
    eos_id: int | None
    manifest_version: int


def read_manifests(lake_uri: str) -> tuple[pa.Table, int]:
    """Every crawl's manifest rows and the table version read."""
    from deltalake import DeltaTable

    uri = table_uri(lake_uri, SHARDS_MANIFEST)
    if not delta_io.table_exists(uri):
        raise MissingInputError(f"no {SHARDS_MANIFEST} table at {uri}: materialize training_shards for the "
                                f"crawls to combine first")
    table = DeltaTable(uri, storage_options=storage_options_for(uri))  # S3: the AWS_* settings
    return table.to_pyarrow_table(), table.version()


def choose_rows(manifest: pa.Table, crawls: list[str] | None) -> list[dict]:
    rows = manifest.to_pylist()
    available = sorted({row["snapshot"] for row in rows})
    chosen = sorted(set(crawls)) if crawls else available
    missing = [crawl for crawl in chosen if crawl not in available]
    if missing:
        raise MissingInputError(f"no shards for {missing} in {SHARDS_MANIFEST} (crawls with shards: {available})")
    if not chosen:
        raise MissingInputError(f"{SHARDS_MANIFEST} has no shards to combine")
    return sorted((row for row in rows if row["snapshot"] in chosen), key=lambda r: (r["snapshot"], r["shard"]))


def check_one_tokenizer(rows: list[dict]) -> tuple[str, int | None]:
    used = {}
    for row in rows:
        used.setdefault((row["tokenizer_sha256"], row["eos_id"]), set()).add(row["snapshot"])
    if len(used) > 1:
        detail = "; ".join(f"{sorted(crawls)}: tokenizer {sha[:12]}, eos {eos}" for (sha, eos), crawls in used.items())
        raise ValueError(f"the crawls were tokenized differently and cannot be combined: {detail}")
    return next(iter(used))


def check_files(rows: list[dict], verify_sha256: bool) -> None:
    for row in rows:
        for suffix in ("bin", "idx"):
            location = f"{row['path']}.{suffix}"
            size = lake_files.file_size(location)
            if size != row[f"{suffix}_bytes"]:
                raise ValueError(f"{row['snapshot']} shard {row['shard']}: {location} is "
                                 f"{'missing' if size is None else f'{size} bytes'}; the manifest says "
                                 f"{row[f'{suffix}_bytes']} bytes")
            if verify_sha256 and lake_files.sha256_of(location)[0] != row[f"{suffix}_sha256"]:
                raise ValueError(f"{row['snapshot']} shard {row['shard']}: {location} does not match the "
                                 f"manifest's sha256")


def crawl_weight_map(rows: list[dict], crawl_weights: dict[str, float] | None) -> dict[str, float]:
    crawls = sorted({row["snapshot"] for row in rows})
    weights = dict(crawl_weights or {})
    unknown = sorted(set(weights) - set(crawls))
    if unknown:
        raise ValueError(f"weights given for crawls that are not combined: {unknown} (combined: {crawls})")
    for crawl, weight in weights.items():
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not weight > 0:
            raise ValueError(f"the weight of {crawl} must be a number > 0, got {weight!r}")
    return {crawl: float(weights.get(crawl, 1.0)) for crawl in crawls}


def combine_shards(lake_uri: str, name: str = "all", crawls: list[str] | None = None,
                   crawl_weights: dict[str, float] | None = None, verify_sha256: bool = False) -> CombinedShards:
    check_name(name)
    manifest, version = read_manifests(lake_uri)
    rows = choose_rows(manifest, crawls)
    tokenizer_sha256, eos_id = check_one_tokenizer(rows)
    check_files(rows, verify_sha256)
    weights = crawl_weight_map(rows, crawl_weights)
    shards = [{"crawl": r["snapshot"], "shard": r["shard"], "path": r["path"], "n_documents": r["n_documents"],
               "n_tokens": r["n_tokens"], "weight": r["n_tokens"] * weights[r["snapshot"]],
               "bin_sha256": r["bin_sha256"], "idx_sha256": r["idx_sha256"]} for r in rows]
    tokens_by_crawl = {crawl: sum(s["n_tokens"] for s in shards if s["crawl"] == crawl) for crawl in weights}
    plans = {r["snapshot"]: r["plan_sha256"] for r in rows}
    blend = {"name": name, "manifest_version": version, "tokenizer_sha256": tokenizer_sha256, "eos_id": eos_id,
             "crawls": {crawl: {"weight": weights[crawl], "tokens": tokens_by_crawl[crawl], "plan_sha256": plans[crawl],
                                "shards": sum(1 for s in shards if s["crawl"] == crawl)} for crawl in weights},
             "shards": shards}
    directory = lake_files.join(lake_uri, SHARDS_COMBINED, name)
    blend_uri = lake_files.join(directory, "blend.json")
    data_args_uri = lake_files.join(directory, "data_args.txt")
    lake_files.write_bytes(blend_uri, json.dumps(blend, indent=1, sort_keys=True).encode("utf-8"))
    lines = "".join(f"{s['weight']:.17g} {s['path']}\n" for s in shards)
    lake_files.write_bytes(data_args_uri, lines.encode("utf-8"))
    return CombinedShards(name, data_args_uri, blend_uri, tuple(weights), len(shards),
                          sum(tokens_by_crawl.values()), tokens_by_crawl, tokenizer_sha256, eos_id, version)
