"""Bronze's per-file batches and accounting (spark_jobs.bronze_batches), without Spark."""
from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from contract.tables import BRONZE_ERRORS_SCHEMA, BRONZE_SCHEMA, BRONZE_SKIPS_SCHEMA
from core.warc.extract import extract_file
from spark_jobs.bronze_batches import (
    ERROR_COLUMNS, SKIP_COLUMNS, UNION_SCHEMA, FileAccount, file_batches,
)
from tests.bronze_fixtures import CONFIG, EXPECTED, write_every_outcome_warc
from tests.conftest import WARC_2020, WET_LF_ONLY, WET_REPAIRED, WHIRLWIND_WARC, WHIRLWIND_WET


def _rows(batches: list[pa.RecordBatch], row_type: str) -> list[dict]:
    return [r for b in batches for r in b.to_pylist() if r["row_type"] == row_type]


def _account(batches: list[pa.RecordBatch]) -> FileAccount:
    (row,) = _rows(batches, "file")
    return FileAccount.from_json(row["detail"])


def fastwarc_record_types(path) -> Counter:
    """Records by WARC-Type as fastwarc counts them, independently of extract_file."""
    with open(path, "rb") as stream:
        return Counter(str(r.record_type).split(".")[-1] for r in
                       ArchiveIterator(stream, parse_http=False, record_types=WarcRecordType.any_type))


def test_union_schema_holds_every_column_of_the_three_tables_with_its_type():
    for schema in (BRONZE_SCHEMA, BRONZE_SKIPS_SCHEMA, BRONZE_ERRORS_SCHEMA):
        for field in schema:
            assert UNION_SCHEMA.field(field.name).type == field.type, (schema, field)
    assert set(SKIP_COLUMNS) | {"snapshot", "warc_path"} == set(BRONZE_SKIPS_SCHEMA.names)
    assert set(ERROR_COLUMNS) | {"snapshot", "warc_path"} == set(BRONZE_ERRORS_SCHEMA.names)


def test_every_response_has_one_row_with_its_reason(tmp_path):
    path = str(write_every_outcome_warc(tmp_path / "every.warc.gz"))
    batches = list(file_batches(path, "S", extract_file(path, "S", CONFIG)))
    assert all(b.schema == UNION_SCHEMA for b in batches)
    assert [b.column("row_type")[0].as_py() for b in batches] == ["doc", "skip", "error", "file"]
    outcome = {}
    for table, row_type in (("documents", "doc"), ("skips", "skip"), ("errors", "error")):
        for row in _rows(batches, row_type):
            assert row["url"] not in outcome, row
            outcome[row["url"]] = (table, row["reason"], row)
    assert {url: o[:2] for url, o in outcome.items()} == {u: e[:2] for u, e in EXPECTED.items()}
    for url, (table, _, row) in outcome.items():
        assert row["snapshot"] == "S" and row["warc_path"] == path and row["offset"] > 0
        if table == "skips":
            assert row["http_status"] == EXPECTED[url][2]
            assert row["record_type"] == "response" and row["record_id"].startswith("<urn:uuid:")
    assert outcome["https://every.example/report.pdf"][2]["content_type"] == "application/pdf"
    assert outcome["https://every.example/sniffed"][2]["content_type_source"] == "sniffed"
    assert outcome["https://every.example/article"][2]["content_type_source"] == "http"
    assert outcome["https://every.example/cut"][2]["record_type"] == "response"

    account = _account(batches)
    assert account.records == Counter(warcinfo=1, request=8, response=8, metadata=7)
    assert (account.documents, account.skip_rows, account.record_errors) == (2, 5, 1)
    assert account.records["response"] == account.documents + account.skip_rows + account.record_errors


@pytest.mark.parametrize("path", [WARC_2020, WET_REPAIRED, WHIRLWIND_WARC, WHIRLWIND_WET])
def test_records_read_are_the_records_fastwarc_counts_and_each_has_one_outcome(path):
    batches = list(file_batches(str(path), "S", extract_file(str(path), "S")))
    account = _account(batches)
    assert account.records == fastwarc_record_types(path)
    content = account.records["response"] + account.records["conversion"]
    assert content == account.documents + account.skip_rows + account.record_errors
    assert len(_rows(batches, "doc")) == account.documents > 0
    assert len(_rows(batches, "skip")) == account.skip_rows


def test_lf_only_wet_read_leniently_counts_the_records_of_the_repaired_file():
    lenient = _account(list(file_batches(str(WET_LF_ONLY), "S", extract_file(str(WET_LF_ONLY), "S"))))
    assert lenient.records == fastwarc_record_types(WET_REPAIRED) == Counter(warcinfo=1, conversion=68)
    assert lenient.record_errors == 0 and lenient.errors["warc.parse_error"] == 1


def test_document_batches_are_cut_by_rows_and_by_characters():
    events = list(extract_file(str(WET_REPAIRED), "S"))
    by_rows = [b.num_rows for b in file_batches("p", "S", events, batch_rows=5)
               if b.column("row_type")[0].as_py() == "doc"]
    assert by_rows == [5] * 13 + [3]
    by_chars = [b.num_rows for b in file_batches("p", "S", events, batch_chars=1)
                if b.column("row_type")[0].as_py() == "doc"]
    assert by_chars == [1] * 68


def test_account_round_trips_through_json_and_rejects_unknown_events():
    account = FileAccount(records=Counter(response=3, request=3), documents=1, chars=10,
                          skipped=Counter({"empty_text": 1, "record_type.request": 3}), skip_rows=1,
                          errors=Counter({"extract.failed": 1}), record_errors=1)
    assert FileAccount.from_json(account.to_json()) == account
    assert json.loads(account.to_json())["records"] == {"request": 3, "response": 3}
    with pytest.raises(TypeError, match="not an extraction event"):
        account.add("a string")
