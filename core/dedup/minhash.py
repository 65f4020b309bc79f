"""MinHash signatures and LSH band hashes, vectorized over batches of documents (numpy + Arrow).

Pipeline for a batch of texts (no Python-level loop body per word or per shingle):
1. normalize the column with Arrow kernels (normalize.py);
2. hash every word once with xxh64 of its UTF-8 bytes (the only per-word step, a C-level `map`);
3. hash every word n-gram (shingle) once to 64 bits: a keyed linear combination of its n word hashes
   (different odd keys per position, so order matters), finished with splitmix64, masked to 61 bits;
4. apply the `num_perm` permutations as universal hashing h_i(x) = (a_i * x + b_i) mod (2^61 - 1),
   computed exactly (the 122-bit product is reduced with 32-bit limbs and the Mersenne identity
   2^61 = 1), in blocks of shingles x permutations that stay in cache;
5. min-reduce per document with `np.minimum.reduceat`.

Rules (stated once, used everywhere):
- A document of 1..n-1 words has one shingle: its whole word sequence (normalize.shingles).
- A document whose normalized text is empty (or null) has no shingles. Its signature is the sentinel
  EMPTY_SIGNATURE_VALUE (2^64 - 1) in every position, a value no real minimum can take (real values
  are < 2^61 - 1); `estimate_jaccard` returns 0.0 when either side is the sentinel, and in the Arrow
  output its band hashes are null, so empty documents never become LSH candidates of each other.
- Words (MinHashParams.words): "whitespace" (FineWeb, the default) takes the space-separated tokens
  of the normalized text; for scripts without spaces (Chinese, Japanese, Thai) a "word" is then a
  whole run, so MinHash degrades towards exact matching of long runs. "language" (FineWeb2) first
  splits each text with its language's word tokenizer (language_words.py, a `language_key` column).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from core.dedup.language_words import WORD_MODES, WORDS_LANGUAGE, WORDS_WHITESPACE, segment_words
from core.dedup.normalize import exact_key, normalize_array

MERSENNE_61 = (1 << 61) - 1
EMPTY_SIGNATURE_VALUE = np.uint64(0xFFFFFFFFFFFFFFFF)

_P61 = np.uint64(MERSENNE_61)
_M32 = np.uint64(0xFFFFFFFF)
_M29 = np.uint64((1 << 29) - 1)
_U64 = np.uint64
_xxh64 = xxhash.xxh64_intdigest  # str arguments are hashed as UTF-8


@dataclass(frozen=True)
class MinHashParams:
    """MinHash + LSH parameters. Defaults are FineWeb's (datatrove `MinhashConfig`, v0.10.1, used by
    `examples/fineweb.py`): 14 buckets x 8 hashes = 112 permutations, word 5-grams, seed 1, 64-bit
    hashes. A pair of Jaccard s becomes a candidate with probability 1 - (1 - s^8)^14."""

    num_bands: int = 14  # FineWeb: MinhashConfig.num_buckets = 14
    rows_per_band: int = 8  # FineWeb: MinhashConfig.hashes_per_bucket = 8
    ngram: int = 5  # FineWeb: MinhashConfig.n_grams = 5
    seed: int = 1  # FineWeb: MinhashConfig.seed = 1 (our permutations differ from datatrove's anyway)
    # FineWeb: "whitespace" (the normalized text's space-separated tokens); FineWeb2's
    # MinhashDedupSignature(language=...) uses "language" (language_words.py: the language's word tokenizer)
    words: str = WORDS_WHITESPACE

    def __post_init__(self):
        for name in ("num_bands", "rows_per_band", "ngram"):
            if getattr(self, name) < 1:
                raise ValueError(f"MinHashParams.{name} must be >= 1, got {getattr(self, name)}")
        if self.words not in WORD_MODES:
            raise ValueError(f"MinHashParams.words must be one of {WORD_MODES}, got {self.words!r}")

    @property
    def num_perm(self) -> int:
        return self.num_bands * self.rows_per_band


# ---------------------------------------------------------------------------------------------
# 64-bit hashing helpers (all uint64 arithmetic wraps mod 2^64, which is what we want)


def _fmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 / Stafford variant 13 finalizer: a bijection of uint64 with full avalanche."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> _U64(30))
        x = x * _U64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> _U64(27))
        x = x * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


@lru_cache(maxsize=8)
def _keys(count: int, stream: int) -> np.ndarray:
    """`count` fixed odd 64-bit keys (independent of MinHashParams.seed: word and shingle hashes must
    not change when the permutations do)."""
    rng = np.random.RandomState(0x5EED + stream)
    return rng.randint(0, 2**63, size=count, dtype=np.uint64) * _U64(2) + _U64(1)


@lru_cache(maxsize=8)
def permutation_coefficients(seed: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the universal hash family (a*x + b) mod (2^61 - 1), a in [1, p), b in [0, p).
    Drawn with numpy's legacy RandomState, whose stream is stable across numpy versions."""
    rng = np.random.RandomState(seed)
    a = rng.randint(1, MERSENNE_61, size=num_perm, dtype=np.uint64)
    b = rng.randint(0, MERSENNE_61, size=num_perm, dtype=np.uint64)
    return a, b


