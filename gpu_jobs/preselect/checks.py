"""What the `quality_scores` asset checks read back from the lake after the commit (delta-rs, no Ray).

The written partition of `scores/preselect` against the contract and against `dedup/documents`:
schema, distinct doc_ids, row balance and the selected share. It reads the doc_id, selected and
n_chars columns of one crawl (about 60 bytes per document: 60 MB per million).
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from contract.tables import DEDUP_DOCUMENTS, SCORES_PRESELECT, SCORES_PRESELECT_SCHEMA, table_uri
from gpu_jobs import delta_io


@dataclass(frozen=True)
class ScoresCheck:
    schema_differences: list[str]
    rows: int
    distinct_ids: int
    dedup_rows: int
    selected_rows: int
    selected_chars: int
    total_chars: int

    @property
    def schema_ok(self) -> bool:
        return not self.schema_differences


def schema_differences(actual: pa.Schema, expected: pa.Schema = SCORES_PRESELECT_SCHEMA) -> list[str]:
    """Columns missing, unexpected or of another type than the contract's (empty: equal)."""
    found = {f.name: f.type for f in actual}
    wanted = {f.name: f.type for f in expected}
    out = [f"missing column {n}" for n in wanted if n not in found]
    out += [f"unexpected column {n}" for n in found if n not in wanted]
    out += [f"{n}: {found[n]} instead of {t}" for n, t in wanted.items() if n in found and found[n] != t]
    return out


def _rows(uri: str, crawl: str) -> int:
    if not delta_io.table_exists(uri):
        return 0
    return delta_io.read_partition_table(uri, crawl, ["doc_id"]).num_rows


def check_scores_partition(lake_uri: str, crawl: str) -> ScoresCheck:
    uri = table_uri(lake_uri, SCORES_PRESELECT)
    scores = delta_io.read_partition_table(uri, crawl, ["doc_id", "selected", "n_chars"])
    selected = pc.fill_null(scores.column("selected"), False)
    n_chars = scores.column("n_chars")
    return ScoresCheck(
        schema_differences=schema_differences(delta_io.table_schema(uri)),
        rows=scores.num_rows,
        distinct_ids=pc.count_distinct(scores.column("doc_id")).as_py() if scores.num_rows else 0,
        dedup_rows=_rows(table_uri(lake_uri, DEDUP_DOCUMENTS), crawl),
        selected_rows=int(pc.sum(selected.cast(pa.int64())).as_py() or 0),
        selected_chars=int(pc.sum(pc.if_else(selected, n_chars, 0)).as_py() or 0),
        total_chars=int(pc.sum(n_chars).as_py() or 0),
    )
