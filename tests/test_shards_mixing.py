"""core.shards.rehydration and core.shards.mixing: repetitions, reasons, and a seeded order that does
not depend on batching."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from core.shards.mixing import (MixingParams, expand_copies, mix_documents, mixing_counts, shuffled_copies,
                                sort_copies)
from core.shards.rehydration import (DATA_DIR, RepetitionTable, fineweb2_tables, repetitions_for,
                                     tables_from_mapping)


def _rehydrater_reference(weights: dict[int, int], size: int) -> int:
    """FineWeb-2's README `Rehydrater`: weights expanded to a list indexed by cluster size."""
    expanded = [1]
    for i in range(1, max(weights) + 1):
        expanded.append(weights[i] if i in weights else expanded[-1])
    return expanded[-1] if size >= len(expanded) else expanded[size]


def test_published_example_ita_latn():
    table = fineweb2_tables(10)["ita_Latn"]
    sizes = np.array([1, 2, 6, 16, 17, 25, 26, 145, 10**6])
    # README: no duplicates -> 1; one duplicate -> 3; 16-24 duplicates (sizes 17-25) -> 10
    assert table.lookup(sizes).tolist() == [1, 3, 6, 9, 10, 10, 9, 1, 1]


@pytest.mark.parametrize("max_reps", [3, 10])
def test_lookup_equals_the_readme_rehydrater_on_every_published_table(max_reps):
    with open(DATA_DIR / f"up_to_{max_reps:02d}_reps.json", encoding="utf-8") as handle:
        raw = json.load(handle)
    tables = fineweb2_tables(max_reps)
    assert set(tables) == set(raw) and len(tables) == 1856
    sizes = np.arange(0, 6000, 7)
    for language in list(raw)[::37] + ["cux_Latn", "nif_Latn"]:  # the two tables without key 1
        weights = {int(k): v for k, v in raw[language].items()}
        expected = [_rehydrater_reference(weights, int(s)) for s in sizes]
        assert tables[language].lookup(sizes).tolist() == expected, language
    assert tables["cux_Latn"].lookup(np.array([1]))[0] == 1


def test_languages_without_a_table_aliases_and_fallback():
    tables = tables_from_mapping({"deu_Latn": {"1": 1, "3": 4}})
    languages = pa.array(["deu_Latn", "de", "en", None])
    sizes = np.array([5, 5, 5, 5])
    assert repetitions_for(languages, sizes, tables).tolist() == [4, 1, 1, 1]
    assert repetitions_for(languages, sizes, tables, aliases={"de": "deu_Latn"}).tolist() == [4, 4, 1, 1]
    fallback = RepetitionTable.from_mapping({1: 1, 5: 2})
    assert repetitions_for(languages, sizes, tables, fallback=fallback).tolist() == [4, 2, 2, 2]


@pytest.mark.parametrize("bad, message", [({}, "at least one entry"), ({"0": 1}, "not an integer >= 1"),
                                          ({"x": 1}, "not an integer >= 1"), ({"2": -1}, "not an integer >= 0"),
                                          ({"2": 1.5}, "not an integer >= 0")])
def test_bad_tables_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        RepetitionTable.from_mapping(bad)
    with pytest.raises(ValueError, match="3..10"):
        fineweb2_tables(11)


def _batch(**overrides) -> pa.RecordBatch:
    columns = {
        "doc_id": ["a", "b", "c", "d", "e", "f"],
        "text": ["alpha", "beta", "gamma", None, "epsilon", ""],
        "refined_text": ["ALPHA", None, None, "DELTA", None, None],
        "selected": [True, False, None, True, True, True],
        "score": [0.9, 0.2, None, 0.95, 0.5, 0.7],
        "dup_count": [1, 1, 3, 1, 20, 1],
        "language": ["ita_Latn", "ita_Latn", "ita_Latn", "en", "ita_Latn", "en"],
    }
    columns.update(overrides)
    return pa.RecordBatch.from_pydict(columns)


def test_selected_rule_with_reasons_and_refined_text():
    mixed = mix_documents(_batch())
    assert mixed.column("text").to_pylist() == ["ALPHA", "beta", "gamma", "DELTA", "epsilon", ""]
    assert mixed.column("repetitions").to_pylist() == [1, 0, 0, 1, 1, 0]
    assert mixed.column("reason").to_pylist() == [None, "mixing.not_selected", "mixing.missing_score", None, None,
                                                  "mixing.missing_text"]
    assert mixing_counts(mixed) == {"total": 6, "kept": 3, "copies": 3, "dropped.mixing.not_selected": 1,
                                    "dropped.mixing.missing_score": 1, "dropped.mixing.missing_text": 1}


