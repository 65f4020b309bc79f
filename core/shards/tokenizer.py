"""The tokenizer of the training shards: a HuggingFace `tokenizers` `tokenizer.json`, by path or URI.

- Loading reads the file through `core.io.remote.open_uri` (a local path, file://, http(s)://,
  s3://) and parses it with `Tokenizer.from_str`. Truncation and padding stored in the file are
  switched off: a shard holds whole documents, and padding would write pad tokens as text.
- `sha256` identifies the tokenizer: the sha256 of its canonical JSON (keys sorted, no optional
  whitespace, UTF-8), so the same tokenizer saved with other indentation or key order has the same
  hash, and any change of vocabulary, merges, normalizer, pre-tokenizer or added tokens changes it.
- `vocab_size` is the size of the id space, max id + 1 over the vocabulary with added tokens: the
  number the token dtype must hold (`get_vocab_size` counts tokens, fewer when ids have gaps).
- Encoding uses `encode_batch_fast` (the ids of `encode_batch`, without the character offsets shards
  do not need) with `add_special_tokens=False` unless configured, so the post-processor adds no BOS
  or EOS of its own; then one end-of-document token is appended per document when configured. This
  is what datatrove's DocumentTokenizer does with its `$A <EOS>` TemplateProcessing post-processor.
- Special tokens spelled out in a text (a page quoting `<|endoftext|>`) are tokenized as ordinary
  text by default (`split_special_tokens`, tokenizers' `encode_special_tokens`): otherwise such a
  page would carry an end-of-document token in its middle and be cut in two for the trainer.
  datatrove matches them as the special tokens; `split_special_tokens=False` does the same.
- Results are flat: all ids of a batch in one numpy array plus the per-document lengths.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from typing import Sequence

import numpy as np
import pyarrow as pa
from tokenizers import Tokenizer

from core.io.remote import open_uri


@dataclass(frozen=True)
class TokenizerParams:
    """How documents become token ids.

    `eos` is the end-of-document token: a token string looked up in the vocabulary, an explicit id,
    or None for no end token. It has no default, as in datatrove's MegatronDocumentTokenizer (which
    requires `eos_token`): it must be the EOS the trainer expects (Megatron resets attention and
    positions on it), and a silent default would merge documents."""

    eos: str | int | None
    add_special_tokens: bool = False  # datatrove: only its own `$A <EOS>` post-processor adds tokens
    split_special_tokens: bool = True  # a text spelling "<|endoftext|>" is text, not the token (datatrove: the token)


@dataclass(frozen=True)
class TokenizedBatch:
    """Token ids of a batch of documents: `ids` uint32[total], `lengths` int64[n_docs] (EOS included)."""

    ids: np.ndarray
    lengths: np.ndarray

    @cached_property
    def offsets(self) -> np.ndarray:
        """int64[n_docs + 1]: document i is ids[offsets[i]:offsets[i + 1]]."""
        out = np.zeros(self.lengths.size + 1, np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out

    @property
    def n_tokens(self) -> int:
        return int(self.ids.size)

    def document(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]:self.offsets[i + 1]]

    def to_arrow(self) -> pa.LargeListArray:
        """One list<uint32> per document (64-bit offsets: a batch may hold more than 2^31 tokens)."""
        return pa.LargeListArray.from_arrays(pa.array(self.offsets), pa.array(self.ids))


def canonical_json_sha256(json_text: str) -> str:
    """sha256 (hex) of a JSON document in canonical form: sorted keys, compact separators, UTF-8."""
    canonical = json.dumps(json.loads(json_text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def id_space_size(tokenizer: Tokenizer) -> int:
    """max id + 1 over the vocabulary and the added tokens."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    if not vocab:
        raise ValueError("the tokenizer has an empty vocabulary")
    return max(vocab.values()) + 1


def resolve_eos(tokenizer: Tokenizer, eos: str | int | None, vocab_size: int) -> int | None:
    """The id of the end-of-document token, or None; a clear error when it is not in the vocabulary."""
    if eos is None:
        return None
    if isinstance(eos, bool):
        raise ValueError(f"eos must be a token string, an id or None, got {eos!r}")
    if isinstance(eos, str):
        token_id = tokenizer.token_to_id(eos)
        if token_id is None:
            raise ValueError(f"end-of-document token {eos!r} is not in the tokenizer's vocabulary")
        return int(token_id)
    if isinstance(eos, (int, np.integer)):
        if not 0 <= int(eos) < vocab_size:
            raise ValueError(f"end-of-document id {eos} is outside the vocabulary (ids 0..{vocab_size - 1})")
        return int(eos)
    raise ValueError(f"eos must be a token string, an id or None, got {eos!r}")


class ShardTokenizer:
    """A loaded tokenizer with its hash, id-space size and end-of-document id."""

    def __init__(self, json_text: str, params: TokenizerParams, source: str = "<memory>"):
        try:
            tokenizer = Tokenizer.from_str(json_text)
        except Exception as exc:  # tokenizers raises a bare Exception on a bad file
            raise ValueError(f"{source}: not a tokenizers tokenizer.json: {exc}") from exc
        tokenizer.no_truncation()
        tokenizer.no_padding()
        tokenizer.encode_special_tokens = params.split_special_tokens
        self.tokenizer = tokenizer
        self.params = params
        self.source = source
        self.sha256 = canonical_json_sha256(json_text)
        self.vocab_size = id_space_size(tokenizer)
        self.eos_id = resolve_eos(tokenizer, params.eos, self.vocab_size)

    def encode_batch(self, texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> TokenizedBatch:
        """Token ids of every text (+ the end-of-document id when configured), flat."""
        texts = _as_text_list(texts)
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=self.params.add_special_tokens)
        id_lists = [encoding.ids for encoding in encodings]
        lengths = np.fromiter(map(len, id_lists), np.int64, count=len(id_lists))
        ids = np.fromiter(chain.from_iterable(id_lists), np.uint32, count=int(lengths.sum()))
        if self.eos_id is None:
            return TokenizedBatch(ids, lengths)
        ids = np.insert(ids, np.cumsum(lengths), np.uint32(self.eos_id))
        return TokenizedBatch(ids, lengths + 1)

    def decode(self, ids: np.ndarray | Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)


def load_tokenizer(uri: str, params: TokenizerParams) -> ShardTokenizer:
    """Read a tokenizer.json from a local path or URI (FileNotFoundError when it is missing)."""
    with open_uri(uri) as stream:
        raw = stream.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{uri}: a tokenizer.json must be UTF-8 ({exc})") from exc
    return ShardTokenizer(text, params, source=uri)


def _as_text_list(texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> list[str]:
    values = texts.to_pylist() if isinstance(texts, (pa.Array, pa.ChunkedArray)) else list(texts)
    for row, value in enumerate(values):
        if not isinstance(value, str):
            raise ValueError(f"row {row} of the batch is {type(value).__name__}, not text: cannot tokenize it")
    return values
