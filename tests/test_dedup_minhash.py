"""Unit tests of the engine-free dedup core: normalization, exact keys, MinHash signatures, band
hashes, the Arrow entry point, the components oracle, and agreement with datasketch."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import xxhash

from core.dedup import minhash as mh
from tests.reference.components import (
    clusters,
    connected_components,
    lsh_candidate_pairs,
    representatives,
    verify_pairs,
)
from core.dedup.minhash import (
    EMPTY_SIGNATURE_VALUE,
    MERSENNE_61,
    MinHashParams,
    band_hashes,
    estimate_jaccard,
    is_empty_signature,
    permutation_coefficients,
    signature_columns,
    signature_schema,
    signatures,
    signatures_from_column,
)
from core.dedup.normalize import (
    exact_jaccard,
    exact_key,
    normalize_array,
    normalize_text,
    shingles,
    words,
)
from tests.reference.lsh_theory import detection_probability, empirical_s_curve, wilson_interval


def _real_texts(n=40, words_per_doc=400):
    from pydoc_data.topics import topics

    ws = " ".join(topics[k] for k in sorted(topics)).split()
    return [" ".join(ws[i * words_per_doc : (i + 1) * words_per_doc]) for i in range(n)]


# --- normalization -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Hello,   World!", "hello world"),
        ("déjà vu — Ærø İstanbul", "deja vu ærø istanbul"),  # Æ, ø have no decomposition: kept
        ("pi is 3.14, e is 2,718 and 1000000", "pi is 0 e is 0 and 0"),
        ("tab\there\nnew\u00a0line\u2003em", "tab here new line em"),
        ("soft\u00adhyphen zero\u200bwidth", "softhyphen zerowidth"),
        ("a+b=c <x> $5 | ~y ^z `q`", "a b c x 0 y z q"),
        ("«quoted» “curly” 【cjk】", "quoted curly cjk"),
        ("  ...!!!  ", ""),
        ("", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_array_keeps_nulls_and_matches_scalar():
    texts = ["A  B", None, "", "Ünïcödé!"]
    out = normalize_array(texts).to_pylist()
    assert out == ["a b", None, "", "unicode"]
    assert [normalize_text(t) for t in texts if t is not None] == [o for o in out if o is not None]


def test_normalization_is_close_to_datatrove_simplify_text():
    """On real English text our words are datatrove's simplify_text words once the punctuation and
    symbols its hand-written list misses (e.g. U+2018 left quote, which it keeps glued to the word)
    are also split off."""
    import unicodedata

    from datatrove.utils.text import simplify_text

    def rest_to_space(text):
        return "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)

    for text in _real_texts(20):
        assert normalize_text(text).split() == rest_to_space(simplify_text(text)).split()


def test_shingles_rules():
    assert shingles("a b c d e f", 5) == {("a", "b", "c", "d", "e"), ("b", "c", "d", "e", "f")}
    assert shingles("a b c", 5) == {("a", "b", "c")}  # short document: one whole-sequence shingle
    assert shingles("", 5) == set()
    assert words("") == []


def test_exact_key_folds_case_punctuation_whitespace():
    k = exact_key(normalize_text("Hello, World!\n\nThis is  it."))
    assert k == exact_key(normalize_text("hello world this is it"))
    assert len(k) == 32 and int(k, 16) >= 0
    assert k != exact_key(normalize_text("hello world this is not it"))


def test_exact_key_of_empty_normalized_text_uses_the_raw_text():
    assert exact_key("", "!!!") == exact_key("", "!!!")
    assert exact_key("", "!!!") != exact_key("", "???")
    # no normalized text can collide with the raw-keyed ones (they start with a NUL byte)
    assert exact_key("", "abc") != exact_key("abc")


def test_exact_jaccard_oracle():
    a = "one two three four five six seven"
    assert exact_jaccard(a, a.upper() + "!!") == 1.0
    assert exact_jaccard(a, "one two three four five six eight") == pytest.approx(2 / 4)
    assert exact_jaccard("", "") == 0.0


# --- signatures ---------------------------------------------------------------------------------


def _fmix64_py(x: int) -> int:
    m = (1 << 64) - 1
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & m
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def _reference_signature(text: str, params: MinHashParams) -> list[int]:
    """A slow, independent rendering of the documented algorithm with Python integers."""
    ws = words(normalize_text(text))
    if not ws:
        return [int(EMPTY_SIGNATURE_VALUE)] * params.num_perm
    wh = [xxhash.xxh64_intdigest(w.encode("utf-8")) for w in ws]
    keys = [int(k) for k in mh._keys(params.ngram + 1, 3)]
    n = params.ngram
    if len(wh) < n:
        grams = [sum(h * k for h, k in zip(wh, keys)) + len(wh) * keys[n]]
    else:
        grams = [sum(wh[i + j] * keys[j] for j in range(n)) for i in range(len(wh) - n + 1)]
    xs = {_fmix64_py(g & ((1 << 64) - 1)) & MERSENNE_61 for g in grams}
    a, b = permutation_coefficients(params.seed, params.num_perm)
    return [min((int(ai) * x + int(bi)) % MERSENNE_61 for x in xs) for ai, bi in zip(a, b)]


def test_signatures_match_slow_reference():
    params = MinHashParams(num_bands=4, rows_per_band=3)
    texts = _real_texts(3, 120) + ["three words only", "", "a b c d e", "Ünïcödé text with five words"]
    sig = signatures(texts, params)
    assert sig.dtype == np.uint64 and sig.shape == (len(texts), 12)
    for text, row in zip(texts, sig):
        assert row.tolist() == _reference_signature(text, params)


def test_signatures_default_shape_range_and_determinism():
    texts = _real_texts(5)
    sig = signatures(texts)
    assert sig.shape == (5, 112)
    assert (sig < MERSENNE_61).all()
    assert np.array_equal(sig, signatures(list(reversed(texts)))[::-1])  # batch order does not matter
    assert not np.array_equal(sig, signatures(texts, MinHashParams(seed=2)))


def test_signatures_do_not_depend_on_block_boundaries():
    texts = _real_texts(6)
    norm = normalize_array(texts)
    w, c = mh.word_hashes(norm)
    x, sc = mh.shingle_hashes(w, c, 5)
    a = mh._min_permuted(x, sc, MinHashParams(), block=7)
    b = mh._min_permuted(x, sc, MinHashParams(), block=100_000)
    assert np.array_equal(a, b)


def test_normalization_invariance_and_empty_sentinel():
    base = "The quick brown fox jumps over the lazy dog, again and again."
    sig = signatures([base, base.upper().replace(",", " ;"), "", "?!", "short"])
    assert np.array_equal(sig[0], sig[1])
    assert is_empty_signature(sig).tolist() == [False, False, True, True, False]
    assert estimate_jaccard(sig[2], sig[3]) == 0.0  # two empty docs never match
    assert estimate_jaccard(sig[0], sig[1]) == 1.0


def test_band_hashes():
    params = MinHashParams()
    sig = signatures(_real_texts(4), params)
    bh = band_hashes(sig, params)
    assert bh.dtype == np.int64 and bh.shape == (4, 14)
    assert np.array_equal(bh[0], band_hashes(sig[:1].copy(), params)[0])
    # change one row of band 3 only: only band 3's hash changes
    other = sig.copy()
    other[0, 3 * 8 + 5] ^= np.uint64(1)
    diff = band_hashes(other, params)[0] != bh[0]
    assert diff.tolist() == [k == 3 for k in range(14)]
    # the same values in different bands hash differently
    same = np.zeros((1, 112), np.uint64)
    assert len(set(band_hashes(same, params)[0].tolist())) == 14
    with pytest.raises(ValueError):
        band_hashes(sig[:, :100], params)


def test_estimate_jaccard_rowwise():
    sig = signatures(_real_texts(3))
    est = estimate_jaccard(sig, sig[::-1])
    assert est.shape == (3,) and est[1] == 1.0


def test_params_validation_and_defaults():
    p = MinHashParams()
    assert (p.num_bands, p.rows_per_band, p.ngram, p.seed, p.num_perm) == (14, 8, 5, 1, 112)
    with pytest.raises(ValueError):
        MinHashParams(num_bands=0)
    with pytest.raises(Exception):
        p.num_bands = 3  # frozen


# --- Arrow entry point ----------------------------------------------------------------------------


def test_signature_columns_schema_and_values(monkeypatch):
    texts = _real_texts(5) + ["", None, "!!!"]
    batch = pa.RecordBatch.from_pydict({"doc_id": [f"d{i}" for i in range(8)], "text": texts, "other": list(range(8))})
    out = signature_columns(batch)
    assert out.schema == signature_schema()
    assert out.column_names == ["doc_id", "exact_hash", "n_words", "n_shingles", "band_hashes", "minhash"]
    rows = out.to_pylist()
    sig = signatures_from_column(out.column("minhash"))
    assert np.array_equal(sig[:5], signatures(texts[:5]))
    assert np.array_equal(np.array([r["band_hashes"] for r in rows[:5]]), band_hashes(sig[:5]))
    n_words = len(words(normalize_text(texts[0])))
    assert rows[0]["n_words"] == n_words and rows[0]["n_shingles"] == n_words - 4
    for r in rows[5:]:  # empty, null, punctuation-only
        assert r["band_hashes"] is None and r["n_shingles"] == 0 and r["minhash"] == [-1] * 112
    assert rows[6]["exact_hash"] is None and rows[5]["exact_hash"] != rows[7]["exact_hash"]
    # chunking (forced to one document per chunk) changes nothing
    monkeypatch.setattr(mh, "SIGNATURE_COLUMNS_BYTES_PER_CHUNK", 1)
    assert signature_columns(batch).equals(out)


def test_signature_columns_empty_batch_and_large_string():
    empty = pa.RecordBatch.from_pydict({"doc_id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
    assert signature_columns(empty).num_rows == 0
    big = pa.RecordBatch.from_pydict(
        {"doc_id": ["a", "b"], "text": pa.array(["Hello there world x y z", "hello THERE world x y z"], pa.large_string())}
    )
    out = signature_columns(big).to_pylist()
    assert out[0]["exact_hash"] == out[1]["exact_hash"] and out[0]["minhash"] == out[1]["minhash"]


# --- components oracle and LSH pairs --------------------------------------------------------------


def test_connected_components_and_representatives():
    edges = [("c", "a"), ("a", "d"), ("x", "y"), ("d", "c")]
    comp = connected_components(edges, nodes=["lonely"])
    assert comp == {"c": "a", "a": "a", "d": "a", "x": "x", "y": "x", "lonely": "lonely"}
    assert clusters(comp)["a"] == ["a", "c", "d"]
    # earliest fetch_time wins, doc_id breaks ties
    keys = {"a": (3, "a"), "c": (1, "c"), "d": (1, "d"), "x": (5, "x"), "y": (5, "y"), "z": (0, "z")}
    reps = representatives(edges, keys)
    assert reps == {"a": "c", "c": "c", "d": "c", "x": "x", "y": "x", "z": "z"}


def test_connected_components_long_chain_is_iterative():
    n = 50_000
    comp = connected_components(((i + 1, i) for i in range(n)))
    assert set(comp.values()) == {0} and len(comp) == n + 1


def test_lsh_candidate_pairs_and_verification():
    base = _real_texts(1, 600)[0]
    ws = base.split()
    near = " ".join(ws[:-3] + ["zzz", "yyy", "xxx"])
    texts = [base, near, _real_texts(2, 600)[1], "", "!!"]
    ids = ["a", "b", "c", "e1", "e2"]
    sig = signatures(texts)
    pairs = lsh_candidate_pairs(ids, band_hashes(sig), empty=is_empty_signature(sig))
    assert pairs == {("a", "b")}
    sig_of = dict(zip(ids, sig))
    assert verify_pairs(pairs, sig_of, 0.9) == {("a", "b")}
    assert verify_pairs({("e1", "e2")}, sig_of, 0.0) == set()


# --- theory helpers -------------------------------------------------------------------------------


def test_theory_helpers():
    assert detection_probability(1.0) == 1.0 and detection_probability(0.0) == 0.0
    lo, hi = wilson_interval(50, 100, z=1.96)
    assert lo == pytest.approx(0.404, abs=1e-3) and hi == pytest.approx(0.596, abs=1e-3)
    bins = empirical_s_curve([0.9, 0.95, 1.0, 0.1], [True, True, True, False], bins=[0.0, 0.5, 1.0])
    assert [(b.n, b.detected) for b in bins] == [(1, 0), (3, 3)]


# --- agreement with datasketch --------------------------------------------------------------------


def test_estimates_agree_with_datasketch():
    """Same shingles, different hash functions: both estimate the exact Jaccard; their difference has
    sd ~ sqrt(2 J (1 - J) / 112), so per pair |ours - datasketch| <= 5 sd + 1/112, and the mean
    difference over all pairs is ~0."""
    from datasketch import MinHash

    rng = np.random.default_rng(7)
    base = _real_texts(12, 300)
    texts = []
    for t in base:
        ws = t.split()
        texts.append(t)
        for frac in (0.01, 0.03, 0.08):
            w2 = list(ws)
            for i in rng.choice(len(w2), int(frac * len(w2)), replace=False):
                w2[i] = "mutated"
            texts.append(" ".join(w2))
    ours = signatures(texts)
    theirs = []
    for t in texts:
        m = MinHash(num_perm=112, seed=1)
        m.update_batch([" ".join(s).encode() for s in shingles(normalize_text(t))])
        theirs.append(m)
    diffs, big = [], []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if i // 4 != j // 4:
                continue  # within families only (across them both are ~0)
            exact = exact_jaccard(texts[i], texts[j])
            a, b = estimate_jaccard(ours[i], ours[j]), theirs[i].jaccard(theirs[j])
            sd = np.sqrt(2 * max(exact * (1 - exact), 0.01) / 112)
            diffs.append(a - b)
            if abs(a - b) > 5 * sd + 1 / 112:
                big.append((i, j, exact, a, b))
    assert not big
    assert abs(np.mean(diffs)) < 0.02


# --- shingle sets and exact Jaccard (edge verification by exact Jaccard) ------------------------


def test_shingle_sets_give_exact_jaccard():
    from core.dedup.minhash import jaccard_of_sorted, shingle_sets

    texts = _real_texts(12, 300)
    variants = [t.replace(" the ", " a ", k) for k, t in enumerate(texts)]  # k replacements
    extra = ["Hello, World!", "hello world", "one two three four five six", "", "!!!", None]
    allt = texts + variants + extra
    sets = shingle_sets(allt)
    assert sets.type == pa.list_(pa.int64()) and len(sets) == len(allt)
    assert sets[len(allt) - 1].as_py() is None and sets[len(allt) - 2].as_py() == []
    rows = [np.asarray(x.as_py() or [], np.int64) for x in sets]
    for r, t in zip(rows, allt):
        assert np.all(np.diff(r) > 0)  # sorted, distinct
        assert r.size == len(shingles(normalize_text(t or "")))
    pairs = [(i, i + 12) for i in range(12)] + [(0, 1), (24, 25), (24, 26), (27, 28)]
    for i, j in pairs:
        want = exact_jaccard(allt[i] or "", allt[j] or "")
        assert jaccard_of_sorted(rows[i], rows[j]) == pytest.approx(want, abs=1e-12), (i, j)
    # chunking by text bytes gives the same lists
    old = mh.SIGNATURE_COLUMNS_BYTES_PER_CHUNK
    try:
        mh.SIGNATURE_COLUMNS_BYTES_PER_CHUNK = 3000
        assert shingle_sets(allt).to_pylist() == sets.to_pylist()
    finally:
        mh.SIGNATURE_COLUMNS_BYTES_PER_CHUNK = old
