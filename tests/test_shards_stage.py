"""The training-shard assets end to end in Dagster, on a small lake the test writes: the tokenizer
converted from the embedded GGUF (once for the module), `training_shards` of two crawls (decoded
back with the independent reader `tests/megatron_reader.py` and the raw `tokenizers` library),
a rerun after a simulated interruption, the In-Context Pretraining order, the blend of both crawls,
and the errors for missing inputs.

The module's lake root is a `file://` URI, so the stage writes its shards, markers and blend the way
it does for s3:// or gs:// (through pyarrow's filesystem, uploaded after a local write); the CLI and
pipeline tests run it on a plain local path."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import string
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize
from tokenizers import Tokenizer

from assets.shards import SHARD_CHECKS, combined_shards, tokenizer as tokenizer_asset, training_shards
from contract.tables import (DEDUP_DOCUMENT_COLUMNS, DEDUP_DOCUMENTS, DEDUP_SIGNATURES, DEDUP_SIGNATURES_SCHEMA,
                             REFINED_DOCUMENTS, REFINED_DOCUMENTS_SCHEMA, SCORES_PRESELECT, SCORES_PRESELECT_SCHEMA,
                             SHARDS_DOCUMENTS, SHARDS_MANIFEST, SILVER_SCHEMA, table_uri)
from core.dedup.minhash import signature_columns
from core.shards.embedded_tokenizer import EMBEDDED_NAME
from core.shards.mixing import document_hashes, shuffle_keys
from core.shards.tokenizer import canonical_json_sha256
from gpu_jobs import delta_io
from gpu_jobs.shards.config import ShardStageConfig
from gpu_jobs.shards.inputs import MissingInputError
from gpu_jobs.shards.stage import run_training_shards
from resources import LakeResource, RayResource
from resources.partitions import crawl_partitions
from tests.megatron_reader import MegatronDataset
from tests.shards_helpers import write_tokenizer

CRAWL_A, CRAWL_B = "CC-MAIN-2024-10", "CC-MAIN-2024-18"
DEDUP_SCHEMA = pa.schema(list(SILVER_SCHEMA) + list(DEDUP_DOCUMENT_COLUMNS))
EOS_ID = 0  # <|endoftext|> in SmolLM2's vocabulary
BUCKETS = {"0.3": 1, "0.7": 2}
CONFIG_A = {"tokenizer": EMBEDDED_NAME, "selection": "score_buckets", "score_buckets": BUCKETS, "use_refined": True,
            "seed": 7, "max_tokens_per_shard": 1500, "batch_size": 16}


# ----------------------------------------------------------------------------- the test lake

def _write_table(lake: str, table: str, schema: pa.Schema, crawl: str, columns: dict) -> None:
    n = len(next(iter(columns.values())))
    data = {field.name: (pa.array(columns[field.name], field.type) if field.name in columns
                         else pa.array([crawl] * n) if field.name == "snapshot" else pa.nulls(n, field.type))
            for field in schema}
    uri = table_uri(lake, table)
    delta_io.commit_partition(uri, crawl, schema, [delta_io.write_part_file(uri, crawl, pa.table(data, schema=schema))])


def family_corpus(crawl: str, families: int, per_family: int, seed: int, quote_eos: bool = False) -> list[dict]:
    """Documents in families of related texts (a base text, 5% of its words replaced per member),
    with scores, cluster sizes and ProX results; with `quote_eos`, one quotes the end-of-document token."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    vocab += ["café", "naïve", "Ελλάδα", "東京", "🙂", "—"]
    docs = []
    for family in range(families):
        base = [rng.choice(vocab) for _ in range(90)]
        for member in range(per_family):
            words = [w if rng.random() > 0.05 else rng.choice(vocab) for w in base]
            lines = [" ".join(words[i:i + 15]) for i in range(0, len(words), 15)]
            text = ".\n".join(lines) + "."
            doc_id = f"<urn:uuid:{crawl}-{family:03d}-{member}>"
            action = rng.choice(["refine", "keep", None])  # None: ProX dropped it
            refined = "\n".join(text.split("\n")[1:]) if action == "refine" else text
            docs.append({"doc_id": doc_id, "text": text, "family": family, "dup_count": 1 + member % 3,
                         "score": None if (family, member) == (1, 1) else round(rng.random(), 3),
                         "action": action, "refined": refined if action else None})
    if quote_eos:
        docs[5]["text"] = docs[5]["refined"] = "a page that quotes <|endoftext|> in its middle, and goes on."
        docs[5]["action"], docs[5]["score"] = "keep", 0.95
    return docs


