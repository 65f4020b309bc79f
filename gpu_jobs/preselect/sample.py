"""A seeded sample of a crawl's documents for PreSelect training, chosen in Ray.

Every document gets a key, a seeded hash of its doc_id (`core.preselect.labels.seeded_keys`); the
sample is the `n` documents with the smallest keys (ties by doc_id). It depends only on the seed and
the set of documents, never on how the partition is split into files or blocks. Ray sorts only the
(doc_id, key) pairs; the driver receives the `n` chosen doc_ids, and a second pass over the
partition keeps those documents, their text cut to `max_chars` characters.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from contract.tables import DEDUP_DOCUMENTS, table_uri
from core.preselect.labels import seeded_keys
from gpu_jobs import delta_io


SAMPLE_SCHEMA = pa.schema([("doc_id", pa.string()), ("text", pa.string()), ("n_chars_full", pa.int64())])


class _SeededKey:
    def __init__(self, seed: int):
        self.seed = seed

    def __call__(self, batch: pa.Table) -> pa.Table:
        ids = batch.column("doc_id").to_pylist()
        return pa.table({"doc_id": ids, "key": pa.array(seeded_keys(ids, self.seed), pa.uint64())})


class _KeepChosen:
    def __init__(self, chosen: frozenset[str], max_chars: int | None):
        self.chosen, self.max_chars = chosen, max_chars

    def __call__(self, batch: pa.Table) -> pa.Table:
        ids = batch.column("doc_id").to_pylist()
        keep = np.fromiter((d in self.chosen for d in ids), dtype=bool, count=len(ids))
        kept = batch.filter(pa.array(keep))
        full = [t or "" for t in kept.column("text").to_pylist()]
        texts = [t[: self.max_chars] for t in full] if self.max_chars is not None else full
        return pa.table({"doc_id": kept.column("doc_id"), "text": pa.array(texts, pa.string()),
                         "n_chars_full": pa.array([len(t) for t in full], pa.int64())}, schema=SAMPLE_SCHEMA)


def sample_ids(lake_uri: str, crawl: str, n: int, seed: int) -> list[str]:
    """The doc_ids of the sample (at most `n`; fewer when the partition is smaller), in key order."""
    if n < 1:
        raise ValueError(f"sample size must be >= 1, got {n}")
    ids = delta_io.read_partition(table_uri(lake_uri, DEDUP_DOCUMENTS), crawl, ["doc_id"])
    keyed = ids.map_batches(_SeededKey(seed), batch_format="pyarrow")
    return [row["doc_id"] for row in keyed.sort(["key", "doc_id"]).limit(n).take_all()]


def sample_documents(lake_uri: str, crawl: str, chosen: list[str], max_chars: int | None):
    """The chosen documents as a Ray Dataset (doc_id, text cut to `max_chars`, n_chars_full)."""
    docs = delta_io.read_partition(table_uri(lake_uri, DEDUP_DOCUMENTS), crawl, ["doc_id", "text"])
    return docs.map_batches(_KeepChosen(frozenset(chosen), max_chars), batch_format="pyarrow")
