"""core.shards.megatron and core.shards.sharding, checked with an independent reader
(tests/megatron_reader.py) and byte for byte against datatrove's Megatron writer."""
from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from core.shards.megatron import MegatronWriter
from core.shards.sharding import ShardedMegatronWriter, plan_shards
from core.shards.tokenizer import TokenizerParams, load_tokenizer
from tests.megatron_reader import MegatronDataset, read_index
from tests.shards_helpers import EOS, generated_texts, write_tokenizer


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return load_tokenizer(str(write_tokenizer(tmp_path_factory.mktemp("tok"))), TokenizerParams(eos=EOS))


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _write_in_batches(directory, tokenizer, texts, batch_size, max_tokens, name="part"):
    with ShardedMegatronWriter(directory, name, tokenizer.vocab_size, max_tokens) as writer:
        for lo in range(0, len(texts), batch_size):
            batch = tokenizer.encode_batch(texts[lo:lo + batch_size])
            writer.add_documents(batch.ids, batch.lengths)
    return writer.shards


def test_round_trip_decodes_every_shard_back_to_the_input_texts(tmp_path, tokenizer):
    texts = generated_texts(300, seed=11) + [""] + generated_texts(20, seed=12)
    shards = _write_in_batches(tmp_path, tokenizer, texts, batch_size=37, max_tokens=2000)
    assert len(shards) > 3
    decoded = []
    for info in shards:
        index = read_index(info.idx_path)
        assert index.trailing_bytes == 0
        assert index.dtype == np.dtype("<u2")  # 400-token vocabulary
        assert index.document_indices.tolist() == list(range(info.n_documents + 1))
        assert int(index.sequence_lengths.sum()) == info.n_tokens <= 2000
        assert os.path.getsize(info.bin_path) == 2 * info.n_tokens == info.bin_bytes
        assert (info.bin_sha256, info.idx_sha256) == (_sha256(info.bin_path), _sha256(info.idx_path))
        dataset = MegatronDataset(info.prefix)
        for tokens in dataset.documents():
            assert tokens[-1] == tokenizer.eos_id and np.count_nonzero(tokens == tokenizer.eos_id) == 1
            decoded.append(tokenizer.decode(tokens[:-1]))
    assert decoded == texts
    total = sum(info.n_tokens for info in shards)
    assert total == tokenizer.encode_batch(texts).n_tokens
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_same_shards_whatever_the_batching(tmp_path, tokenizer):
    texts = generated_texts(200, seed=21)
    runs = [_write_in_batches(tmp_path / f"b{size}", tokenizer, texts, size, max_tokens=1500)
            for size in (1, 7, 200)]
    digests = [[(s.n_documents, s.bin_sha256, s.idx_sha256) for s in run] for run in runs]
    assert digests[0] == digests[1] == digests[2]
    lengths = tokenizer.encode_batch(texts).lengths
    planned = np.diff(np.append(plan_shards(lengths, 1500), lengths.size))
    assert [s.n_documents for s in runs[0]] == planned.tolist()


def test_header_bytes_match_megatrons_layout(tmp_path):
    with MegatronWriter(tmp_path / "one", vocab_size=100) as writer:
        writer.add_documents(np.array([5, 6, 7, 8, 9], np.uint32), np.array([2, 3]))
    raw = (tmp_path / "one.idx").read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    assert struct.unpack("<QBQQ", raw[9:34]) == (1, 8, 2, 3)
    assert struct.unpack("<2i2q3q", raw[34:]) == (2, 3, 0, 4, 0, 1, 2)
    assert (tmp_path / "one.bin").read_bytes() == np.array([5, 6, 7, 8, 9], "<u2").tobytes()


def test_byte_identical_to_datatrove_megatron_writer(tmp_path, tokenizer):
    from datatrove.pipeline.tokens.megatron_tokenizer import MegatronTokenizedFile

    texts = generated_texts(60, seed=31)
    batch = tokenizer.encode_batch(texts)
    reference = MegatronTokenizedFile(str(tmp_path / "datatrove"), "ref", token_size=2)
    for i in range(len(texts)):
        reference.write(batch.document(i).tolist())
    reference.close()
    with MegatronWriter(tmp_path / "ours" / "ref", tokenizer.vocab_size) as writer:
        writer.add_documents(batch.ids, batch.lengths)
    for suffix in (".bin", ".idx"):
        assert (tmp_path / "ours" / f"ref{suffix}").read_bytes() == (tmp_path / "datatrove" / f"ref{suffix}").read_bytes()


@pytest.mark.parametrize("vocab_size, top_id, code", [(65535, 65534, 8), (65536, 65535, 8), (65537, 65536, 4)])
def test_token_dtype_at_the_uint16_boundary(tmp_path, vocab_size, top_id, code):
    ids = np.array([0, 1, top_id, top_id - 1], np.int64)
    with MegatronWriter(tmp_path / "edge", vocab_size) as writer:
        writer.add_document(ids)
    raw = (tmp_path / "edge.idx").read_bytes()
    assert raw[17] == code
    assert MegatronDataset(str(tmp_path / "edge"))[0].tolist() == ids.tolist()


