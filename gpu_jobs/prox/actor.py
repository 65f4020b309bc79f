"""The Ray actor of the refinement stage: writes programs, executes them, writes part files.

One actor loads its program writer once (the models, on `cuda` when the actor has a GPU, else CPU)
and then, per Arrow batch of (doc_id, text): refines the batch (`core.prox.refine`), writes one
Parquet part file of refined/programs (every document) and one of refined/documents (those not
dropped) into the tables' directories, and returns their manifest rows with the batch's counts.
Nothing is committed here: the driver commits every part file of a table in one transaction, so a
run that fails anywhere leaves both tables as they were.
"""
from __future__ import annotations

import pyarrow as pa

from core.prox.backends.spec import BackendSpec, open_writer
from core.prox.refine import RefinementParams, refine_documents
from core.prox.stats import batch_stats
from gpu_jobs import delta_io
from gpu_jobs.prox.rows import documents_table, programs_table

MANIFEST = pa.schema([("table", pa.string()), ("path", pa.string()), ("size", pa.int64()), ("rows", pa.int64()),
                      ("stats", pa.string()), ("backend", pa.string())])
PROGRAMS = "programs"
DOCUMENTS = "documents"


class RefineAndWrite:
    """Ray batch callable (actor pool): a batch of documents in, manifest rows of its part files out."""

    def __init__(self, backend: BackendSpec, params: RefinementParams, crawl: str, run_id: str,
                 programs_uri: str, documents_uri: str):
        self.params, self.crawl, self.run_id = params, crawl, run_id
        self.uris = {PROGRAMS: programs_uri, DOCUMENTS: documents_uri}
        self.writer = open_writer(backend, params.doc_stage, params.chunk_stage)

    def __call__(self, batch: pa.Table) -> pa.Table:
        if batch.num_rows == 0:
            return MANIFEST.empty_table()
        doc_ids = batch.column("doc_id").to_pylist()
        texts = batch.column("text").to_pylist()
        outcomes = refine_documents(texts, self.writer, self.params)
        stats = batch_stats(doc_ids, outcomes, texts)
        rows = [self._write(PROGRAMS, programs_table(doc_ids, outcomes, self.crawl, self.run_id, self.writer.name),
                            stats.to_json())]
        documents = documents_table(doc_ids, outcomes, self.crawl, self.run_id)
        if documents.num_rows:
            rows.append(self._write(DOCUMENTS, documents, None))
        return pa.Table.from_pylist(rows, schema=MANIFEST)

    def _write(self, table: str, data: pa.Table, stats: str | None) -> dict:
        written = delta_io.write_part_file(self.uris[table], self.crawl, data)
        return {"table": table, "path": written.path, "size": written.size, "rows": written.rows, "stats": stats,
                "backend": self.writer.name}