def test_score_buckets_and_rehydration_multiply():
    params = MixingParams(quality="score_buckets", score_buckets={0.5: 1, 0.9: 2, 0.6: 0},
                          rehydration_tables=fineweb2_tables(10))
    mixed = mix_documents(_batch(), params)
    # a: 0.9 -> 2 x ita size 1 -> 1; b: 0.2 below; c: no score; d: 0.95 -> 2, en -> 1;
    # e: 0.5 -> 1 x ita size 20 -> 10; f: 0.7 -> bucket 0.6 -> 0 (and empty text)
    assert mixed.column("repetitions").to_pylist() == [2, 0, 0, 2, 10, 0]
    assert mixed.column("reason").to_pylist() == [None, "mixing.score_below_buckets", "mixing.missing_score", None,
                                                  None, "mixing.missing_text"]
    only_zero = mix_documents(_batch(text=["x"] * 6), params).column("reason").to_pylist()
    assert only_zero[5] == "mixing.zero_repetitions"
    counts = mixing_counts(mixed)
    assert counts["copies"] == 14 and counts["kept"] + sum(v for k, v in counts.items() if k.startswith("dropped.")) == 6


def test_all_rule_and_parameter_checks():
    mixed = mix_documents(_batch(text=["x"] * 6, refined_text=[None] * 6), MixingParams(quality="all"))
    assert mixed.column("repetitions").to_pylist() == [1] * 6
    with pytest.raises(ValueError, match="quality must be one of"):
        MixingParams(quality="best")
    with pytest.raises(ValueError, match="needs score_buckets"):
        MixingParams(quality="score_buckets")
    with pytest.raises(ValueError, match="only used with"):
        MixingParams(score_buckets={0.0: 1})
    with pytest.raises(ValueError, match="needs a 'selected' column"):
        mix_documents(_batch().drop_columns(["selected"]))


@pytest.mark.parametrize("bad", [0, None])
def test_a_broken_dup_count_is_an_error_naming_the_document(bad):
    with pytest.raises(ValueError, match=r"document 'c': dup_count"):
        mix_documents(_batch(dup_count=[1, 1, bad, 1, 1, 1]))


def _many(n: int, seed: int = 0) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    return pa.RecordBatch.from_pydict({
        "doc_id": [f"<urn:uuid:{i:08x}>" for i in range(n)],
        "text": [f"text {i}" for i in range(n)],
        "repetitions": pa.array(rng.integers(0, 4, n), pa.int32()),
        "reason": [None] * n,
    })


def _pairs(table: pa.Table) -> list[tuple[str, int]]:
    return list(zip(table.column("doc_id").to_pylist(), table.column("copy").to_pylist()))


def test_copies_and_order_are_deterministic_and_independent_of_batching():
    mixed = _many(500)
    whole = shuffled_copies(mixed, seed=7)
    assert whole.num_rows == int(np.sum(mixed.column("repetitions").to_numpy()))
    assert _pairs(whole) == _pairs(shuffled_copies(mixed, seed=7))
    assert _pairs(whole) != _pairs(shuffled_copies(mixed, seed=8))
    for size in (1, 33, 250):
        parts = [expand_copies(mixed.slice(lo, size), seed=7) for lo in range(0, mixed.num_rows, size)]
        assert _pairs(sort_copies(pa.concat_tables(parts))) == _pairs(whole)
    permuted = mixed.take(pa.array(np.random.default_rng(3).permutation(mixed.num_rows)))
    assert _pairs(shuffled_copies(permuted, seed=7)) == _pairs(whole)
    per_doc = {}
    for doc_id, copy in _pairs(whole):
        per_doc.setdefault(doc_id, []).append(copy)
    reps = dict(zip(mixed.column("doc_id").to_pylist(), mixed.column("repetitions").to_pylist()))
    assert all(sorted(copies) == list(range(reps[doc])) for doc, copies in per_doc.items())
    assert whole.column("shuffle_key").to_numpy().tolist() == sorted(whole.column("shuffle_key").to_numpy().tolist())


def test_order_is_not_the_input_order():
    mixed = _many(200, seed=1)
    ordered = [doc for doc, copy in _pairs(shuffled_copies(mixed, seed=0)) if copy == 0]
    kept = [doc for doc, reps in zip(mixed.column("doc_id").to_pylist(), mixed.column("repetitions").to_pylist())
            if reps > 0]
    assert sorted(ordered) == sorted(kept) and ordered != kept


def test_duplicate_doc_ids_and_bad_seeds_are_errors():
    three = _many(3).set_column(2, "repetitions", pa.array([1, 2, 1], pa.int32()))
    twice = pa.concat_tables([pa.Table.from_batches([three])] * 2)
    with pytest.raises(ValueError, match="appears more than once"):
        shuffled_copies(twice, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 2\^64\)"):
        shuffled_copies(_many(3), seed=-1)
