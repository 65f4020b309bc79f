"""A batch's refinement outcomes as the contract's Arrow tables (refined/documents, refined/programs)."""
from __future__ import annotations

from typing import Sequence

import pyarrow as pa

from contract.tables import REFINED_DOCUMENTS_SCHEMA, REFINED_PROGRAMS_SCHEMA
from core.prox.execute import DROP
from core.prox.program import ProgramError
from core.prox.refine import CHUNK_STAGE, DOC_STAGE, DocumentRefinement


def _errors(stage: str, errors: Sequence[ProgramError]) -> list[dict]:
    return [{"stage": stage, "reason": e.reason, "detail": e.detail, "chunk": e.chunk, "line": e.line}
            for e in errors]


def programs_table(doc_ids: Sequence[str], outcomes: Sequence[DocumentRefinement], crawl: str, run_id: str,
                   backend: str) -> pa.Table:
    """One row per document that entered, dropped or not."""
    rows = []
    for doc_id, o in zip(doc_ids, outcomes):
        rows.append({
            "doc_id": doc_id, "snapshot": crawl, "run_id": run_id, "backend": backend,
            "action": o.action, "reason": o.reason, "decided_by": o.decided_by,
            "doc_action": o.doc_action, "doc_program": o.doc_program, "chunk_action": o.chunk_action,
            "chunk_programs": list(o.chunk_programs), "chunk_first_lines": list(o.chunk_first_lines),
            "errors": _errors(DOC_STAGE, o.doc_errors) + _errors(CHUNK_STAGE, o.chunk_errors),
            "n_errors": o.n_errors,
            "lines_removed": [{"start": start, "end": end} for start, end in o.lines_removed],
            "n_lines": o.n_lines, "n_lines_removed": o.n_lines_removed, "chars_changed": o.chars_changed,
            "n_chars_before": o.chars_before, "n_chars_after": o.chars_after,
            "n_words_before": o.words_before, "n_words_after": o.words_after,
            "new_tokens": o.new_tokens, "truncated_generations": o.truncated_generations,
        })
    return pa.Table.from_pylist(rows, schema=REFINED_PROGRAMS_SCHEMA)


def documents_table(doc_ids: Sequence[str], outcomes: Sequence[DocumentRefinement], crawl: str,
                    run_id: str) -> pa.Table:
    """One row per document that was not dropped, with its text after refinement."""
    kept = [(doc_id, o) for doc_id, o in zip(doc_ids, outcomes) if o.action != DROP]
    return pa.table({
        "doc_id": [doc_id for doc_id, _ in kept],
        "snapshot": [crawl] * len(kept),
        "text": [o.text for _, o in kept],
        "n_chars": [len(o.text) for _, o in kept],
        "action": [o.action for _, o in kept],
        "run_id": [run_id] * len(kept),
    }, schema=REFINED_DOCUMENTS_SCHEMA)
