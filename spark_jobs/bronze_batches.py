"""One file's extraction events as Arrow batches of bronze's union schema (inside a Spark task).

`extract_file` gives documents (dicts), `Skip`s and `ExtractionError`s; a task turns them into
batches of one `row_type` each: `doc` (the bronze/documents columns), `skip` (bronze/skips),
`error` (bronze/errors) and, last, one `file` row whose `detail` is the file's `FileAccount` as
JSON (records read by type, documents, skips and errors by reason). Columns are built directly from
Python lists (no per-row dict to Arrow conversion), and a document batch is cut at `batch_rows`
rows or `batch_chars` characters of text, so a 1 GB file streams through in bounded memory.

Pure pyarrow, no Spark: tests call `file_batches` on the real fixtures directly.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import pyarrow as pa

from contract.tables import BRONZE_SCHEMA
from core.warc.extract import ExtractionError, Skip

ROW_DOC, ROW_SKIP, ROW_ERROR, ROW_FILE = "doc", "skip", "error", "file"
# Records that get a row of their own when they give no document; all others are only counted.
ROW_RECORD_TYPES = ("response", "conversion")

_EXTRA_FIELDS = [
    pa.field("row_type", pa.string()),  # doc | skip | error | file
    pa.field("record_id", pa.string()),
    pa.field("record_type", pa.string()),
    pa.field("http_status", pa.int32()),
    pa.field("reason", pa.string()),
    pa.field("detail", pa.string()),  # the error's detail; the file row's FileAccount as JSON
]
# Every column of bronze/documents, bronze/skips and bronze/errors, once (tests check the types).
UNION_SCHEMA = pa.schema(list(BRONZE_SCHEMA) + _EXTRA_FIELDS)

SKIP_COLUMNS = ("offset", "record_id", "url", "record_type", "http_status", "content_type",
                "content_type_source", "reason")
ERROR_COLUMNS = ("offset", "record_id", "reason", "detail", "record_type", "url")


def record_type_of_document(doc: dict) -> str:
    """WET text comes from conversion records, extracted HTML from responses (extract_file)."""
    return "conversion" if doc["extractor"] == "wet" else "response"


@dataclass
class FileAccount:
    """What one file gave: every record read by WARC-Type, and what became of them."""

    records: Counter = field(default_factory=Counter)  # WARC-Type -> records read
    documents: int = 0
    chars: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> records (with or without a row)
    skip_rows: int = 0  # responses and conversions skipped: rows in bronze/skips
    errors: Counter = field(default_factory=Counter)  # reason -> rows in bronze/errors
    record_errors: int = 0  # responses and conversions that failed: their rows in bronze/errors

    def add(self, event) -> None:
        if isinstance(event, dict):
            self.records[record_type_of_document(event)] += 1
            self.documents += 1
            self.chars += event["n_chars"]
        elif isinstance(event, Skip):
            self.records[event.record_type or "unknown"] += 1
            self.skipped[event.reason] += 1
            self.skip_rows += event.record_type in ROW_RECORD_TYPES
        elif isinstance(event, ExtractionError):
            self.errors[event.reason] += 1
            if event.record_type is not None:
                self.records[event.record_type] += 1
                self.record_errors += event.record_type in ROW_RECORD_TYPES
        else:
            raise TypeError(f"not an extraction event: {type(event).__name__}")

    @property
    def n_records(self) -> int:
        return sum(self.records.values())

    @property
    def n_errors(self) -> int:
        return sum(self.errors.values())

    def to_json(self) -> str:
        return json.dumps({
            "records": dict(self.records), "documents": self.documents, "chars": self.chars,
            "skipped": dict(self.skipped), "skip_rows": self.skip_rows,
            "errors": dict(self.errors), "record_errors": self.record_errors,
        }, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FileAccount":
        data = json.loads(text)
        return cls(records=Counter(data["records"]), documents=data["documents"],
                   chars=data["chars"], skipped=Counter(data["skipped"]),
                   skip_rows=data["skip_rows"], errors=Counter(data["errors"]),
                   record_errors=data["record_errors"])


class _Columns:
    """Rows of one row_type collected column by column, emitted as one union batch."""

    def __init__(self, row_type: str, names: Iterable[str], constants: dict | None = None):
        self.row_type = row_type
        self.values: dict[str, list] = {name: [] for name in names}
        self.constants = constants or {}  # the same value in every row (snapshot, warc_path)
        self.rows = 0
        self.chars = 0

    def add_values(self, values: Iterable) -> None:
        for column, value in zip(self.values.values(), values):
            column.append(value)
        self.rows += 1

    def to_batch(self) -> pa.RecordBatch:
        n = self.rows
        arrays = []
        for f in UNION_SCHEMA:
            if f.name in self.values:
                arrays.append(pa.array(self.values[f.name], f.type))
            elif f.name == "row_type":
                arrays.append(pa.array([self.row_type] * n, f.type))
            elif f.name in self.constants:
                arrays.append(pa.array([self.constants[f.name]] * n, f.type))
            else:
                arrays.append(pa.nulls(n, f.type))
        for column in self.values.values():
            column.clear()
        self.rows = self.chars = 0
        return pa.RecordBatch.from_arrays(arrays, schema=UNION_SCHEMA)


_DOC_NAMES = tuple(BRONZE_SCHEMA.names)


def file_batches(path: str, snapshot: str, events, batch_rows: int = 4096,
                 batch_chars: int = 16_000_000) -> Iterator[pa.RecordBatch]:
    """Union batches of one file's events, its `file` row last."""
    where = {"snapshot": snapshot, "warc_path": path}
    docs = _Columns(ROW_DOC, _DOC_NAMES)
    skips = _Columns(ROW_SKIP, SKIP_COLUMNS, where)
    errors = _Columns(ROW_ERROR, ERROR_COLUMNS, where)
    account = FileAccount()
    for event in events:
        account.add(event)
        if isinstance(event, dict):
            docs.add_values([event[name] for name in _DOC_NAMES])
            docs.chars += event["n_chars"]
            if docs.rows >= batch_rows or docs.chars >= batch_chars:
                yield docs.to_batch()
        elif isinstance(event, Skip):
            if event.record_type in ROW_RECORD_TYPES:
                skips.add_values([getattr(event, name) for name in SKIP_COLUMNS])
                if skips.rows >= batch_rows:
                    yield skips.to_batch()
        else:
            errors.add_values([getattr(event, name) for name in ERROR_COLUMNS])
            if errors.rows >= batch_rows:
                yield errors.to_batch()
    for part in (docs, skips, errors):
        if part.rows:
            yield part.to_batch()
    summary = _Columns(ROW_FILE, ("detail",), where)
    summary.add_values([account.to_json()])
    yield summary.to_batch()
