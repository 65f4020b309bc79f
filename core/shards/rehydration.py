"""FineWeb-2 rehydration: how many times a document is repeated, by the size of its duplicate cluster.

A table is `{min_cluster_size: repetitions}` whose keys are lower edges (FineWeb-2's
`misc/rehydration/weights/up_to_N_reps.json`, packaged in `data/`). The lookup is the one of the
`Rehydrater` block in FineWeb-2's rehydration README: sizes below the smallest key are written
once, a size in [key_i, key_(i+1)) gets repetitions_i, sizes at or above the largest key get its
repetitions. (Two published tables, cux_Latn and nif_Latn, have no key 1: their size-1 documents
are written once by that rule.)

Cluster size here is the dedup stage's `dup_count`: the documents of this crawl in the cluster,
the kept one included (>= 1), as FineWeb-2's `minhash_cluster_size` counts the kept document and
its removed duplicates. FineWeb-2 deduplicated each language over all crawls at once, while this
project deduplicates a crawl against itself and earlier crawls, so the same content gets smaller
clusters here and the published tables repeat it less than FineWeb-2 would.

Languages are FineWeb-2 codes (ISO 639-3 + script, `deu_Latn`); fastText lid.176 gives ISO 639-1
codes (`de`), so `repetitions_for` takes an alias map. A language without a table gets the
fallback table when one is configured, else 1 repetition. There are no English tables (FineWeb-2
is FineWeb without English).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DATA_DIR = Path(__file__).resolve().parent / "data"
PUBLISHED_MAX_REPETITIONS = tuple(range(3, 11))  # FineWeb-2 publishes up_to_03 .. up_to_10


@dataclass(frozen=True)
class RepetitionTable:
    """Lower edges (strictly increasing, >= 1) and the repetitions from each edge on (>= 0)."""

    edges: tuple[int, ...]
    repetitions: tuple[int, ...]

    @classmethod
    def from_mapping(cls, mapping: Mapping, name: str = "table") -> "RepetitionTable":
        if not mapping:
            raise ValueError(f"{name}: a repetition table needs at least one entry")
        pairs = sorted((_integer_key(key, name), _repetitions(value, name)) for key, value in mapping.items())
        edges = tuple(edge for edge, _ in pairs)
        if len(set(edges)) != len(edges):
            raise ValueError(f"{name}: cluster sizes {edges} repeat")
        return cls(edges, tuple(reps for _, reps in pairs))

    def lookup(self, sizes: np.ndarray) -> np.ndarray:
        """Repetitions for each cluster size (int64); sizes below the first edge get 1."""
        sizes = np.asarray(sizes, dtype=np.int64)
        position = np.searchsorted(np.asarray(self.edges, np.int64), sizes, side="right") - 1
        reps = np.asarray(self.repetitions, np.int64)
        return np.where(position >= 0, reps[np.maximum(position, 0)], 1)


def _integer_key(key, name: str) -> int:
    """A cluster-size key: an int, or a string of digits (JSON object keys are strings)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        value = int(key)
    elif isinstance(key, str) and key.strip().isdigit():
        value = int(key)
    else:
        value = 0
    if value < 1:
        raise ValueError(f"{name}: cluster size {key!r} is not an integer >= 1")
    return value


def _repetitions(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name}: repetitions {value!r} is not an integer >= 0")
    return int(value)


def tables_from_mapping(mapping: Mapping[str, Mapping]) -> dict[str, RepetitionTable]:
    """{language: {min_cluster_size: repetitions}} (FineWeb-2's JSON format) to validated tables."""
    return {language: RepetitionTable.from_mapping(table, name=language) for language, table in mapping.items()}


@lru_cache(maxsize=len(PUBLISHED_MAX_REPETITIONS))
def fineweb2_tables(max_repetitions: int = 10) -> dict[str, RepetitionTable]:
    """FineWeb-2's published tables capped at `max_repetitions` (3..10), by language."""
    if max_repetitions not in PUBLISHED_MAX_REPETITIONS:
        raise ValueError(f"FineWeb-2 publishes tables for 3..10 repetitions, not {max_repetitions!r}")
    with open(DATA_DIR / f"up_to_{max_repetitions:02d}_reps.json", encoding="utf-8") as handle:
        return tables_from_mapping(json.load(handle))


def repetitions_for(
    languages: pa.Array | pa.ChunkedArray | list,
    cluster_sizes: np.ndarray,
    tables: Mapping[str, RepetitionTable],
    fallback: RepetitionTable | None = None,
    aliases: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Repetitions (int64) of each document from its language and cluster size. Null or unknown
    languages use `fallback`, or 1 without one; `aliases` maps a language code to a table's code."""
    sizes = np.asarray(cluster_sizes, dtype=np.int64)
    languages = _as_string_array(languages)
    if len(languages) != sizes.size:
        raise ValueError(f"{len(languages)} languages but {sizes.size} cluster sizes")
    encoded = pc.dictionary_encode(languages)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    out = fallback.lookup(sizes) if fallback is not None else np.ones(sizes.size, np.int64)
    aliases = aliases or {}
    for code, language in enumerate(encoded.dictionary.to_pylist()):
        table = tables.get(aliases.get(language, language))
        if table is not None:
            rows = codes == code
            out[rows] = table.lookup(sizes[rows])
    return out


def _as_string_array(values: pa.Array | pa.ChunkedArray | list) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), pa.string())
    return values.cast(pa.string())