def write_crawl(lake: str, crawl: str, docs: list[dict]) -> None:
    ids = [d["doc_id"] for d in docs]
    _write_table(lake, DEDUP_DOCUMENTS, DEDUP_SCHEMA, crawl, {
        "doc_id": ids, "text": [d["text"] for d in docs], "dup_count": [d["dup_count"] for d in docs],
        "language": ["en"] * len(docs), "n_chars": [len(d["text"]) for d in docs], "dup_cluster_id": ids})
    signatures = signature_columns(pa.RecordBatch.from_pydict({"doc_id": ids, "text": [d["text"] for d in docs]}))
    _write_table(lake, DEDUP_SIGNATURES, DEDUP_SIGNATURES_SCHEMA, crawl, {
        name: signatures.column(name) for name in signatures.schema.names if name in DEDUP_SIGNATURES_SCHEMA.names})
    _write_table(lake, SCORES_PRESELECT, SCORES_PRESELECT_SCHEMA, crawl, {
        "doc_id": ids, "score": [d["score"] for d in docs],
        "selected": [None if d["score"] is None else d["score"] >= 0.5 for d in docs]})
    refined = [d for d in docs if d["action"]]
    _write_table(lake, REFINED_DOCUMENTS, REFINED_DOCUMENTS_SCHEMA, crawl, {
        "doc_id": [d["doc_id"] for d in refined], "text": [d["refined"] for d in refined],
        "n_chars": [len(d["refined"]) for d in refined], "action": [d["action"] for d in refined]})


def expected_repetitions(doc: dict) -> tuple[int, str | None]:
    """The stage's rule for CONFIG_A, written out: ProX first, then the score buckets."""
    if doc["action"] is None:
        return 0, "mixing.not_refined"
    if doc["score"] is None:
        return 0, "mixing.missing_score"
    if doc["score"] < 0.3:
        return 0, "mixing.score_below_buckets"
    return (1 if doc["score"] < 0.7 else 2), None


def expected_sequence(docs: list[dict], seed: int) -> list[tuple[str, int]]:
    """(doc_id, copy) in training order: ascending seeded key of (doc_id, copy), as core.shards.mixing defines it."""
    copies = [(d["doc_id"], c) for d in docs for c in range(expected_repetitions(d)[0])]
    keys = shuffle_keys(document_hashes([i for i, _ in copies], seed), np.array([c for _, c in copies]))
    return [copy for _, copy in sorted(zip(keys.tolist(), copies), key=lambda kc: (kc[0], kc[1]))]


# ----------------------------------------------------------------------------- Dagster helpers

def _materialize(assets, lake: str, partition: str | None = None, config: dict | None = None, op: str | None = None):
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(crawl_partitions.name, [CRAWL_A, CRAWL_B])
        run_config = {"ops": {op: {"config": config}}} if op else None
        return materialize(assets, partition_key=partition, instance=instance, run_config=run_config,
                           resources={"ray": RayResource(), "lake": LakeResource(root=lake)}, raise_on_error=False)


def _metadata(result, asset: str) -> dict:
    events = [e.event_specific_data.materialization for e in result.get_asset_materialization_events()
              if e.event_specific_data.materialization.asset_key.to_user_string() == asset]
    return {key: value.value for key, value in events[-1].metadata.items()}


def _checks(result) -> dict[str, bool]:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}


def _failure(result) -> str:
    """The messages of every failed step, causes included."""
    messages = []
    for event in result.all_events:
        error = event.event_specific_data.error if event.is_step_failure else None
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return "\n".join(messages)


def local(location: str) -> str:
    """The local path of a file:// location."""
    return location[len("file://"):] if location.startswith("file://") else location


def _manifest(lake: str, crawl: str) -> list[dict]:
    return sorted(delta_io.read_partition_table(table_uri(lake, SHARDS_MANIFEST), crawl).to_pylist(),
                  key=lambda row: row["shard"])


def decoded_sequence(lake: str, crawl: str, raw: Tokenizer) -> list[str]:
    """Every document of every shard, in manifest order, decoded without its end token (checked)."""
    texts = []
    for row in _manifest(lake, crawl):
        for ids in MegatronDataset(local(row["path"])).documents():
            assert ids[-1] == EOS_ID and EOS_ID not in ids[:-1].tolist()
            texts.append(raw.decode(ids[:-1].tolist(), skip_special_tokens=False))
    return texts


