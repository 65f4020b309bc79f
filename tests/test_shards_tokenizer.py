"""core.shards.tokenizer: loading by path/URI, hash, id space, batch encoding with end-of-document."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pytest
from tokenizers import Tokenizer, models
from tokenizers.processors import TemplateProcessing

from core.shards.token_dtype import token_dtype
from core.shards.tokenizer import ShardTokenizer, TokenizerParams, load_tokenizer
from tests.shards_helpers import EOS, generated_texts, train_tokenizer, write_tokenizer


@pytest.fixture(scope="module")
def tokenizer_path(tmp_path_factory):
    return write_tokenizer(tmp_path_factory.mktemp("tok"))


def test_loads_from_path_and_file_uri_with_the_same_hash(tokenizer_path):
    by_path = load_tokenizer(str(tokenizer_path), TokenizerParams(eos=EOS))
    by_uri = load_tokenizer(f"file://{tokenizer_path}", TokenizerParams(eos=EOS))
    expected = hashlib.sha256(json.dumps(json.loads(tokenizer_path.read_text("utf-8")), sort_keys=True,
                                         separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert by_path.sha256 == by_uri.sha256 == expected
    assert by_path.vocab_size == 400
    assert by_path.eos_id == Tokenizer.from_file(str(tokenizer_path)).token_to_id(EOS)


def test_hash_ignores_formatting_but_not_content(tokenizer_path, tmp_path):
    data = json.loads(tokenizer_path.read_text("utf-8"))
    reformatted = tmp_path / "reformatted.json"
    reformatted.write_text(json.dumps(data, indent=4), encoding="utf-8")
    reordered = tmp_path / "reordered.json"
    reordered.write_text(json.dumps(dict(reversed(list(data.items())))), encoding="utf-8")
    other = write_tokenizer(tmp_path, vocab_size=350)
    params = TokenizerParams(eos=None)
    base = load_tokenizer(str(tokenizer_path), params).sha256
    assert load_tokenizer(str(reformatted), params).sha256 == base
    assert load_tokenizer(str(reordered), params).sha256 == base
    assert load_tokenizer(str(other), params).sha256 != base


def test_encode_batch_is_flat_and_appends_one_eos_per_document(tokenizer_path):
    tok = load_tokenizer(str(tokenizer_path), TokenizerParams(eos=EOS))
    raw = Tokenizer.from_file(str(tokenizer_path))
    texts = generated_texts(50, seed=3) + [""]
    batch = tok.encode_batch(texts)
    assert batch.ids.dtype == np.uint32 and batch.lengths.dtype == np.int64
    assert batch.lengths.size == len(texts) and batch.n_tokens == int(batch.lengths.sum())
    for i, text in enumerate(texts):
        expected = raw.encode(text, add_special_tokens=False).ids + [tok.eos_id]
        assert batch.document(i).tolist() == expected
        assert tok.decode(batch.document(i)[:-1]) == text
    assert batch.document(len(texts) - 1).tolist() == [tok.eos_id]  # the empty document
    as_arrow = batch.to_arrow()
    assert as_arrow.type == pa.large_list(pa.uint32()) and as_arrow[5].as_py() == batch.document(5).tolist()


def test_fast_encoding_gives_the_ids_of_encode_batch(tokenizer_path):
    raw = Tokenizer.from_file(str(tokenizer_path))
    texts = generated_texts(40, seed=9)
    slow = [e.ids for e in raw.encode_batch(texts, add_special_tokens=False)]
    tok = load_tokenizer(str(tokenizer_path), TokenizerParams(eos=None))
    batch = tok.encode_batch(pa.array(texts))
    assert [batch.document(i).tolist() for i in range(len(texts))] == slow


def test_eos_by_id_and_none(tokenizer_path):
    with_id = load_tokenizer(str(tokenizer_path), TokenizerParams(eos=1))
    assert with_id.encode_batch(["abc"]).document(0)[-1] == 1
    without = load_tokenizer(str(tokenizer_path), TokenizerParams(eos=None))
    assert without.eos_id is None
    batch = without.encode_batch(["", "abc"])
    assert batch.lengths[0] == 0 and batch.lengths[1] >= 1


def test_eos_not_in_vocabulary_is_a_clear_error(tokenizer_path):
    with pytest.raises(ValueError, match=r"'</s>' is not in the tokenizer's vocabulary"):
        load_tokenizer(str(tokenizer_path), TokenizerParams(eos="</s>"))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        load_tokenizer(str(tokenizer_path), TokenizerParams(eos=400))
    with pytest.raises(ValueError, match="token string, an id or None"):
        load_tokenizer(str(tokenizer_path), TokenizerParams(eos=True))


def test_post_processor_tokens_only_when_configured(tmp_path):
    raw = train_tokenizer()
    pad = raw.token_to_id("<|pad|>")
    raw.post_processor = TemplateProcessing(single="<|pad|> $A", special_tokens=[("<|pad|>", pad)])
    path = tmp_path / "with_post.json"
    raw.save(str(path))
    plain = load_tokenizer(str(path), TokenizerParams(eos=EOS)).encode_batch(["hello"]).document(0)
    special = load_tokenizer(str(path), TokenizerParams(eos=EOS, add_special_tokens=True)).encode_batch(["hello"]).document(0)
    assert plain[0] != pad and special[0] == pad
    assert special[1:].tolist() == plain.tolist()


def test_truncation_and_padding_in_the_file_are_switched_off(tmp_path):
    raw = train_tokenizer()
    raw.enable_truncation(max_length=4)
    raw.enable_padding(pad_id=raw.token_to_id("<|pad|>"), pad_token="<|pad|>", length=64)
    path = tmp_path / "truncating.json"
    raw.save(str(path))
    tok = load_tokenizer(str(path), TokenizerParams(eos=None))
    long_text = " ".join(["word"] * 100)
    batch = tok.encode_batch([long_text, "a"])
    assert tok.decode(batch.document(0)) == long_text
    assert batch.lengths[1] == 1


def test_null_text_names_the_row(tokenizer_path):
    tok = load_tokenizer(str(tokenizer_path), TokenizerParams(eos=EOS))
    with pytest.raises(ValueError, match="row 1 of the batch is NoneType"):
        tok.encode_batch(pa.array(["a", None, "b"]))


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_tokenizer(str(tmp_path / "absent.json"), TokenizerParams(eos=None))
    broken = tmp_path / "broken.json"
    broken.write_text('{"model": 3}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a tokenizers tokenizer.json"):
        load_tokenizer(str(broken), TokenizerParams(eos=None))


def _word_level(n_ids: int) -> str:
    vocab = {f"t{i}": i for i in range(n_ids)}
    return Tokenizer(models.WordLevel(vocab=vocab, unk_token="t0")).to_str()


@pytest.mark.parametrize("n_ids, dtype", [(65535, np.uint16), (65536, np.uint16), (65537, np.int32)])
def test_vocabulary_at_the_uint16_boundary(n_ids, dtype):
    tok = ShardTokenizer(_word_level(n_ids), TokenizerParams(eos=f"t{n_ids - 1}"))
    assert tok.vocab_size == n_ids
    assert token_dtype(tok.vocab_size) == np.dtype(dtype)
    assert tok.encode_batch([""]).ids.tolist() == [n_ids - 1]


def test_a_loaded_tokenizer_survives_pickling(tokenizer_path):
    import pickle

    tok = load_tokenizer(str(tokenizer_path), TokenizerParams(eos=EOS))
    copy = pickle.loads(pickle.dumps(tok))  # what Ray does to ship it to a worker
    texts = generated_texts(10, seed=2)
    assert copy.sha256 == tok.sha256 and copy.eos_id == tok.eos_id
    assert np.array_equal(copy.encode_batch(texts).ids, tok.encode_batch(texts).ids)
