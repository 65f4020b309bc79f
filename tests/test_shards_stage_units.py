"""The training-shard stage's parts without Ray: doc_id lookup, the plan, the shard store (local and
through a URI), the index reader, one tokenized batch, shard assembly, the configs and the blend."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pytest

from contract.tables import (SHARDS_DOCUMENTS, SHARDS_DOCUMENTS_SCHEMA, SHARDS_MANIFEST, SHARDS_MANIFEST_SCHEMA,
                             table_uri)
from core.shards import lake_files
from core.shards.doc_index import DocIndex, take_or_null
from core.shards.megatron import MegatronWriter, read_index_summary
from core.shards.mixing import MixingParams
from core.shards.packed_files import PackedOutput
from core.shards.packing import PackingParams
from core.shards.plan import build_plan, copies_in_passes, shuffled_copy_order
from core.shards.shard_store import complete_shard, write_shard
from core.shards.stats import token_length_histogram
from core.shards.tokenizer import ShardTokenizer, TokenizerParams
from gpu_jobs.shards.combine import check_one_tokenizer, choose_rows, combine_shards, crawl_weight_map
from gpu_jobs.shards.config import ShardStageConfig
from gpu_jobs import delta_io
from gpu_jobs.shards.checks import check_shard_tables
from gpu_jobs.shards.tables import commit_documents, commit_manifest
from gpu_jobs.shards.tokenize import tokenize_batch
from gpu_jobs.shards.write import BlockSelection, ShardSpec, assemble_shard
from tests.megatron_reader import MegatronDataset
from tests.shards_helpers import EOS, generated_texts, train_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return ShardTokenizer(train_tokenizer().to_str(), TokenizerParams(eos=EOS))


# ----------------------------------------------------------------------------- doc_id lookup

def test_doc_index_finds_rows_and_reports_absent_ids():
    ids = [f"<urn:uuid:{i:08d}>" for i in range(500)]
    index = DocIndex(pa.array(ids))
    wanted = ["<urn:uuid:00000042>", "absent", "<urn:uuid:00000499>", "<urn:uuid:00000000>"]
    assert index.rows(pa.array(wanted)).tolist() == [42, -1, 499, 0]
    side = pa.table({"doc_id": ids, "score": [i / 500 for i in range(500)]})
    taken = take_or_null(side, index.rows(wanted))
    assert taken.column("score").to_pylist() == [42 / 500, None, 499 / 500, 0.0]


def test_doc_index_refuses_repeated_and_null_ids():
    with pytest.raises(ValueError, match="'b' appears more than once"):
        DocIndex(pa.array(["a", "b", "c", "b"]), name="scores")
    with pytest.raises(ValueError, match="null"):
        DocIndex(pa.array(["a", None]))


# ----------------------------------------------------------------------------- the plan

def test_shuffled_order_is_a_function_of_seed_and_ids_not_of_row_order():
    ids = [f"d{i}" for i in range(200)]
    reps = np.array([1 + i % 3 for i in range(200)])
    rows, copies = shuffled_copy_order(pa.array(ids), reps, seed=7)
    assert rows.size == reps.sum() and sorted(zip(rows.tolist(), copies.tolist())) == sorted(
        (r, c) for r in range(200) for c in range(reps[r]))
    permutation = np.random.default_rng(0).permutation(200)
    rows2, copies2 = shuffled_copy_order(pa.array([ids[i] for i in permutation]), reps[permutation], seed=7)
    assert [(ids[permutation[r]], c) for r, c in zip(rows2, copies2)] == [(ids[r], c) for r, c in zip(rows, copies)]
    rows3, _ = shuffled_copy_order(pa.array(ids), reps, seed=8)
    assert rows3.tolist() != rows.tolist()


def test_copies_in_passes_keep_the_document_order_in_every_pass():
    rows, copies = copies_in_passes(np.array([2, 0, 3, 1]), np.array([1, 3, 2, 1]))
    assert rows.tolist() == [2, 0, 3, 1, 2, 1, 1] and copies.tolist() == [0, 0, 0, 0, 1, 1, 2]
    with pytest.raises(ValueError, match="permutation"):
        copies_in_passes(np.array([0, 0]), np.array([1, 1]))


def test_plan_boundaries_and_fingerprints_depend_only_on_the_ordered_tokens():
    n_tokens = np.array([5, 7, 3, 9, 4])
    hashes = np.array([11, 12, 13, 14, 15])
    plan = build_plan(np.array([0, 1, 2, 3, 4]), np.zeros(5), n_tokens, hashes, max_tokens=12, dtype="uint16")
    assert plan.shard_starts.tolist() == [0, 2, 4] and plan.shard_tokens().tolist() == [12, 12, 4]
    assert plan.shard_bounds(1) == (2, 4) and plan.shard_of_positions().tolist() == [0, 0, 1, 1, 2]
    again = build_plan(np.array([0, 1, 2, 3, 4]), np.zeros(5), n_tokens, hashes, 12, "uint16")
    assert again.sha256 == plan.sha256 and again.fingerprints == plan.fingerprints
    other_content = build_plan(np.array([0, 1, 2, 3, 4]), np.zeros(5), n_tokens, hashes + (np.arange(5) == 4), 12,
                               "uint16")
    assert other_content.fingerprints[:2] == plan.fingerprints[:2]
    assert other_content.fingerprints[2] != plan.fingerprints[2] and other_content.sha256 != plan.sha256
    assert build_plan(np.array([0, 1, 2, 3, 4]), np.zeros(5), n_tokens, hashes, 13, "uint16").sha256 != plan.sha256
    with pytest.raises(ValueError, match="at least one token"):
        build_plan(np.array([0]), np.zeros(1), np.array([0]), np.array([1]), 12, "uint16")


def test_token_length_histogram_lists_every_bucket_in_order():
    histogram = token_length_histogram(np.array([1, 63, 64, 127, 128, 5000, 10**6]))
    assert list(histogram)[:3] == ["< 64", "64-127", "128-255"] and list(histogram)[-1] == ">= 131,072"
    assert histogram["< 64"] == 2 and histogram["64-127"] == 2 and histogram["4,096-8,191"] == 1
    assert histogram[">= 131,072"] == 1 and sum(histogram.values()) == 7


# ----------------------------------------------------------------------------- shard files

@pytest.mark.parametrize("as_uri", [False, True])
def test_a_written_shard_is_found_complete_until_a_byte_changes(tmp_path, as_uri):
    base = f"file://{tmp_path}" if as_uri else str(tmp_path)
    prefix = lake_files.join(base, "shards", "shard_00000")
    ids = np.arange(1, 31, dtype=np.uint32)
    stored = write_shard(prefix, ids, np.array([10, 20]), vocab_size=400, fingerprint="f" * 64)
    assert (stored.n_documents, stored.n_tokens, stored.dtype, stored.reused) == (2, 30, "uint16", False)
    on_disk = str(tmp_path / "shards" / "shard_00000")
    assert [doc.tolist() for doc in MegatronDataset(on_disk).documents()] == [list(range(1, 11)), list(range(11, 31))]
    assert sorted(os.listdir(tmp_path / "shards")) == ["shard_00000.bin", "shard_00000.idx", "shard_00000.json"]
    found = complete_shard(prefix, "f" * 64)
    assert found is not None and found.reused and found.bin_sha256 == stored.bin_sha256
    assert complete_shard(prefix, "e" * 64) is None  # another plan's shard
    with open(on_disk + ".bin", "r+b") as handle:  # same size, one byte changed
        handle.seek(3)
        handle.write(b"\xff")
    assert complete_shard(prefix, "f" * 64) is None
    rewritten = write_shard(prefix, ids, np.array([10, 20]), 400, "f" * 64)
    assert rewritten.bin_sha256 == stored.bin_sha256 and complete_shard(prefix, "f" * 64) is not None


@pytest.mark.parametrize("as_uri", [False, True])
def test_a_shard_with_packed_rows_is_complete_only_with_the_asked_settings(tmp_path, as_uri):
    base = f"file://{tmp_path}" if as_uri else str(tmp_path)
    prefix = lake_files.join(base, "shards", "shard_00000")
    ids, lengths = np.arange(1, 31, dtype=np.uint32), np.array([10, 20])
    packed = PackedOutput(PackingParams(seq_len=8), "npy")
    stored = write_shard(prefix, ids, lengths, vocab_size=400, fingerprint="f" * 64, packed=packed)
    on_disk = tmp_path / "shards"
    assert sorted(os.listdir(on_disk)) == ["shard_00000.bin", "shard_00000.idx", "shard_00000.json",
                                           "shard_00000.seq8-overlap1-drop.npy"]
    assert stored.packed.location == lake_files.join(base, "shards", "shard_00000.seq8-overlap1-drop.npy")
    assert (stored.packed.sequences, stored.packed.tokens, stored.packed.dropped_tokens) == (3, 25, 5)
    rows = np.load(on_disk / "shard_00000.seq8-overlap1-drop.npy")
    assert rows.tolist() == [list(range(1, 10)), list(range(9, 18)), list(range(17, 26))]

    found = complete_shard(prefix, "f" * 64, packed)
    assert found is not None and found.reused and found.packed == stored.packed
    assert complete_shard(prefix, "f" * 64, None).packed is None  # the shard is complete without it
    assert complete_shard(prefix, "f" * 64, PackedOutput(PackingParams(seq_len=4), "npy")) is None
    assert complete_shard(prefix, "f" * 64, PackedOutput(PackingParams(seq_len=8), "parquet")) is None
    (on_disk / "shard_00000.seq8-overlap1-drop.npy").write_bytes(rows[:2].tobytes())  # truncated
    assert complete_shard(prefix, "f" * 64, packed) is None
    again = write_shard(prefix, ids, lengths, 400, "f" * 64, packed)
    assert again.packed.sha256 == stored.packed.sha256 and complete_shard(prefix, "f" * 64, packed) is not None
    write_shard(prefix, ids, lengths, 400, "f" * 64)  # a marker without packed rows
    assert complete_shard(prefix, "f" * 64, packed) is None


def test_lake_files_write_read_and_list_through_a_uri(tmp_path):
    location = lake_files.join(f"file://{tmp_path}", "a", "b.txt")
    lake_files.write_bytes(location, b"hello")
    assert lake_files.exists(location) and lake_files.read_bytes(location) == b"hello"
    assert lake_files.file_size(location) == 5 and lake_files.file_size(location + "x") is None
    assert lake_files.list_names(lake_files.join(f"file://{tmp_path}", "a")) == ["b.txt"]
    assert lake_files.list_directories(f"file://{tmp_path}") == ["a"]
    with pytest.raises(FileNotFoundError, match="b.txtx"):
        lake_files.read_bytes(location + "x")


def test_index_summary_validates_what_megatron_assumes(tmp_path):
    with MegatronWriter(tmp_path / "s", 70000) as writer:
        writer.add_documents(np.arange(12), np.array([5, 7]))
    data = (tmp_path / "s.idx").read_bytes()
    summary = read_index_summary(data)
    assert (summary.dtype, summary.n_sequences, summary.n_tokens, summary.bin_bytes) == ("int32", 2, 12, 48)
    with pytest.raises(ValueError, match="header announces"):
        read_index_summary(data[:-8])
    broken = bytearray(data)
    broken[34 + 8 + 8] ^= 1  # the second sequence pointer
    with pytest.raises(ValueError, match="pointers"):
        read_index_summary(bytes(broken))
    with pytest.raises(ValueError, match="not a Megatron index"):
        read_index_summary(b"MMIDIDY" + data[7:])


# ----------------------------------------------------------------------------- one batch

def _batch(texts, **columns):
    n = len(texts)
    return pa.table({"doc_id": [f"d{i}" for i in range(n)], "text": texts,
                     "dup_count": columns.pop("dup_count", [1] * n), "language": ["en"] * n, **columns})


def test_a_batch_is_mixed_then_each_document_tokenized_once(tokenizer):
    texts = generated_texts(6, seed=4, min_words=3)
    texts[3] = ""
    side = pa.table({"doc_id": ["d0", "d1", "d2", "d3", "d4"], "score": [0.9, 0.1, 0.7, 0.9, None],
                     "selected": [True, False, True, True, None]})
    out = tokenize_batch(_batch(texts), tokenizer, MixingParams(quality="selected"), side, DocIndex(side["doc_id"]))
    assert out.column("reason").to_pylist() == [None, "mixing.not_selected", None, "mixing.missing_text",
                                                "mixing.missing_score", "mixing.missing_score"]
    assert out.column("repetitions").to_pylist() == [1, 0, 1, 0, 0, 0]
    for row in (0, 2):
        ids = np.frombuffer(out.column("tokens")[row].as_py(), "<u2")
        assert ids[-1] == tokenizer.eos_id and tokenizer.decode(ids[:-1]) == texts[row]
        assert out.column("n_tokens")[row].as_py() == ids.size
    assert out.column("tokens").null_count == 4 and out.column("n_tokens").null_count == 4


def test_refined_text_needs_its_document_in_dedup(tokenizer):
    side = pa.table({"doc_id": ["d0"], "dup_count": [2], "language": ["en"]})
    batch = pa.table({"doc_id": ["d0"], "text": ["refined words here"], "action": ["refine"]})
    out = tokenize_batch(batch, tokenizer, MixingParams(quality="all"), side, DocIndex(side["doc_id"]), refined=True)
    assert out.column("refined_action").to_pylist() == ["refine"] and out.column("repetitions").to_pylist() == [1]
    stale = pa.table({"doc_id": ["d0", "gone"], "text": ["a b", "c d"], "action": ["keep", "keep"]})
    with pytest.raises(ValueError, match="'gone'.*stale"):
        tokenize_batch(stale, tokenizer, MixingParams(quality="all"), side, DocIndex(side["doc_id"]), refined=True)


def test_documents_without_tokens_are_left_out_with_a_reason():
    no_eos = ShardTokenizer(train_tokenizer().to_str(), TokenizerParams(eos=None))
    out = tokenize_batch(_batch(["words", " "]), no_eos, MixingParams(quality="all"))
    assert out.column("repetitions").to_pylist()[0] == 1
    assert out.column("reason").to_pylist()[1] in (None, "tokenize.no_tokens")  # " " is a token in byte-level BPE
    empty_tokenizer_json = json.loads(train_tokenizer().to_str())
    empty_tokenizer_json["normalizer"] = {"type": "Strip", "strip_left": True, "strip_right": True}
    stripping = ShardTokenizer(json.dumps(empty_tokenizer_json), TokenizerParams(eos=None))
    out = tokenize_batch(_batch(["words", "   "]), stripping, MixingParams(quality="all"))
    assert out.column("reason").to_pylist() == [None, "tokenize.no_tokens"]
    assert out.column("repetitions").to_pylist() == [1, 0] and out.column("tokens")[1].as_py() is None


def test_a_shard_is_assembled_in_position_order_from_any_blocks(tokenizer):
    texts = generated_texts(5, seed=9, min_words=2)
    tokenized = tokenize_batch(_batch(texts), tokenizer, MixingParams(quality="all"))
    blocks = [tokenized.slice(0, 2), tokenized.slice(2, 3)]
    lengths = tokenized.column("n_tokens").to_pylist()
    order = [3, 0, 4, 1, 2]  # document i goes to position order.index(i)
    spec = ShardSpec(0, "x", "f", 5, sum(lengths), 400, "uint16")
    selections = [BlockSelection(np.array([1, 0]), np.array([order.index(1), order.index(0)])),
                  BlockSelection(np.array([2, 0, 1]), np.array([order.index(4), order.index(2), order.index(3)]))]
    ids, got = assemble_shard(spec, blocks, selections)
    assert got.tolist() == [lengths[i] for i in order]
    offsets = np.concatenate(([0], np.cumsum(got)))
    assert [tokenizer.decode(ids[offsets[k]:offsets[k + 1] - 1]) for k in range(5)] == [texts[i] for i in order]
    with pytest.raises(RuntimeError, match="positions"):
        assemble_shard(spec, blocks[:1], selections[:1])
    with pytest.raises(RuntimeError, match="tokens"):
        assemble_shard(ShardSpec(0, "x", "f", 5, 1, 400, "uint16"), blocks, selections)


# ----------------------------------------------------------------------------- configs

def test_stage_config_validates_and_records_itself():
    config = ShardStageConfig(selection="score_buckets", score_buckets={0.5: 1, 0.9: 3}, order="related")
    assert json.loads(config.to_json())["score_buckets"] == {"0.5": 1, "0.9": 3}
    assert config.needs_scores and not ShardStageConfig().needs_scores
    for bad, message in [({"selection": "best"}, "selection"), ({"order": "random"}, "order"),
                         ({"selection": "score_buckets"}, "score_buckets"), ({"seed": -1}, "seed"),
                         ({"rehydration_max_repetitions": 11}, "rehydration"),
                         ({"max_tokens_per_shard": 0}, "max_tokens_per_shard")]:
        with pytest.raises(ValueError, match=message):
            ShardStageConfig(**bad)


def test_asset_config_maps_onto_the_stage_config():
    from assets.shards import TrainingShardsConfig

    config = TrainingShardsConfig(selection="score_buckets", score_buckets={"0.25": 2}, use_refined=True,
                                  rehydration_max_repetitions=5, language_aliases={"de": "deu_Latn"}).to_job_config()
    assert config.score_buckets == {0.25: 2} and config.use_refined and config.rehydration_max_repetitions == 5
    assert dict(config.language_aliases) == {"de": "deu_Latn"}
    assert TrainingShardsConfig().to_job_config() == ShardStageConfig()
    with pytest.raises(ValueError, match="numbers"):
        TrainingShardsConfig(selection="score_buckets", score_buckets={"high": 2}).to_job_config()


def test_packed_sequences_are_off_by_default_and_map_onto_the_stage_config():
    from assets.shards import PackedSequencesConfig, TrainingShardsConfig

    assert TrainingShardsConfig().to_job_config().packed_sequences is None
    config = TrainingShardsConfig(packed_sequences=PackedSequencesConfig(
        seq_len=512, format="parquet", remainder="pad", pad_id=2)).to_job_config()
    assert config.packed_sequences == PackedOutput(PackingParams(seq_len=512, remainder="pad", pad_id=2), "parquet")
    assert json.loads(config.to_json())["packed_sequences"] == {
        "format": "parquet", "seq_len": 512, "label_token": True, "remainder": "pad", "pad_id": 2}
    assert json.loads(ShardStageConfig().to_json())["packed_sequences"] is None
    with pytest.raises(ValueError, match="needs a pad_id"):
        TrainingShardsConfig(packed_sequences=PackedSequencesConfig(remainder="pad")).to_job_config()
    with pytest.raises(ValueError, match="packed_sequences"):
        ShardStageConfig(packed_sequences={"seq_len": 8})


def test_the_shard_checks_are_blocking():
    from orchestration.definitions import build_definitions

    graph = build_definitions({}).resolve_asset_graph()
    specs = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    for name in ("shards_schema", "shards_unique_doc_id", "shards_tokens_match_idx", "shards_files_match_sha256",
                 "shards_documents_match_mixing"):
        assert specs[name].blocking and specs[name].asset_key.to_user_string() == "training_shards"


# ----------------------------------------------------------------------------- the blend

def _manifest_rows(lake_root, crawl, n_shards, tokenizer_sha="t" * 64, eos=0):
    rows = []
    for shard in range(n_shards):
        prefix = lake_files.join(lake_root, "shards/files", crawl, "plan", f"shard_{shard:05d}")
        stored = write_shard(prefix, np.arange(10 * (shard + 1)), np.array([10] * (shard + 1)), 400, "f" * 64)
        rows.append({"snapshot": crawl, "shard": shard, "path": prefix, "n_documents": stored.n_documents,
                     "n_tokens": stored.n_tokens, "first_position": 0, "dtype": stored.dtype,
                     "bin_sha256": stored.bin_sha256, "idx_sha256": stored.idx_sha256,
                     "bin_bytes": stored.bin_bytes, "idx_bytes": stored.idx_bytes, "seed": 42, "order": "shuffle",
                     "tokenizer_sha256": tokenizer_sha, "tokenizer_uri": "x", "eos_id": eos,
                     "plan_sha256": f"plan-{crawl}", "config": "{}"})
    commit_manifest(lake_root, crawl, pa.Table.from_pylist(rows, schema=SHARDS_MANIFEST_SCHEMA))
    return rows


def test_combining_writes_megatron_data_args_from_the_manifests(lake_root):
    _manifest_rows(lake_root, "CC-MAIN-2024-18", 2)
    _manifest_rows(lake_root, "CC-MAIN-2024-10", 1)
    combined = combine_shards(lake_root, "mix", crawl_weights={"CC-MAIN-2024-18": 0.5})
    assert combined.crawls == ("CC-MAIN-2024-10", "CC-MAIN-2024-18") and combined.shards == 3
    assert combined.tokens_by_crawl == {"CC-MAIN-2024-10": 10, "CC-MAIN-2024-18": 30}
    lines = lake_files.read_bytes(combined.data_args_uri).decode().splitlines()
    assert [line.split(" ")[0] for line in lines] == ["10", "5", "10"]
    assert [line.split(" ")[1].rsplit("/", 3)[-3] for line in lines] == [
        "CC-MAIN-2024-10", "CC-MAIN-2024-18", "CC-MAIN-2024-18"]
    blend = json.loads(lake_files.read_bytes(combined.blend_uri))
    assert blend["crawls"]["CC-MAIN-2024-18"] == {"weight": 0.5, "tokens": 30, "shards": 2,
                                                   "plan_sha256": "plan-CC-MAIN-2024-18"}
    again = combine_shards(lake_root, "mix", crawl_weights={"CC-MAIN-2024-18": 0.5}, verify_sha256=True)
    assert lake_files.read_bytes(again.blend_uri) == lake_files.read_bytes(combined.blend_uri)
    only = combine_shards(lake_root, "one", crawls=["CC-MAIN-2024-18"])
    assert only.crawls == ("CC-MAIN-2024-18",) and only.tokens == 30


def test_combining_refuses_what_cannot_be_blended(lake_root, tmp_path):
    from gpu_jobs.shards.inputs import MissingInputError

    with pytest.raises(MissingInputError, match="shards/manifest"):
        combine_shards(lake_root)
    rows = _manifest_rows(lake_root, "CC-MAIN-2024-10", 1)
    with pytest.raises(MissingInputError, match="CC-MAIN-2099-01"):
        combine_shards(lake_root, crawls=["CC-MAIN-2099-01"])
    with pytest.raises(ValueError, match="not combined"):
        crawl_weight_map(rows, {"CC-MAIN-2099-01": 1.0})
    with pytest.raises(ValueError, match="> 0"):
        crawl_weight_map(rows, {"CC-MAIN-2024-10": 0})
    other = [dict(rows[0], snapshot="CC-MAIN-2024-18", tokenizer_sha256="u" * 64)]
    with pytest.raises(ValueError, match="tokenized differently"):
        check_one_tokenizer(rows + other)
    assert choose_rows(pa.Table.from_pylist(rows + other, schema=SHARDS_MANIFEST_SCHEMA), None)[0]["shard"] == 0
    os.remove(rows[0]["path"] + ".bin")
    with pytest.raises(ValueError, match="missing"):
        combine_shards(lake_root)


def test_a_manifest_written_before_the_packed_columns_still_reads_and_combines(lake_root):
    old_schema = pa.schema([f for f in SHARDS_MANIFEST_SCHEMA if not f.name.startswith("packed_")])
    rows = _manifest_rows(lake_root, "CC-MAIN-2024-10", 1)
    uri = table_uri(lake_root, SHARDS_MANIFEST)
    shutil.rmtree(uri)  # the same rows, as a lake written before packed sequences existed has them
    delta_io.commit_partition(uri, "CC-MAIN-2024-10", old_schema, [delta_io.write_part_file(
        uri, "CC-MAIN-2024-10", pa.Table.from_pylist(rows, schema=old_schema))])
    assert "missing column packed_path" in check_shard_tables(lake_root, "CC-MAIN-2024-10").schema_differences[
        SHARDS_MANIFEST]

    _manifest_rows(lake_root, "CC-MAIN-2024-18", 2)  # this version's commit adds the columns
    everything = {(r["snapshot"], r["shard"]): r for r in delta_io.read_partition_table(uri, "CC-MAIN-2024-10")
                  .to_pylist() + delta_io.read_partition_table(uri, "CC-MAIN-2024-18").to_pylist()}
    assert len(everything) == 3 and all(r["packed_path"] is None for r in everything.values())
    assert everything[("CC-MAIN-2024-10", 0)]["bin_sha256"] == rows[0]["bin_sha256"]
    assert check_shard_tables(lake_root, "CC-MAIN-2024-10").schema_differences[SHARDS_MANIFEST] == []
    assert combine_shards(lake_root, "all").tokens_by_crawl == {"CC-MAIN-2024-10": 10, "CC-MAIN-2024-18": 30}


def _documents_rows(crawl: str, doc_ids: list[str]) -> pa.Table:
    n = len(doc_ids)
    return pa.table({"doc_id": doc_ids, "snapshot": [crawl] * n, "repetitions": [1] * n, "reason": [None] * n,
                     "refined_action": [None] * n, "n_tokens": [5] * n, "token_hash": [1] * n,
                     "positions": [[i] for i in range(n)]}, schema=SHARDS_DOCUMENTS_SCHEMA)


def test_shards_documents_made_bad_on_purpose_fail_the_schema_and_unique_checks(lake_root):
    from assets.shards import shard_table_checks

    crawl = "CC-MAIN-2024-10"
    _manifest_rows(lake_root, crawl, 1)
    commit_documents(lake_root, crawl, _documents_rows(crawl, ["a", "b", "c"]))
    checks = {c.check_name: c for c in shard_table_checks(lake_root, crawl)}
    assert checks["shards_schema"].passed and checks["shards_unique_doc_id"].passed
    assert checks["shards_unique_doc_id"].metadata["rows"].value == 3

    commit_documents(lake_root, crawl, _documents_rows(crawl, ["a", "b", "b", "c"]))  # a document twice
    checks = {c.check_name: c for c in shard_table_checks(lake_root, crawl)}
    assert not checks["shards_unique_doc_id"].passed and checks["shards_unique_doc_id"].metadata["repeated"].value == 1
    assert checks["shards_schema"].passed

    stray = pa.schema(list(SHARDS_DOCUMENTS_SCHEMA) + [("stray", pa.int64())])  # a column the contract lacks
    rows = _documents_rows(crawl, ["a", "b", "c"]).append_column("stray", pa.array([1, 2, 3], pa.int64()))
    uri = table_uri(lake_root, SHARDS_DOCUMENTS)
    delta_io.commit_partition(uri, crawl, stray, [delta_io.write_part_file(uri, crawl, rows)])
    checks = {c.check_name: c for c in shard_table_checks(lake_root, crawl)}
    assert not checks["shards_schema"].passed and checks["shards_unique_doc_id"].passed
    assert checks["shards_schema"].metadata["differences"].value == {
        SHARDS_DOCUMENTS: ["unexpected column stray"], SHARDS_MANIFEST: []}


def test_a_text_spelling_the_end_token_stays_text():
    tok = ShardTokenizer(train_tokenizer().to_str(), TokenizerParams(eos=EOS))
    text = f"quoted {EOS} inside"
    ids = tok.encode_batch([text]).ids
    assert ids.tolist().count(tok.eos_id) == 1 and ids[-1] == tok.eos_id  # only the appended one
    assert tok.decode(ids[:-1]) == text
    as_token = ShardTokenizer(train_tokenizer().to_str(), TokenizerParams(eos=EOS, split_special_tokens=False))
    assert as_token.encode_batch([text]).ids.tolist().count(tok.eos_id) == 2