# ----------------------------------------------------------------------------- module fixtures

@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A lake with the embedded tokenizer converted into a fresh cache (once for the module)."""
    root = f"file://{tmp_path_factory.mktemp('shards-lake')}/lake"
    cache = tmp_path_factory.mktemp("refinery-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REFINERY_CACHE", str(cache))
        first = _materialize([tokenizer_asset], root)
    assert first.success, _failure(first)
    return {"root": root, "path": local(root), "cache": cache, "first": first}


@pytest.fixture(scope="module")
def raw_tokenizer(lake):
    return Tokenizer.from_file(os.path.join(lake["path"], "models/tokenizer", EMBEDDED_NAME, "tokenizer.json"))


@pytest.fixture(scope="module")
def crawl_a(lake, ray_session):
    docs = family_corpus(CRAWL_A, families=12, per_family=4, seed=1, quote_eos=True)
    write_crawl(lake["root"], CRAWL_A, docs)
    result = _materialize([training_shards], lake["root"], CRAWL_A, CONFIG_A, "training_shards")
    assert result.success, _failure(result)
    return {"docs": docs, "result": result, "manifest": _manifest(lake["root"], CRAWL_A)}


@pytest.fixture(scope="module")
def crawl_b(lake, ray_session):
    docs = family_corpus(CRAWL_B, families=10, per_family=5, seed=2)
    write_crawl(lake["root"], CRAWL_B, docs)
    config = {"tokenizer": EMBEDDED_NAME, "order": "related", "seed": 3, "max_tokens_per_shard": 4000}
    result = _materialize([training_shards], lake["root"], CRAWL_B, config, "training_shards")
    assert result.success, _failure(result)
    return {"docs": docs, "result": result}


# ----------------------------------------------------------------------------- tests

def test_tokenizer_asset_converts_the_embedded_gguf_once_and_keeps_it_in_the_lake(lake, tmp_path):
    meta = _metadata(lake["first"], "tokenizer")
    path = Path(lake["path"]) / "models/tokenizer" / EMBEDDED_NAME / "tokenizer.json"
    assert meta["path"] == f"file://{path}" and meta["written"] is True and meta["vocab_size"] == 49152
    assert meta["sha256"] == canonical_json_sha256(path.read_text(encoding="utf-8"))
    assert "<|endoftext|>" in meta["special_token_list"]
    assert Tokenizer.from_file(str(path)).token_to_id("<|endoftext|>") == EOS_ID
    assert list(Path(lake["cache"]).glob("tokenizers/smollm2-135m-*/tokenizer.json"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REFINERY_CACHE", str(lake["cache"]))
        again = _materialize([tokenizer_asset], lake["root"])
    assert again.success and _metadata(again, "tokenizer")["written"] is False
    assert _metadata(again, "tokenizer")["sha256"] == meta["sha256"]

    user = write_tokenizer(tmp_path)
    mine = _materialize([tokenizer_asset], lake["root"], config={"name": "tiny", "source": str(user)}, op="tokenizer")
    assert mine.success and _metadata(mine, "tokenizer")["vocab_size"] == 400
    assert (Path(lake["path"]) / "models/tokenizer/tiny/tokenizer.json").read_bytes() == user.read_bytes()
    unnamed = _materialize([tokenizer_asset], lake["root"], config={"source": str(user)}, op="tokenizer")
    assert not unnamed.success and "needs its own name" in _failure(unnamed)


def test_shards_decode_to_the_mixed_texts_in_manifest_order(lake, crawl_a, raw_tokenizer):
    docs, result, manifest = crawl_a["docs"], crawl_a["result"], crawl_a["manifest"]
    assert _checks(result) == {"shards_schema": True, "shards_unique_doc_id": True, "shards_tokens_match_idx": True,
                               "shards_files_match_sha256": True, "shards_documents_match_mixing": True}
    by_id = {d["doc_id"]: d for d in docs}
    sequence = expected_sequence(docs, seed=7)
    assert decoded_sequence(lake["root"], CRAWL_A, raw_tokenizer) == [by_id[i]["refined"] for i, _ in sequence]

    meta = _metadata(result, "training_shards")
    assert meta["documents"] == len(docs) and meta["copies"] == len(sequence) > 20
    assert meta["shards"] == len(manifest) > 3 and meta["reused_shards"] == 0
    assert meta["total_tokens"] == sum(row["n_tokens"] for row in manifest)
    assert sum(meta["token_length_counts"].values()) == meta["kept"]
    reasons = [expected_repetitions(d)[1] for d in docs]
    assert _reason_counts(lake["root"]) == {r: reasons.count(r) for r in set(reasons) - {None}}
    assert all(row["n_tokens"] <= CONFIG_A["max_tokens_per_shard"] for row in manifest)
    assert [row["first_position"] for row in manifest] == list(np.cumsum([0] + [r["n_documents"] for r in manifest])[:-1])
    assert {row["tokenizer_sha256"] for row in manifest} == {_metadata(lake["first"], "tokenizer")["sha256"]}
    assert {(row["seed"], row["order"], row["eos_id"]) for row in manifest} == {(7, "shuffle", EOS_ID)}

    rows = delta_io.read_partition_table(table_uri(lake["root"], SHARDS_DOCUMENTS), CRAWL_A).to_pylist()
    position_of = {copy: p for p, copy in enumerate(sequence)}
    for row in rows:
        repetitions, reason = expected_repetitions(by_id[row["doc_id"]])
        assert (row["repetitions"], row["reason"]) == (repetitions, reason), row["doc_id"]
        assert row["positions"] == sorted(position_of[(row["doc_id"], c)] for c in range(repetitions))
        assert row["refined_action"] == by_id[row["doc_id"]]["action"]


def _reason_counts(lake_root: str) -> dict[str, int]:
    rows = delta_io.read_partition_table(table_uri(lake_root, SHARDS_DOCUMENTS), CRAWL_A, ["reason"]).to_pylist()
    reasons = [row["reason"] for row in rows if row["reason"]]
    return {reason: reasons.count(reason) for reason in set(reasons)}


def test_a_rerun_after_an_interruption_keeps_finished_shards_and_rewrites_the_same_bytes(lake, crawl_a):
    manifest = crawl_a["manifest"]
    assert len(manifest) >= 4
    directory = Path(local(manifest[0]["path"])).parent
    # the run died before its manifest commit, with one shard half-rewritten (same name, other bytes),
    # one without its completion marker and the temporary file of a write in progress
    shutil.rmtree(table_uri(lake["path"], SHARDS_MANIFEST))
    bin_1 = Path(local(manifest[1]["path"]) + ".bin")
    bin_1.write_bytes(bin_1.read_bytes()[: bin_1.stat().st_size // 2])
    Path(local(manifest[2]["path"]) + ".json").unlink()
    (directory / "shard_00003.bin.tmp-0123456789abcdef").write_bytes(b"partial")

    config = dict(CONFIG_A, max_actors=1, batch_size=5)  # other actors, other batches: same bytes
    rerun = _materialize([training_shards], lake["root"], CRAWL_A, config, "training_shards")
    assert rerun.success, _failure(rerun)
    assert all(_checks(rerun).values())
    fields = ("shard", "path", "n_documents", "n_tokens", "bin_sha256", "idx_sha256", "plan_sha256")
    assert [{k: r[k] for k in fields} for r in _manifest(lake["root"], CRAWL_A)] == \
        [{k: r[k] for k in fields} for r in manifest]
    assert _metadata(rerun, "training_shards")["reused_shards"] == len(manifest) - 2
    assert not [name for name in os.listdir(directory) if ".tmp-" in name]


def shard_stream(row: dict) -> np.ndarray:
    """The token stream of a manifest row's Megatron shard: its documents back to back, read with the
    independent reader."""
    return np.concatenate(list(MegatronDataset(local(row["path"])).documents()))


def _sha256(location: str) -> str:
    return hashlib.sha256(Path(local(location)).read_bytes()).hexdigest()


def test_packed_sequences_are_each_shards_token_stream_cut_into_rows_and_a_rerun_gives_the_same_bytes(lake, crawl_a):
    config = dict(CONFIG_A, packed_sequences={"seq_len": 64})
    result = _materialize([training_shards], lake["root"], CRAWL_A, config, "training_shards")
    assert result.success, _failure(result)
    assert _checks(result) == dict.fromkeys(SHARD_CHECKS, True)
    manifest = _manifest(lake["root"], CRAWL_A)
    assert [r["bin_sha256"] for r in manifest] == [r["bin_sha256"] for r in crawl_a["manifest"]]  # shards unchanged
    for row in manifest:
        stream = shard_stream(row)
        rows = np.load(local(row["packed_path"]))
        n = rows.shape[0]
        assert row["packed_path"] == row["path"] + ".seq64-overlap1-drop.npy" and row["packed_format"] == "npy"
        assert rows.dtype == np.uint16 and rows.shape == (row["packed_sequences"], 65) == (n, row["packed_row_len"])
        assert n == (stream.size - 1) // 64  # Megatron's GPTDataset count of samples
        assert np.array_equal(rows[:, :64].reshape(-1), stream[: n * 64])  # the stream cut into seq_len pieces
        assert np.array_equal(rows[:, 64], stream[64: n * 64 + 1: 64])  # each row's label token: the next row's first
        assert row["packed_tokens"] == n * 64 + 1 and row["packed_dropped_tokens"] == stream.size - n * 64 - 1
        assert row["packed_tokens"] + row["packed_dropped_tokens"] == row["n_tokens"] == stream.size
        assert (row["packed_sha256"], row["packed_bytes"]) == (_sha256(row["packed_path"]),
                                                               os.path.getsize(local(row["packed_path"])))
    assert sum(int((np.load(local(r["packed_path"])) == EOS_ID).sum()) for r in manifest) > len(manifest)  # EOD kept
    meta = _metadata(result, "training_shards")
    assert (meta["packed_format"], meta["packed_files"]) == ("npy", len(manifest))
    assert meta["packed_sequences"] == sum(r["packed_sequences"] for r in manifest)
    assert meta["packed_dropped_tokens"] == sum(r["packed_dropped_tokens"] for r in manifest)
    assert meta["packed_tokens"] + meta["packed_dropped_tokens"] == meta["total_tokens"]
    assert manifest[0]["packed_path"] in meta["packed_file_list"]

    # the run died before its manifest commit: one packed file never written, one half written, one in progress
    shutil.rmtree(table_uri(lake["path"], SHARDS_MANIFEST))
    Path(local(manifest[0]["packed_path"])).unlink()
    half = Path(local(manifest[1]["packed_path"]))
    half.write_bytes(half.read_bytes()[: half.stat().st_size // 2])
    Path(local(manifest[2]["packed_path"]) + ".tmp-0123456789abcdef").write_bytes(b"partial")
    rerun = _materialize([training_shards], lake["root"], CRAWL_A, dict(config, max_actors=1, batch_size=5),
                         "training_shards")
    assert rerun.success and all(_checks(rerun).values()), _failure(rerun)
    fields = ("path", "packed_path", "packed_sequences", "packed_sha256", "packed_bytes", "bin_sha256")
    again = _manifest(lake["root"], CRAWL_A)
    assert [{k: r[k] for k in fields} for r in again] == [{k: r[k] for k in fields} for r in manifest]
    assert all(_sha256(r["packed_path"]) == r["packed_sha256"] for r in again)
    assert _metadata(rerun, "training_shards")["reused_shards"] == len(manifest) - 2
    directory = Path(local(manifest[0]["path"])).parent
    assert not [name for name in os.listdir(directory) if ".tmp-" in name]


def test_packed_sequences_as_parquet_without_overlap_pad_the_last_row(lake, crawl_a):
    packed = {"seq_len": 50, "format": "parquet", "label_token": False, "remainder": "pad", "pad_id": 1}
    result = _materialize([training_shards], lake["root"], CRAWL_A, dict(CONFIG_A, packed_sequences=packed),
                          "training_shards")
    assert result.success and all(_checks(result).values()), _failure(result)
    for row in _manifest(lake["root"], CRAWL_A):
        stream = shard_stream(row)
        table = pq.read_table(local(row["packed_path"]))
        rows = np.array(table.column("tokens").to_pylist())
        n = -(-stream.size // 50)
        assert row["packed_path"].endswith(".seq50-overlap0-pad1.parquet") and rows.shape == (n, 50)
        assert np.array_equal(rows.reshape(-1)[: stream.size], stream) and (rows.reshape(-1)[stream.size:] == 1).all()
        assert table.column("n_valid").to_pylist() == [50] * (n - 1) + [stream.size - 50 * (n - 1)]
        assert (row["packed_tokens"], row["packed_dropped_tokens"]) == (stream.size, 0)
        assert row["packed_padded_tokens"] == n * 50 - stream.size


def test_related_order_puts_each_family_together(lake, crawl_b, raw_tokenizer):
    docs, result = crawl_b["docs"], crawl_b["result"]
    assert all(_checks(result).values())
    meta = _metadata(result, "training_shards")
    assert meta["relatedness_adjacent"] > max(0.3, 3 * meta["relatedness_random"]), meta
    assert meta["documents_without_signature"] == 0 and meta["copies"] == len(docs)
    family_of = {d["text"]: d["family"] for d in docs}
    families = [family_of[text] for text in decoded_sequence(lake["root"], CRAWL_B, raw_tokenizer)]
    runs = [f for i, f in enumerate(families) if i == 0 or f != families[i - 1]]
    assert sorted(families) == sorted(d["family"] for d in docs) and len(runs) == len(set(families))


def test_the_blend_of_both_crawls_lists_every_shard_with_its_tokens(lake, crawl_a, crawl_b):
    result = _materialize([combined_shards], lake["root"], config={"name": "both"}, op="combined_shards")
    assert result.success, _failure(result)
    meta = _metadata(result, "combined_shards")
    manifests = _manifest(lake["root"], CRAWL_A) + _manifest(lake["root"], CRAWL_B)
    assert meta["crawls"] == [CRAWL_A, CRAWL_B] and meta["shards"] == len(manifests)
    assert meta["data_args"].startswith("file://")
    lines = Path(local(meta["data_args"])).read_text().splitlines()
    assert [line.split(" ") for line in lines] == [[str(row["n_tokens"]), row["path"]] for row in manifests]
    assert meta["total_tokens"] == sum(row["n_tokens"] for row in manifests)


def test_refinery_combine_shards_weighs_crawls(lake, crawl_a, crawl_b, monkeypatch, tmp_path, capsys):
    from orchestration.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster-home"))
    monkeypatch.setenv("REFINERY_LAKE_ROOT", lake["root"])
    assert main(["combine-shards", "--name", "cli", "--crawls", CRAWL_A, CRAWL_B, "--weight", f"{CRAWL_B}=0.5"]) == 0
    assert "combined_shards:" in capsys.readouterr().out
    blend = json.loads((Path(lake["path"]) / "shards/combined/cli/blend.json").read_text())
    assert {crawl: c["weight"] for crawl, c in blend["crawls"].items()} == {CRAWL_A: 1.0, CRAWL_B: 0.5}
    assert main(["combine-shards", "--weight", f"{CRAWL_B}=heavy"]) == 2
    assert main(["combine-shards", "--crawls", "CC-MAIN-2099-01"]) == 1


def test_missing_inputs_are_errors_that_name_the_table(tmp_path, ray_session):
    root = str(tmp_path / "lake")
    tiny = write_tokenizer(Path(tmp_path))
    base = ShardStageConfig(tokenizer=str(tiny), eos="<|endoftext|>")
    with pytest.raises(MissingInputError, match="dedup/documents.*materialize `dedup_documents`"):
        run_training_shards(root, CRAWL_A, base)
    write_crawl(root, CRAWL_B, family_corpus(CRAWL_B, 1, 2, 0))  # another crawl only
    with pytest.raises(MissingInputError, match=f"no rows for crawl {CRAWL_A}"):
        run_training_shards(root, CRAWL_A, base)
    _write_table(root, DEDUP_DOCUMENTS, DEDUP_SCHEMA, CRAWL_A, {"doc_id": ["d"], "text": ["t"], "dup_count": [1]})
    for change, table, asset in [({"selection": "selected"}, "scores/preselect", "quality_scores"),
                                 ({"use_refined": True}, "refined/documents", "refined_documents"),
                                 ({"order": "related"}, "dedup/signatures", "dedup_documents")]:
        with pytest.raises(MissingInputError, match=f"{table} .*no rows for crawl {CRAWL_A}.*`{asset}`"):
            run_training_shards(root, CRAWL_A, ShardStageConfig(**{**base.__dict__, **change}))
    with pytest.raises(FileNotFoundError, match="materialize the `tokenizer` asset"):
        run_training_shards(root, CRAWL_A, ShardStageConfig(tokenizer="llama-3"))
    with pytest.raises(ValueError, match="not in the tokenizer's vocabulary"):
        run_training_shards(root, CRAWL_A, ShardStageConfig(tokenizer=str(tiny), eos="</s>"))
    through_dagster = _materialize([training_shards], root, CRAWL_A, {"tokenizer": str(tiny), "selection": "selected"},
                                   "training_shards")
    assert not through_dagster.success and "scores/preselect" in _failure(through_dagster)