def test_out_of_range_ids_are_refused(tmp_path):
    with pytest.raises(ValueError, match="token id 65536 is outside the vocabulary"):
        with MegatronWriter(tmp_path / "bad", vocab_size=65536) as writer:
            writer.add_document(np.array([1, 65536]))
    with pytest.raises(ValueError, match="token id -1"):
        with MegatronWriter(tmp_path / "bad", vocab_size=10) as writer:
            writer.add_document(np.array([-1]))
    with pytest.raises(ValueError, match="lengths sum to 3 but 2 ids"):
        with MegatronWriter(tmp_path / "bad", vocab_size=10) as writer:
            writer.add_documents(np.array([1, 2]), np.array([3]))
    assert os.listdir(tmp_path) == []  # every aborted writer removed its temporary files


def test_a_shard_without_tokens_is_refused_and_empty_documents_are_kept(tmp_path):
    with pytest.raises(ValueError, match="a shard without tokens is not written"):
        MegatronWriter(tmp_path / "empty", vocab_size=10).close()
    assert os.listdir(tmp_path) == []
    sharded = ShardedMegatronWriter(tmp_path, "part", vocab_size=10, max_tokens=5)
    sharded.add_documents(np.zeros(0, np.uint32), np.zeros(3, np.int64))  # three empty texts, no EOS
    assert sharded.close() == [] and sharded.dropped_empty_documents == 3 and os.listdir(tmp_path) == []

    with MegatronWriter(tmp_path / "holes", vocab_size=10) as writer:
        writer.add_documents(np.array([3, 4], np.uint32), np.array([0, 2, 0]))
    dataset = MegatronDataset(str(tmp_path / "holes"))
    assert [d.tolist() for d in dataset.documents()] == [[], [3, 4], []]
    assert read_index(str(tmp_path / "holes.idx")).sequence_pointers.tolist() == [0, 0, 4]


def test_no_input_no_shard(tmp_path):
    writer = ShardedMegatronWriter(tmp_path, "part", vocab_size=10, max_tokens=5)
    writer.add_documents(np.zeros(0, np.uint32), np.zeros(0, np.int64))
    assert writer.close() == [] and os.listdir(tmp_path) == []
    assert plan_shards(np.zeros(0), 5).tolist() == []


def test_a_document_larger_than_a_shard_gets_a_shard_of_its_own(tmp_path):
    lengths = np.array([3, 4, 50, 0, 5, 5, 10, 1])
    assert plan_shards(lengths, 10).tolist() == [0, 2, 4, 6, 7]
    ids = np.arange(int(lengths.sum())) % 7
    with ShardedMegatronWriter(tmp_path, "part", vocab_size=7, max_tokens=10) as writer:
        writer.add_documents(ids, lengths)
    shards = writer.shards
    assert [s.n_documents for s in shards] == [2, 2, 2, 1, 1]  # the empty document follows the long one
    assert [s.n_tokens for s in shards] == [7, 50, 10, 10, 1]
    read_back = [doc.tolist() for s in shards for doc in MegatronDataset(s.prefix).documents()]
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    assert read_back == [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(lengths.size)]


def test_an_interrupted_write_never_leaves_a_complete_looking_shard(tmp_path):
    with pytest.raises(RuntimeError):
        with MegatronWriter(tmp_path / "crash", vocab_size=10) as writer:
            writer.add_document(np.array([1, 2, 3]))
            raise RuntimeError("worker died")
    assert os.listdir(tmp_path) == []
    unclosed = MegatronWriter(tmp_path / "killed", vocab_size=10)  # a process killed before close()
    unclosed.add_document(np.array([1, 2, 3]))
    names = os.listdir(tmp_path)
    assert names and all(".tmp-" in name for name in names)
    assert not (tmp_path / "killed.idx").exists() and not (tmp_path / "killed.bin").exists()


def test_a_closed_writer_refuses_more_documents(tmp_path):
    writer = MegatronWriter(tmp_path / "done", vocab_size=10)
    writer.add_document(np.array([1, 2]))
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.add_document(np.array([1]))


def test_tokens_go_to_disk_as_they_are_added(tmp_path):
    writer = MegatronWriter(tmp_path / "stream", vocab_size=1000)
    for _ in range(3):
        writer.add_documents(np.full(100_000, 7, np.uint32), np.full(100, 1000))
    (temporary,) = [p for p in tmp_path.iterdir() if ".bin.tmp-" in p.name]
    assert temporary.stat().st_size >= 2 * 300_000 - 65536  # at most a write buffer is held in memory
    assert not (tmp_path / "stream.idx").exists()
    info = writer.close()
    assert (info.n_documents, info.n_tokens, info.bin_bytes) == (300, 300_000, 600_000)
