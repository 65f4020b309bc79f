"""The signature step's per-task function (spark_jobs.dedup.signature_rows) on plain Arrow batches:
each run of byte-identical texts is computed once, every row gets the full signature, the shingle set
is stored on the run's first row only and named by every row of the run, also when a run crosses
batches."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pytest
import xxhash

from contract.tables import DEDUP_SIGNATURES_SCHEMA
from core.dedup.minhash import shingle_sets, signature_columns
from spark_jobs.dedup.config import DedupConfig
from spark_jobs.dedup.signature_rows import TEXT_KEY, make_signature_batches, run_starts

T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)
TEXTS = {
    "a": "The quick brown fox jumps over the lazy dog while the cat sleeps on the mat.",
    "b": "Another text about something else entirely, with enough words for several shingles.",
    "c": "THE QUICK brown fox jumps over the lazy dog while the cat sleeps on the mat!",  # a's normalization
    "e": "!!!",  # no words
}


def _key(text):
    return None if text is None else xxhash.xxh64_intdigest(text.encode()) - (1 << 63)


def silver_rows(spec: list[tuple[str, str | None]]) -> list[dict]:
    """(doc_id, text name) -> rows sorted as the signature step sorts them: by (text key, doc_id)."""
    rows = [{"doc_id": d, "snapshot": "CC-MAIN-2024-10", "fetch_time": T0,
             "text": None if t is None else TEXTS[t], "language": "en", "script": None, "passed_filters": True,
             TEXT_KEY: _key(None if t is None else TEXTS[t])}
            for d, t in spec]
    return sorted(rows, key=lambda r: (r[TEXT_KEY] is None, r[TEXT_KEY] or 0, r["doc_id"]))


def run_task(rows: list[dict], batch_rows: int) -> list[dict]:
    schema = pa.schema([("doc_id", pa.string()), ("snapshot", pa.string()),
                        ("fetch_time", pa.timestamp("us", tz="UTC")), ("text", pa.string()),
                        ("language", pa.string()), ("script", pa.string()), ("passed_filters", pa.bool_()),
                        (TEXT_KEY, pa.int64())])
    batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    out = list(make_signature_batches(DedupConfig(), batch_rows)([batch]))
    assert all(b.schema == DEDUP_SIGNATURES_SCHEMA for b in out)
    return [r for b in out for r in b.to_pylist()]


SPEC = [("d07", "a"), ("d03", "b"), ("d01", "a"), ("d05", "a"), ("d02", "c"), ("d04", "e"),
        ("d06", "b"), ("d08", None), ("d09", "a")]


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 512])
def test_identical_texts_share_one_computed_row_and_one_stored_set(batch_rows):
    rows = silver_rows(SPEC)
    got = {r["doc_id"]: r for r in run_task(rows, batch_rows)}
    assert sorted(got) == sorted(d for d, _ in SPEC)
    direct = signature_columns(pa.RecordBatch.from_pylist(
        [{"doc_id": r["doc_id"], "text": r["text"]} for r in rows]), DedupConfig().minhash).to_pylist()
    for want in direct:  # every row has the signature of its own text
        row = got[want["doc_id"]]
        for column in ("exact_hash", "n_words", "n_shingles", "band_hashes", "minhash"):
            assert row[column] == want[column], (want["doc_id"], column)
        assert row["minhash_params"] == "b14r8n5s1"
    holder = {"a": "d01", "b": "d03", "c": "d02", "e": "d04"}  # smallest doc_id of each text
    for doc_id, name in SPEC:
        row = got[doc_id]
        if name is None:  # a null text is its own run
            assert row["shingle_set_doc_id"] == doc_id and row["shingle_set"] is None
            continue
        assert row["shingle_set_doc_id"] == holder[name]
        if doc_id == holder[name]:
            assert row["shingle_set"] == shingle_sets([TEXTS[name]]).to_pylist()[0]
        else:
            assert row["shingle_set"] is None
    # c normalizes like a (same exact hash and set) but is another byte string: its own stored set
    assert got["d02"]["exact_hash"] == got["d01"]["exact_hash"]
    assert got["d02"]["shingle_set"] == got["d01"]["shingle_set"]
    assert got["d04"]["shingle_set"] == [] and got["d04"]["band_hashes"] is None


def test_a_key_collision_only_splits_runs():
    keys = np.array([5, 5, 5, 7])
    texts = pa.array(["x", "y", "x", "x"])
    assert run_starts(keys, texts, None).tolist() == [True, True, True, True]
    assert run_starts(np.array([5, 5]), pa.array(["x", "x"]), None).tolist() == [True, False]


def test_signature_columns_with_shingle_sets_equal_shingle_sets():
    texts = [TEXTS["a"], TEXTS["b"], "", None, "two words", TEXTS["a"] + " " + TEXTS["a"]]
    batch = pa.RecordBatch.from_pydict({"doc_id": [str(i) for i in range(len(texts))], "text": texts})
    with_sets = signature_columns(batch, with_shingle_sets=True)
    assert with_sets.column_names[-1] == "shingle_set"
    assert with_sets.column("shingle_set").to_pylist() == shingle_sets(texts).to_pylist()
    assert with_sets.select(signature_columns(batch).column_names).equals(signature_columns(batch))
