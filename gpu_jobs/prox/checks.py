"""What the refined_documents asset checks verify, read back from the committed tables.

- schema: both tables have every contract column with the contract's type;
- unique doc_id: no document twice in either table's partition;
- balance: refined/programs holds exactly the documents that entered (dedup/documents, or the
  selected ones), refined/documents exactly those whose program action is not `drop`, with the
  same action, and both tables were written by the same run (one run id; two mean a crash between
  the two commits: rerun the stage);
- error rate: documents with a program error / documents that entered <= the configured bound.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from contract.tables import (REFINED_DOCUMENTS, REFINED_DOCUMENTS_SCHEMA, REFINED_PROGRAMS, REFINED_PROGRAMS_SCHEMA,
                             table_uri)
from contract.schema_compare import type_signature
from core.prox.execute import DROP
from gpu_jobs import delta_io
from gpu_jobs.prox.inputs import resolve_inputs

def schema_problems(uri: str, contract: pa.Schema) -> list[str]:
    if not delta_io.table_exists(uri):
        return [f"no Delta table at {uri}"]
    actual = delta_io.table_schema(uri)
    problems = []
    for expected in contract:
        if expected.name not in actual.names:
            problems.append(f"{uri}: column {expected.name} is missing")
        elif type_signature(actual.field(expected.name).type) != type_signature(expected.type):
            problems.append(f"{uri}: column {expected.name} is {actual.field(expected.name).type}, "
                            f"the contract says {expected.type}")
    return problems


def _repeated(ids: pa.ChunkedArray) -> int:
    return len(ids) - pc.count_distinct(ids, mode="all").as_py()


@dataclass(frozen=True)
class RefinementVerification:
    schema_problems: list[str]
    duplicates: dict[str, int]  # table -> rows beyond the first of a doc_id
    entered: int
    programs_rows: int
    documents_rows: int
    dropped: int
    missing_programs: int  # entered documents without a program row
    unexpected_programs: int  # program rows of documents that did not enter
    documents_mismatched: int  # refined/documents rows without a non-drop program of the same action
    kept_without_document: int  # non-drop programs without a refined/documents row
    run_ids: dict[str, list[str]] = field(default_factory=dict)
    documents_with_errors: int = 0
    max_error_rate: float = 0.0

    @property
    def schema_ok(self) -> bool:
        return not self.schema_problems

    @property
    def unique_ok(self) -> bool:
        return not any(self.duplicates.values())

    @property
    def error_rate(self) -> float:
        return self.documents_with_errors / self.entered if self.entered else 0.0

    @property
    def run_ids_ok(self) -> bool:
        programs, documents = self.run_ids.get(REFINED_PROGRAMS, []), self.run_ids.get(REFINED_DOCUMENTS, [])
        return len(programs) <= 1 and (not documents or documents == programs)

    @property
    def balance_ok(self) -> bool:
        return (self.programs_rows == self.entered and self.documents_rows == self.entered - self.dropped
                and not (self.missing_programs or self.unexpected_programs or self.documents_mismatched
                         or self.kept_without_document) and self.run_ids_ok)

    @property
    def error_rate_ok(self) -> bool:
        return self.error_rate <= self.max_error_rate


def _distinct(column: pa.ChunkedArray) -> list[str]:
    return sorted(v for v in pc.unique(column).to_pylist() if v is not None)


def verify_refinement(lake_uri: str, crawl: str, entering: str, max_error_rate: float) -> RefinementVerification:
    programs_uri = table_uri(lake_uri, REFINED_PROGRAMS)
    documents_uri = table_uri(lake_uri, REFINED_DOCUMENTS)
    problems = schema_problems(programs_uri, REFINED_PROGRAMS_SCHEMA) + schema_problems(documents_uri,
                                                                                       REFINED_DOCUMENTS_SCHEMA)
    inputs = resolve_inputs(lake_uri, crawl, entering)
    entered = (delta_io.read_partition_table(inputs.documents_uri, crawl, ["doc_id"]).column("doc_id")
               if inputs.entering_ids is None else pa.chunked_array([inputs.entering_ids]))
    programs = delta_io.read_partition_table(programs_uri, crawl, ["doc_id", "action", "n_errors", "run_id"]) \
        if delta_io.table_exists(programs_uri) else REFINED_PROGRAMS_SCHEMA.empty_table()
    documents = delta_io.read_partition_table(documents_uri, crawl, ["doc_id", "action", "run_id"]) \
        if delta_io.table_exists(documents_uri) else REFINED_DOCUMENTS_SCHEMA.empty_table()

    entered_set = set(entered.to_pylist())
    program_action = dict(zip(programs.column("doc_id").to_pylist(), programs.column("action").to_pylist()))
    document_action = dict(zip(documents.column("doc_id").to_pylist(), documents.column("action").to_pylist()))
    kept = {doc_id for doc_id, action in program_action.items() if action != DROP}
    return RefinementVerification(
        schema_problems=problems,
        duplicates={REFINED_PROGRAMS: _repeated(programs.column("doc_id")),
                    REFINED_DOCUMENTS: _repeated(documents.column("doc_id"))},
        entered=len(entered_set),
        programs_rows=programs.num_rows,
        documents_rows=documents.num_rows,
        dropped=sum(action == DROP for action in program_action.values()),
        missing_programs=len(entered_set - program_action.keys()),
        unexpected_programs=len(program_action.keys() - entered_set),
        documents_mismatched=sum(program_action.get(d) in (None, DROP) or program_action[d] != a
                                 for d, a in document_action.items()),
        kept_without_document=len(kept - document_action.keys()),
        run_ids={REFINED_PROGRAMS: _distinct(programs.column("run_id")),
                 REFINED_DOCUMENTS: _distinct(documents.column("run_id"))},
        documents_with_errors=pc.sum(pc.greater(programs.column("n_errors"), 0)).as_py() or 0,
        max_error_rate=max_error_rate,
    )
