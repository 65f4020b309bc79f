"""core.shards.packing and packed_files: fixed-length rows, the label-token overlap, remainder rules,
files, and the streamed file written beside a shard."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.shards import packed_files
from core.shards.packed_files import PackedOutput, write_packed_file
from core.shards.packing import (PackingParams, SequencePacker, pack_tokens, packed_shape, write_packed_npy,
                                 write_packed_parquet)


def test_rows_overlap_by_one_token_and_every_token_is_a_label_once():
    stream = np.arange(23)
    packed, dropped = pack_tokens(stream, PackingParams(seq_len=5), vocab_size=100)
    assert packed.rows.tolist() == [[0, 1, 2, 3, 4, 5], [5, 6, 7, 8, 9, 10], [10, 11, 12, 13, 14, 15],
                                    [15, 16, 17, 18, 19, 20]]
    assert packed.n_valid.tolist() == [6, 6, 6, 6]
    labels = np.concatenate([row[1:] for row in packed.rows])
    assert labels.tolist() == list(range(1, 21))
    assert dropped == 2  # tokens 21 and 22; Megatron: (23 - 1) // 5 = 4 samples
    assert packed.rows.dtype == np.uint16


def test_rows_without_label_token_do_not_overlap():
    packed, dropped = pack_tokens(np.arange(23), PackingParams(seq_len=5, label_token=False), vocab_size=100)
    assert packed.rows.reshape(-1).tolist() == list(range(20)) and dropped == 3


def test_pad_fills_a_last_row_and_records_its_valid_length():
    params = PackingParams(seq_len=5, remainder="pad", pad_id=99)
    packed, dropped = pack_tokens(np.arange(13), params, vocab_size=100)
    assert packed.rows.tolist() == [[0, 1, 2, 3, 4, 5], [5, 6, 7, 8, 9, 10], [10, 11, 12, 99, 99, 99]]
    assert packed.n_valid.tolist() == [6, 6, 3] and dropped == 0


def test_nothing_left_when_the_stream_ends_on_a_row():
    for remainder in ("drop", "pad"):
        params = PackingParams(seq_len=5, remainder=remainder, pad_id=0)
        packed, dropped = pack_tokens(np.arange(11), params, vocab_size=100)  # 2 rows; token 10 is a label
        assert packed.rows.shape == (2, 6) and dropped == 0


def test_a_stream_shorter_than_a_row():
    packed, dropped = pack_tokens(np.arange(3), PackingParams(seq_len=5), vocab_size=100)
    assert packed.rows.shape == (0, 6) and dropped == 3
    padded, _ = pack_tokens(np.arange(3), PackingParams(seq_len=5, remainder="pad", pad_id=7), vocab_size=100)
    assert padded.rows.tolist() == [[0, 1, 2, 7, 7, 7]] and padded.n_valid.tolist() == [3]


def test_rows_do_not_depend_on_batching():
    rng = np.random.default_rng(5)
    stream = rng.integers(0, 70000, size=5000)
    whole, _ = pack_tokens(stream, PackingParams(seq_len=64), vocab_size=70000)
    packer = SequencePacker(PackingParams(seq_len=64), vocab_size=70000)
    parts = [packer.add(stream[lo:lo + size]).rows
             for lo, size in zip(np.cumsum([0, 1, 63, 64, 65, 1000]), [1, 63, 64, 65, 1000, 5000])]
    parts.append(packer.finish().rows)
    assert np.array_equal(np.concatenate(parts), whole.rows)
    assert whole.rows.dtype == np.int32  # vocabulary above 65,536


def test_bad_parameters_and_ids():
    with pytest.raises(ValueError, match="needs a pad_id"):
        PackingParams(remainder="pad")
    with pytest.raises(ValueError, match="remainder must be one of"):
        PackingParams(remainder="keep")
    with pytest.raises(ValueError, match="seq_len"):
        PackingParams(seq_len=0)
    with pytest.raises(ValueError, match="token id 100 is outside"):
        pack_tokens(np.array([1, 100]), PackingParams(seq_len=4), vocab_size=100)


def test_npy_and_parquet_files(tmp_path):
    packed, _ = pack_tokens(np.arange(40), PackingParams(seq_len=8, remainder="pad", pad_id=0), vocab_size=50)
    npy = write_packed_npy(tmp_path / "rows.npy", packed)
    assert np.array_equal(np.load(npy.path), packed.rows)
    assert npy.sha256 == hashlib.sha256((tmp_path / "rows.npy").read_bytes()).hexdigest()
    parquet = write_packed_parquet(tmp_path / "rows.parquet", packed)
    table = pq.read_table(parquet.path)
    tokens_type = table.schema.field("tokens").type
    assert (tokens_type.list_size, tokens_type.value_type) == (9, pa.uint16())
    assert table.column("tokens").to_pylist() == packed.rows.tolist()
    assert table.column("n_valid").to_pylist() == packed.n_valid.tolist()
    assert (parquet.n_rows, parquet.row_len) == (5, 9)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.npy", "rows.parquet"]


# ----------------------------------------------------------------------------- the file beside a shard

@pytest.mark.parametrize("label_token", [True, False])
@pytest.mark.parametrize("remainder", ["drop", "pad"])
def test_packed_shape_predicts_what_the_packer_gives(label_token, remainder):
    params = PackingParams(seq_len=5, label_token=label_token, remainder=remainder, pad_id=0)
    for n in range(0, 40):
        packed, dropped = pack_tokens(np.arange(n) % 50, params, vocab_size=50)
        padded = int(packed.rows.shape[0] * params.row_len - packed.n_valid.sum())
        assert packed_shape(n, params) == (packed.rows.shape[0], dropped, padded), n


def _stream(n: int, vocab: int = 400, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, size=n)


@pytest.mark.parametrize("label_token", [True, False])
def test_a_packed_npy_file_is_what_numpy_save_writes_for_the_rows(tmp_path, monkeypatch, label_token):
    monkeypatch.setattr(packed_files, "CHUNK_TOKENS", 64)  # many chunks
    params = PackingParams(seq_len=16, label_token=label_token)
    ids = _stream(1000)
    output = PackedOutput(params, "npy")
    written = write_packed_file(output.location(str(tmp_path / "shard_00000")), ids, output, vocab_size=400)
    assert written.location == str(tmp_path / f"shard_00000.seq16-overlap{params.overlap}-drop.npy")
    whole, dropped = pack_tokens(ids, params, vocab_size=400)
    np.save(tmp_path / "reference.npy", whole.rows)
    assert Path(written.location).read_bytes() == (tmp_path / "reference.npy").read_bytes()
    rows = np.load(written.location)
    assert rows.dtype == np.uint16 and rows.shape == (written.sequences, params.row_len)
    assert np.array_equal(rows[:, :16].reshape(-1), ids[: written.sequences * 16])  # the stream cut into pieces
    assert (written.tokens, written.dropped_tokens, written.padded_tokens) == (1000 - dropped, dropped, 0)
    assert written.sha256 == hashlib.sha256(Path(written.location).read_bytes()).hexdigest()


def test_a_packed_parquet_file_pads_its_last_row_and_is_the_same_bytes_twice(tmp_path, monkeypatch):
    monkeypatch.setattr(packed_files, "CHUNK_TOKENS", 100)
    params = PackingParams(seq_len=10, label_token=False, remainder="pad", pad_id=7)
    ids = _stream(1234, vocab=70000)
    output = PackedOutput(params, "parquet")
    first = write_packed_file(tmp_path / "a.parquet", ids, output, vocab_size=70000)
    second = write_packed_file(tmp_path / "b.parquet", ids, output, vocab_size=70000)
    assert first.sha256 == second.sha256 and first.bytes == second.bytes
    table = pq.read_table(first.location)
    rows = np.array(table.column("tokens").to_pylist())
    assert table.schema.field("tokens").type.value_type == pa.int32() and rows.shape == (124, 10)
    assert np.array_equal(rows.reshape(-1)[:1234], ids) and (rows.reshape(-1)[1234:] == 7).all()
    assert table.column("n_valid").to_pylist() == [10] * 123 + [4]
    assert pq.ParquetFile(first.location).metadata.num_row_groups > 1
    assert (first.tokens, first.dropped_tokens, first.padded_tokens) == (1234, 0, 6)


def test_an_interrupted_packed_write_leaves_no_file(tmp_path, monkeypatch):
    def broken(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(packed_files, "packed_chunks", broken)
    with pytest.raises(OSError, match="disk gone"):
        write_packed_file(tmp_path / "x.npy", _stream(100), PackedOutput(PackingParams(seq_len=8)), 400)
    assert list(tmp_path.iterdir()) == []


def test_packed_output_settings_are_checked():
    with pytest.raises(ValueError, match="format must be one of"):
        PackedOutput(PackingParams(), "csv")
    assert PackedOutput(PackingParams(seq_len=4, remainder="pad", pad_id=3), "parquet").tag == "seq4-overlap1-pad3"