# ---------------------------------------------------------------------------------------------
# words and shingles of a normalized Arrow column


def word_hashes(norm: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """xxh64 (seed 0) of the UTF-8 bytes of every word of a normalized column, in order, and the
    word count per document: (uint64[total_words], int64[n_docs]).

    One C-level `map` per document; measured faster than a byte-level numpy polynomial hash
    (0.15 vs 0.7 ms per 12.8k-character document), because numpy needs ~10 passes over
    8-byte-widened copies of every byte.
    """
    per_doc, counts = [], []
    for text in norm.to_pylist():
        ws = text.split(" ") if text else []
        per_doc.append(np.fromiter(map(_xxh64, ws), np.uint64, len(ws)))
        counts.append(len(ws))
    hashes = np.concatenate(per_doc) if per_doc else np.zeros(0, np.uint64)
    return hashes, np.asarray(counts, dtype=np.int64)


def shingle_hashes(words_h: np.ndarray, counts: np.ndarray, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """61-bit hashes of every word n-gram of every document, and the shingle count per document.

    A document of c >= n words has c - n + 1 shingles; of 1 <= c < n words, one shingle (its whole
    word sequence); of 0 words, none.
    """
    counts = np.asarray(counts, np.int64)
    n_docs = counts.size
    total = words_h.size
    keys = _keys(ngram + 1, 3)
    doc_start = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64) if n_docs else counts
    padded = np.concatenate((words_h, np.zeros(ngram, np.uint64)))
    with np.errstate(over="ignore"):
        window = np.zeros(total, np.uint64)
        for j in range(ngram):
            window += padded[j : j + total] * keys[j]
    doc_of_word = np.repeat(np.arange(n_docs), counts)
    pos = np.arange(total, dtype=np.int64) - doc_start[doc_of_word]
    valid = pos <= (counts[doc_of_word] - ngram)
    sh_counts = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    short = np.flatnonzero((counts > 0) & (counts < ngram))
    if short.size:
        # whole-sequence shingle of a short document: sum of its first c words, plus a length key
        with np.errstate(over="ignore"):
            short_vals = np.zeros(short.size, np.uint64)
            for j in range(ngram - 1):
                take = counts[short] > j
                idx = doc_start[short[take]] + j
                short_vals[take] += words_h[idx] * keys[j]
            short_vals += counts[short].astype(np.uint64) * keys[ngram]
        window[doc_start[short]] = short_vals
        valid[doc_start[short]] = True
    hashes = _fmix64(window[valid]) & _P61
    return hashes, sh_counts


# ---------------------------------------------------------------------------------------------
# permutations and min-reduction


class _PermuteBuffers:
    """Scratch arrays for one block of shingles x permutations, reused across blocks."""

    def __init__(self, rows: int, num_perm: int):
        self.out, self.ll, self.cross, self.tmp = (np.empty((rows, num_perm), np.uint64) for _ in range(4))

    def view(self, rows: int):
        return self.out[:rows], self.ll[:rows], self.cross[:rows], self.tmp[:rows]


def _mulmod_p61(x_lo, x_hi, a_lo, a_hi, b, bufs: tuple) -> np.ndarray:
    """(a*x + b) mod (2^61 - 1), exactly, for x, a < 2^61 given as 32-bit limbs (x: (B,1), a, b: (1,P)).

    a*x = hh*2^64 + cross*2^32 + ll with hh = a_hi*x_hi < 2^58, cross = a_hi*x_lo + a_lo*x_hi < 2^62,
    ll = a_lo*x_lo < 2^64; modulo p, 2^61 = 1, so 2^64 = 8 and
    cross*2^32 = (cross >> 29) + ((cross & (2^29 - 1)) << 32). Every intermediate fits in 64 bits.
    """
    out, ll, cross, tmp = bufs
    np.multiply(x_lo, a_lo, out=ll)
    np.multiply(x_lo, a_hi, out=cross)
    np.multiply(x_hi, a_lo, out=tmp)
    cross += tmp
    np.multiply(x_hi, a_hi, out=out)
    out <<= _U64(3)
    out += b
    np.bitwise_and(ll, _P61, out=tmp)
    out += tmp
    ll >>= _U64(61)
    out += ll
    np.right_shift(cross, _U64(29), out=tmp)
    out += tmp
    cross &= _M29
    cross <<= _U64(32)
    out += cross  # < 4 * 2^61 + 2^34
    np.bitwise_and(out, _P61, out=tmp)
    out >>= _U64(61)
    out += tmp  # < 2^61 + 4
    np.subtract(out, _P61, out=tmp)  # wraps to a huge value when out < p
    np.minimum(out, tmp, out=out)  # canonical residue in [0, p)
    return out


def _min_permuted(x: np.ndarray, sh_counts: np.ndarray, params: MinHashParams, block: int = 512) -> np.ndarray:
    """Per-document minima over shingles of the permuted hashes: uint64[n_docs, num_perm].

    Shingles are processed in blocks of `block` rows (block x num_perm x 8 bytes per scratch array,
    4 arrays: 1.8 MB at the defaults, about the size of an L2 cache); a document may span blocks."""
    n_docs = sh_counts.size
    num_perm = params.num_perm
    sig = np.full((n_docs, num_perm), EMPTY_SIGNATURE_VALUE, dtype=np.uint64)
    if x.size == 0:
        return sig
    a, b = permutation_coefficients(params.seed, num_perm)
    a_lo, a_hi, b_row = (a & _M32)[None, :], (a >> _U64(32))[None, :], b[None, :]
    x_lo, x_hi = (x & _M32)[:, None], (x >> _U64(32))[:, None]
    doc_of_sh = np.repeat(np.arange(n_docs), sh_counts)
    bufs = _PermuteBuffers(min(block, x.size), num_perm)
    for lo in range(0, x.size, block):
        hi = min(lo + block, x.size)
        out = _mulmod_p61(x_lo[lo:hi], x_hi[lo:hi], a_lo, a_hi, b_row, bufs.view(hi - lo))
        docs = doc_of_sh[lo:hi]
        seg = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
        mins = np.minimum.reduceat(out, seg, axis=0)
        d = docs[seg]
        np.minimum(sig[d], mins, out=mins)
        sig[d] = mins
    return sig


# ---------------------------------------------------------------------------------------------
# public API


def _signatures_of_normalized(norm: pa.Array, params: MinHashParams
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(signatures uint64[n, num_perm], word counts, shingle hashes, shingle counts) of a normalized
    column."""
    w, counts = word_hashes(norm)
    x, sh_counts = shingle_hashes(w, counts, params.ngram)
    return _min_permuted(x, sh_counts, params), counts, x, sh_counts


def signatures(texts: list[str] | pa.Array, params: MinHashParams = MinHashParams(),
               languages: list[str | None] | None = None) -> np.ndarray:
    """MinHash signatures of raw texts: uint64 array of shape (len(texts), num_bands * rows_per_band).

    Values are in [0, 2^61 - 1); a document without shingles (empty after normalization) gets the
    sentinel EMPTY_SIGNATURE_VALUE in every position. With `params.words == "language"`,
    `languages` (`fra_Latn` per text) chooses each text's word tokenizer."""
    norm = normalize_array(texts)
    if params.words == WORDS_LANGUAGE:
        if languages is None:
            raise ValueError("MinHash words by language need `languages`, one key per text")
        norm = segment_words(norm, languages)
    return _signatures_of_normalized(norm, params)[0]


def is_empty_signature(sig: np.ndarray) -> np.ndarray:
    """True for signatures (rows) that are the empty-document sentinel."""
    return np.asarray(sig)[..., 0] == EMPTY_SIGNATURE_VALUE


def band_hashes(sigs: np.ndarray, params: MinHashParams = MinHashParams()) -> np.ndarray:
    """64-bit hash of each band's `rows_per_band` values, with the band index mixed in:
    int64 array of shape (n, num_bands). Two documents share band k's hash iff (up to 2^-64
    collisions) their signatures agree on all rows of band k.

    Sentinel (empty) rows hash like any other, so all empty documents share their band hashes:
    callers must drop them (`is_empty_signature`); `signature_columns` writes them as null."""
    sigs = np.asarray(sigs, dtype=np.uint64)
    n = sigs.shape[0]
    if sigs.shape[1] != params.num_perm:
        raise ValueError(f"signatures have {sigs.shape[1]} columns, params expect {params.num_perm}")
    bands = sigs.reshape(n, params.num_bands, params.rows_per_band)
    keys = _keys(params.rows_per_band, 4)
    band_keys = _keys(params.num_bands, 5)
    with np.errstate(over="ignore"):
        acc = (bands * keys[None, None, :]).sum(axis=2, dtype=np.uint64)
        acc += band_keys[None, :]
    return _fmix64(acc).view(np.int64)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float | np.ndarray:
    """Fraction of equal positions (the MinHash estimate of Jaccard). Works on two signatures or on
    two (n, num_perm) arrays row-wise; 0.0 wherever either side is the empty sentinel."""
    a, b = np.asarray(sig_a), np.asarray(sig_b)
    est = (a == b).mean(axis=-1)
    est = np.where(is_empty_signature(a) | is_empty_signature(b), 0.0, est)
    return float(est) if est.ndim == 0 else est


# ---------------------------------------------------------------------------------------------
# Arrow entry point for Spark's mapInArrow

SIGNATURE_COLUMNS_BYTES_PER_CHUNK = 8 << 20  # bound the intermediate arrays (~10x the text bytes)
LANGUAGE_KEY_COLUMN = "language_key"  # `fra_Latn`: which word tokenizer splits the row (words="language")


def signature_schema(doc_id_type: pa.DataType = pa.string(), with_shingle_sets: bool = False) -> pa.Schema:
    """Schema of `signature_columns`' output (list columns map to Spark ArrayType(LongType))."""
    fields = [
        ("doc_id", doc_id_type),
        ("exact_hash", pa.string()),  # 32 hex digits, xxh3-128 of the normalized text; null for null text
        ("n_words", pa.int32()),  # words after normalization
        ("n_shingles", pa.int32()),  # distinct positions, not distinct shingles
        ("band_hashes", pa.list_(pa.int64())),  # num_bands values; null when n_shingles == 0
        ("minhash", pa.list_(pa.int64())),  # num_perm values in [0, 2^61-1); all -1 when empty
    ]
    if with_shingle_sets:
        fields.append(("shingle_set", pa.list_(pa.int64())))  # `shingle_sets`: sorted distinct shingle hashes
    return pa.schema(fields)


def signature_columns(batch: pa.RecordBatch, params: MinHashParams = MinHashParams(),
                      with_shingle_sets: bool = False) -> pa.RecordBatch:
    """doc_id + exact-dedup key + MinHash signature + LSH band hashes for a batch with columns
    'doc_id' and 'text'; with `with_shingle_sets`, also each text's set of shingle hashes (the
    `shingle_sets` column, computed from the same hashes in the same pass). Long batches are processed
    in chunks of about SIGNATURE_COLUMNS_BYTES_PER_CHUNK bytes of text to bound memory."""
    texts = batch.column("text")
    sizes = pc.fill_null(pc.binary_length(texts), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    bounds = _chunk_bounds(sizes, SIGNATURE_COLUMNS_BYTES_PER_CHUNK)
    parts = [_signature_chunk(batch.slice(lo, hi - lo), params, with_shingle_sets) for lo, hi in bounds]
    if not parts:
        schema = signature_schema(batch.schema.field("doc_id").type, with_shingle_sets)
        return pa.RecordBatch.from_pylist([], schema=schema)
    return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]


def _chunk_bounds(sizes: np.ndarray, budget: int) -> list[tuple[int, int]]:
    bounds, lo, acc = [], 0, 0
    for i, s in enumerate(sizes):
        if acc and acc + s > budget:
            bounds.append((lo, i))
            lo, acc = i, 0
        acc += s
    if lo < len(sizes):
        bounds.append((lo, len(sizes)))
    return bounds


def _signature_chunk(batch: pa.RecordBatch, params: MinHashParams, with_shingle_sets: bool) -> pa.RecordBatch:
    texts = batch.column("text")
    norm = normalize_array(texts)
    sig, counts, x, sh_counts = _signatures_of_normalized(_words_of(norm, batch, params), params)
    n = len(batch)
    exact = [
        None if raw is None else exact_key(nt or "", raw)
        for nt, raw in zip(norm.to_pylist(), texts.to_pylist())
    ]
    bands = band_hashes(sig, params)
    empty = sh_counts == 0
    band_offsets = np.arange(n + 1, dtype=np.int32) * params.num_bands
    band_list = pa.ListArray.from_arrays(
        pa.array(band_offsets), pa.array(bands.reshape(-1)), mask=pa.array(empty)
    )
    sig_offsets = np.arange(n + 1, dtype=np.int32) * params.num_perm
    sig_list = pa.ListArray.from_arrays(pa.array(sig_offsets), pa.array(sig.view(np.int64).reshape(-1)))
    columns = [
        batch.column("doc_id"),
        pa.array(exact, type=pa.string()),
        pa.array(counts.astype(np.int32)),
        pa.array(sh_counts.astype(np.int32)),
        band_list,
        sig_list,
    ]
    if with_shingle_sets:
        columns.append(_sorted_sets(x, sh_counts, pc.is_null(texts)))
    return pa.RecordBatch.from_arrays(columns, schema=signature_schema(batch.schema.field("doc_id").type,
                                                                       with_shingle_sets))


def _words_of(norm: pa.Array, batch: pa.RecordBatch, params: MinHashParams) -> pa.Array:
    """The normalized column with words separated as `params.words` says: unchanged for
    "whitespace"; for "language", split by each row's language (column LANGUAGE_KEY_COLUMN)."""
    if params.words != WORDS_LANGUAGE:
        return norm
    if LANGUAGE_KEY_COLUMN not in batch.schema.names:
        raise ValueError(f"MinHash words by language need a {LANGUAGE_KEY_COLUMN!r} column "
                         f"(e.g. fra_Latn per row); the batch has {batch.schema.names}")
    return segment_words(norm, batch.column(LANGUAGE_KEY_COLUMN).to_pylist())


def signatures_from_column(minhash: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Back from the `minhash` list<int64> column to a uint64 (n, num_perm) array."""
    if isinstance(minhash, pa.ChunkedArray):
        minhash = minhash.combine_chunks()
    n = len(minhash)
    flat = minhash.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    return flat.view(np.uint64).reshape(n, -1) if n else np.zeros((0, 0), np.uint64)


# ---------------------------------------------------------------------------------------------
# exact Jaccard on shingle-hash sets (edge verification by exact Jaccard)


def shingle_sets(texts: list[str] | pa.Array | pa.ChunkedArray, ngram: int = 5) -> pa.ListArray:
    """The set of word n-gram hashes of each raw text, as sorted distinct int64 values (list<int64>;
    [] for a text without shingles, null for a null text). Same normalization and shingles as the
    signatures (`shingle_hashes`: 61-bit hashes, so |A & B| / |A | B| on these sets is the exact
    Jaccard of `normalize.exact_jaccard` unless two distinct shingles collide, probability ~n^2 / 2^62).
    Long inputs are processed in chunks of about SIGNATURE_COLUMNS_BYTES_PER_CHUNK bytes of text."""
    if not isinstance(texts, (pa.Array, pa.ChunkedArray)):
        texts = pa.array(list(texts), type=pa.string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    sizes = pc.fill_null(pc.binary_length(texts), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    parts = [_shingle_set_chunk(texts.slice(lo, hi - lo), ngram)
             for lo, hi in _chunk_bounds(sizes, SIGNATURE_COLUMNS_BYTES_PER_CHUNK)]
    if not parts:
        return pa.array([], pa.list_(pa.int64()))
    return pa.concat_arrays(parts)


def _shingle_set_chunk(texts: pa.Array, ngram: int) -> pa.ListArray:
    w, counts = word_hashes(normalize_array(texts))
    x, sh_counts = shingle_hashes(w, counts, ngram)
    return _sorted_sets(x, sh_counts, pc.is_null(texts))


def _sorted_sets(x: np.ndarray, sh_counts: np.ndarray, null_mask: pa.Array) -> pa.ListArray:
    """Per document, the sorted distinct values of its run of `x` (documents in order, `sh_counts`
    values each), as list<int64>; null where `null_mask` is true. Each run is sorted on its own (a
    numpy sort per document is faster than one lexsort by (document, hash) over the whole chunk)."""
    n = sh_counts.size
    bounds = np.zeros(n + 1, np.int64)
    np.cumsum(sh_counts, out=bounds[1:])
    xs = x.copy()
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if hi - lo > 1:
            xs[lo:hi].sort()
    keep = np.ones(xs.size, bool)
    keep[1:] = xs[1:] != xs[:-1]
    keep[bounds[:-1][sh_counts > 0]] = True  # the first value of every document
    doc = np.repeat(np.arange(n), sh_counts)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.bincount(doc[keep], minlength=n), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(xs[keep].view(np.int64)), mask=null_mask)


def jaccard_of_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """|a & b| / |a | b| of two sorted distinct arrays (one `shingle_sets` row each); 0.0 when both
    are empty."""
    inter = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - inter
    return inter / union if union else 0.0
