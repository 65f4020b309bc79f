"""The function the signature step runs per Spark task (mapInArrow): silver rows in, `dedup/signatures`
rows out, each distinct text computed once.

Input rows come sorted by (TEXT_KEY, doc_id), TEXT_KEY being a 64-bit hash of the text (and, with
the fineweb2 preset, of its language and script, whose word tokenizer the signature depends on:
signatures.py), so byte-identical texts form runs of adjacent rows, also across Arrow batches. A run
starts where the key or the text differs from the previous row (the texts are compared, so a hash
collision only splits a run). The signature of a run is computed from its first row; every row of
the run gets the full signature, and the shingle set is stored on the first row only (the smallest
doc_id of the run), which all rows name in `shingle_set_doc_id`.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from contract.tables import DEDUP_SIGNATURES_SCHEMA
from core.arrow_batches import slices
from core.dedup.minhash import LANGUAGE_KEY_COLUMN, MinHashParams, signature_columns
from spark_jobs.dedup.config import DedupConfig

TEXT_KEY = "text_key"
# the computed columns of a run, in the order signature_columns returns them after doc_id
_COMPUTED = ("exact_hash", "n_words", "n_shingles", "band_hashes", "minhash", "shingle_set")


class _Run:
    """The run that the previous batch ended in: its text, key, holder doc_id and computed row."""

    def __init__(self, key: int, text, holder: str, computed: pa.RecordBatch):
        self.key, self.text, self.holder, self.computed = key, text, holder, computed


def run_starts(keys: np.ndarray, texts: pa.Array, previous: _Run | None) -> np.ndarray:
    """True where a row starts a new run of identical texts (see the module docstring)."""
    n = len(texts)
    starts = np.ones(n, bool)
    if n > 1:
        same_text = pc.fill_null(pc.equal(texts.slice(1), texts.slice(0, n - 1)), False)
        starts[1:] = ~((keys[1:] == keys[:-1]) & same_text.to_numpy(zero_copy_only=False))
    if n and previous is not None and keys[0] == previous.key:
        starts[0] = texts[0].as_py() != previous.text or previous.text is None
    return starts


def signature_part(part: pa.RecordBatch, params: MinHashParams, tag: str, previous: _Run | None
                   ) -> tuple[pa.RecordBatch, _Run | None]:
    """Signature rows of one batch of sorted silver rows, and the run it ends in."""
    n = part.num_rows
    if n == 0:
        return pa.RecordBatch.from_pylist([], schema=DEDUP_SIGNATURES_SCHEMA), previous
    texts, doc_ids = part.column("text"), part.column("doc_id")
    keys = pc.fill_null(part.column(TEXT_KEY), 0).to_numpy(zero_copy_only=False)
    starts = run_starts(keys, texts, previous)
    first = np.flatnonzero(starts)
    languages = pa.array(language_keys(part), pa.string()).take(first)
    fresh = signature_columns(pa.RecordBatch.from_arrays([doc_ids.take(first), texts.take(first), languages],
                                                         ["doc_id", "text", LANGUAGE_KEY_COLUMN]),
                              params, with_shingle_sets=True)
    computed = pa.Table.from_batches([fresh.select(_COMPUTED)])
    holders = doc_ids.take(first)
    run = np.cumsum(starts) - 1  # index of each row's run among this batch's fresh runs; -1: the previous run
    if not starts[0]:
        computed = pa.concat_tables([pa.Table.from_batches([previous.computed]), computed])
        holders = pa.concat_arrays([pa.array([previous.holder], doc_ids.type), holders])
        run = run + 1
    computed = computed.combine_chunks()
    index = pa.array(run)
    columns = {
        "doc_id": doc_ids,
        "snapshot": part.column("snapshot"),
        "fetch_time": part.column("fetch_time"),
        "minhash_params": pa.array([tag] * n, pa.string()),
        "shingle_set": computed.column("shingle_set").take(pa.array(run, mask=~starts)),
        "shingle_set_doc_id": holders.take(index),
        "language": part.column("language"),
        "script": part.column("script"),
        "passed_filters": part.column("passed_filters"),
    }
    for name in _COMPUTED[:-1]:
        columns[name] = computed.column(name).take(index)
    out = pa.RecordBatch.from_arrays([_single_chunk(columns[f.name]).cast(f.type) for f in DEDUP_SIGNATURES_SCHEMA],
                                     schema=DEDUP_SIGNATURES_SCHEMA)
    last = int(run[-1])
    tail = _Run(int(keys[-1]), texts[n - 1].as_py(), holders[last].as_py(),
                computed.slice(last, 1).to_batches()[0])
    return out, tail


def language_keys(part: pa.RecordBatch) -> list[str | None]:
    """`fra_Latn` per row (`fra` without a script, None without a language): the word tokenizer key."""
    return [None if language is None else (f"{language}_{script}" if script else language)
            for language, script in zip(part.column("language").to_pylist(), part.column("script").to_pylist())]


def _single_chunk(array):
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def make_signature_batches(config: DedupConfig, batch_rows: int = 512):
    """The function Spark runs per task: sorted input rows (inputs.INPUT_COLUMNS + TEXT_KEY) in,
    signature rows out, `batch_rows` documents at a time to bound Python memory."""
    params, tag = config.minhash, config.params_tag

    def apply(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        previous = None
        for part in slices(batches, batch_rows):
            out, previous = signature_part(part, params, tag, previous)
            yield out

    return apply
